"""No tables. The module exists so that Django sends this app's post_migrate signal, which keeps
the operator roles (console/roles.py) in step with the models, and to hold the permissions of the
console's own pages."""

from django.db import models

VIEW_DASHBOARD = "console.view_dashboard"
VIEW_QUEUES = "console.view_queues"


class Console(models.Model):
    """Not a table (``managed = False``): the holder of two permissions, as the admin has none for
    pages that are not a model's. ``view_dashboard``: the dashboard and failures view (tenant
    names, revenue); ``view_queues``: django-rq's pages at /admin/rq/ (jobs and their arguments).
    ``is_staff`` alone opens neither; the Support role holds both (every ``view_`` permission)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_dashboard", "Can view the operator dashboard and failures (tenants, revenue)"),
            ("view_queues", "Can view the rq queues, workers and jobs"),
        ]

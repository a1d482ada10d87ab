"""django-rq's views at /admin/rq/, with two rules added: looking needs the
``console.view_queues`` permission (the Support role and superusers have it; staff alone do not:
job arguments name tenants' tasks), acting (emptying a queue, deleting, requeueing or stopping
jobs) needs the ``django_rq.admin`` permission, which superusers have and the read-only Support
role does not. django-rq itself only checks ``is_staff`` for both."""

from __future__ import annotations

from functools import wraps

from django.core.exceptions import PermissionDenied
from django_rq.urls import get_admin_urlpatterns, get_api_urlpatterns

from console.models import VIEW_QUEUES

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
ACT_PERMISSION = "django_rq.admin"


def look_for_staff_act_with_permission(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if user.is_active and user.is_staff and not user.has_perm(VIEW_QUEUES):  # others: rq's login redirect
            raise PermissionDenied("Looking at queues and jobs needs the console.view_queues permission.")
        if request.method not in SAFE_METHODS and not request.user.has_perm(ACT_PERMISSION):
            raise PermissionDenied("Acting on queues and jobs needs the django_rq.admin permission.")
        return view(request, *args, **kwargs)

    return wrapper


# The API views (stats.json, metrics) keep their own token check; every other view is guarded.
urlpatterns = get_api_urlpatterns() + get_admin_urlpatterns(view_wrapper=look_for_staff_act_with_permission)
app_name = "django_rq"

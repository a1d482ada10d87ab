"""The console's pages, mounted at /admin/console/ (platform/urls.py) and wrapped in the admin
site's own check (staff only, everyone else is sent to the admin login) and then in the
``console.view_dashboard`` permission (staff without it: 403)."""

from django.contrib import admin
from django.contrib.auth.decorators import permission_required
from django.urls import path

from console import views
from console.models import VIEW_DASHBOARD


def console_view(view):
    return admin.site.admin_view(permission_required(VIEW_DASHBOARD, raise_exception=True)(view))


app_name = "console"

urlpatterns = [
    path("", console_view(views.dashboard), name="dashboard"),
    path("failures/", console_view(views.failures), name="failures"),
]

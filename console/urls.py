"""The console's pages, mounted at /admin/console/ (platform/urls.py) and wrapped in the admin
site's own check: staff only, everyone else is sent to the admin login."""

from django.contrib import admin
from django.urls import path

from console import views

app_name = "console"

urlpatterns = [
    path("", admin.site.admin_view(views.dashboard), name="dashboard"),
    path("failures/", admin.site.admin_view(views.failures), name="failures"),
]

"""django-rq's views at /admin/rq/, with one rule added: looking is for staff, acting (emptying a
queue, deleting, requeueing or stopping jobs) needs the ``django_rq.admin`` permission, which
superusers have and the read-only Support role does not. django-rq itself only checks
``is_staff`` for both."""

from __future__ import annotations

from functools import wraps

from django.core.exceptions import PermissionDenied
from django_rq.urls import get_admin_urlpatterns, get_api_urlpatterns

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
ACT_PERMISSION = "django_rq.admin"


def look_for_staff_act_with_permission(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in SAFE_METHODS and not request.user.has_perm(ACT_PERMISSION):
            raise PermissionDenied("Acting on queues and jobs needs the django_rq.admin permission.")
        return view(request, *args, **kwargs)

    return wrapper


# The API views (stats.json, metrics) keep their own token check; every other view is guarded.
urlpatterns = get_api_urlpatterns() + get_admin_urlpatterns(view_wrapper=look_for_staff_act_with_permission)
app_name = "django_rq"

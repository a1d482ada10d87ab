"""Operator roles as Django groups, defined here and kept in step on every migrate.

- **Support** (read-only): the ``view`` permission of every model except sessions, and nothing
  else: it sees the dashboard, the failures view, tasks, tenants, keys, callbacks and billing, and
  changes nothing. Tasks included: cancelling, retrying or redelivering moves money (holds,
  captures) or reaches customers, so those stay with operators (superusers, or a group given the
  ``change`` permission of the model). In the rq pages it may look but not act (console/rq.py).

The group's permissions are *set*, not added to: a permission granted to Support by hand is taken
back at the next migrate. Make another group for another role."""

from __future__ import annotations

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions

SUPPORT = "Support"
# Session rows hold live session keys: not for anyone to read.
EXCLUDED_APPS = {"sessions"}


def ensure_roles(*, using: str = "default") -> None:
    from django.contrib.auth.models import Group, Permission

    # Permissions are made by post_migrate per app; make sure every app's exist before reading them.
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using, apps=global_apps)
    group, _ = Group.objects.using(using).get_or_create(name=SUPPORT)
    view = Permission.objects.using(using).filter(codename__startswith="view_")
    group.permissions.set(view.exclude(content_type__app_label__in=EXCLUDED_APPS))


def ensure_roles_after_migrate(sender, using="default", **kwargs) -> None:
    if sender.name == "console":
        ensure_roles(using=using)

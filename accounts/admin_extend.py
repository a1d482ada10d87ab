"""How an app adds to the admin page of a model it does not own, without the owner importing it.

The app that owns a model registers its admin (accounts' ``TenantAdmin`` and ``ProjectAdmin``,
generation's ``TaskAdmin``). An app above it with something to show there (billing's spend
columns and ledger, callbacks' webhook secret and deliveries) subclasses the admin registered so
far and registers its subclass in its place, from its own ``admin.py``::

    @replaces_admin(Project)
    class ProjectAdmin(registered_admin(Project)):
        list_display = inserted(registered_admin(Project).list_display, "spend", before="created_at")

Django loads the admin modules in INSTALLED_APPS order, so each app builds on those before it,
and the page is the same whichever apps add to it; the owner never names them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.contrib import admin
from django.db.models import Model


def registered_admin(model: type[Model]) -> type[admin.ModelAdmin]:
    """The class of ``model``'s admin as registered so far."""
    return type(admin.site.get_model_admin(model))


def replaces_admin(model: type[Model]) -> Callable[[type[admin.ModelAdmin]], type[admin.ModelAdmin]]:
    """Register the decorated admin for ``model`` in place of the one registered so far."""

    def register(cls: type[admin.ModelAdmin]) -> type[admin.ModelAdmin]:
        admin.site.unregister(model)
        admin.site.register(model, cls)
        return cls

    return register


def inserted(items: Sequence[str], *new: str, before: str) -> tuple[str, ...]:
    """``items`` with ``new`` just before ``before``."""
    at = list(items).index(before)
    return (*items[:at], *new, *items[at:])

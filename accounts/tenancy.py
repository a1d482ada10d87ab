"""Tenant scoping that fails closed.

Tenant-owned models use :class:`TenantScopedManager` as ``objects``: any query must start with
``.for_tenant(tenant)``; ``Model.objects.all()`` / ``.filter()`` / ``.get()`` raise
:class:`UnscopedQueryError`. Code that really must see every tenant (the admin, worker jobs, the
reconciler) uses the model's ``unscoped_objects`` manager, a name that stands out in review:
``git grep unscoped_objects`` lists every escape.
"""

from __future__ import annotations

from django.db import models


class UnscopedQueryError(RuntimeError):
    pass


class TenantScopedManager(models.Manager):
    def get_queryset(self):
        raise UnscopedQueryError(
            f"{self.model.__name__}.objects must be scoped: use .for_tenant(tenant), "
            f"or {self.model.__name__}.unscoped_objects where every tenant is meant"
        )

    def for_tenant(self, tenant) -> models.QuerySet:
        if tenant is None or getattr(tenant, "pk", None) is None:
            raise UnscopedQueryError("for_tenant() needs a saved tenant")
        return super().get_queryset().filter(tenant=tenant)


class TenantOwned(models.Model):
    """Base for rows that belong to one tenant. Django's own machinery (admin forms, related
    lookups, deletion) uses the default manager, ``unscoped_objects``; application code uses
    ``objects.for_tenant``."""

    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.PROTECT, related_name="+")

    objects = TenantScopedManager()
    unscoped_objects = models.Manager()

    class Meta:
        abstract = True
        default_manager_name = "unscoped_objects"

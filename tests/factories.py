"""Factories for test data. Keys go through the real service so their hashes are real."""

from __future__ import annotations

import factory

from accounts.models import Project, Tenant
from accounts.services import api_key_create


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project
        # Tests create rows for any tenant: the named escape, as the admin and jobs use.
        django_get_or_create = ()

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Project {n}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return model_class.unscoped_objects.create(*args, **kwargs)


def make_key(project: Project | None = None, **kwargs) -> str:
    """A new API key (the raw string) for ``project`` (a new tenant's project by default)."""
    return api_key_create(project=project or ProjectFactory(), **kwargs).raw_key

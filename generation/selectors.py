"""Reads of tasks, always within one tenant."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db.models import QuerySet
from imgplatform.problems import Problem

from accounts.models import Tenant
from generation.models import Task


def task_queryset(*, tenant: Tenant) -> QuerySet[Task]:
    return Task.objects.for_tenant(tenant).prefetch_related("images")


def access_task_by_id(*, tenant: Tenant, task_id: str) -> Task:
    """The tenant's task, or one 404 for both "missing" and "someone else's"."""
    try:
        pk = uuid.UUID(str(task_id))
    except ValueError:
        pk = None
    task = task_queryset(tenant=tenant).filter(pk=pk).first() if pk else None
    if task is None:
        raise Problem("not_found", "No task with this id.")
    return task


def task_list(
    *,
    tenant: Tenant,
    states: list[str] | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    project_id: int | None = None,
) -> QuerySet[Task]:
    qs = task_queryset(tenant=tenant)
    if states:
        qs = qs.filter(state__in=states)
    if created_after:
        qs = qs.filter(created_at__gte=created_after)
    if created_before:
        qs = qs.filter(created_at__lt=created_before)
    if project_id is not None:
        qs = qs.filter(project_id=project_id)
    return qs

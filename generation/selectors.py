"""Reads of tasks, always within one tenant, and within one project for a project-bound key."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db.models import QuerySet
from imgplatform.problems import Problem

from accounts.models import Project, Tenant
from generation.models import Task


def task_queryset(*, tenant: Tenant, project: Project | None = None) -> QuerySet[Task]:
    """The tenant's tasks; only ``project``'s when given (a project-bound key's view)."""
    qs = Task.objects.for_tenant(tenant)
    if project is not None:
        qs = qs.filter(project=project)
    return qs.prefetch_related("images")


def access_task_by_id(*, tenant: Tenant, task_id: str, project: Project | None = None) -> Task:
    """The tenant's task (in ``project`` when given), or one 404 for "missing", "someone else's"
    and "another project's"."""
    try:
        pk = uuid.UUID(str(task_id))
    except ValueError:
        pk = None
    task = task_queryset(tenant=tenant, project=project).filter(pk=pk).first() if pk else None
    if task is None:
        raise Problem("not_found", "No task with this id.")
    return task


def access_task_for(*, client, task_id: str) -> Task:
    """The task as an API key may see it: its tenant's, and its project's unless the key is
    tenant-wide; one 404 otherwise."""
    return access_task_by_id(tenant=client.tenant, project=client.bound_project, task_id=task_id)


def task_list(
    *,
    tenant: Tenant,
    project: Project | None = None,
    states: list[str] | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    project_id: int | None = None,
) -> QuerySet[Task]:
    qs = task_queryset(tenant=tenant, project=project)
    if states:
        qs = qs.filter(state__in=states)
    if created_after:
        qs = qs.filter(created_at__gte=created_after)
    if created_before:
        qs = qs.filter(created_at__lt=created_before)
    if project_id is not None:
        qs = qs.filter(project_id=project_id)
    return qs

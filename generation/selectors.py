"""Reads of tasks, always within one tenant, and within one project for a project-bound key."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db.models import QuerySet
from imgplatform.problems import Problem
from redis.exceptions import RedisError

from accounts.models import Project, Tenant
from generation import queues
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


def waited_task_states(task_ids: list[str]) -> dict[str, dict]:
    """What a web process's sweep tells the clients waiting on these tasks (see
    :mod:`generation.waiters`): ``resync`` for an ended task (its waiters read the row),
    ``running``, or the queue ``position`` of a queued one. One query per 1,000 tasks, and one read
    of each queue, however many clients wait."""
    tasks = []
    for start in range(0, len(task_ids), 1000):
        chunk = [task_id for task_id in task_ids[start : start + 1000] if _is_uuid(task_id)]
        tasks += Task.unscoped_objects.filter(pk__in=chunk).only("id", "state", "job_id", "model")
    found: dict[str, dict] = {}
    queued = [task for task in tasks if task.state == Task.State.QUEUED]
    for task in tasks:
        if task.is_final:
            found[str(task.id)] = {"event": "resync"}
        elif task.state == Task.State.RUNNING:
            found[str(task.id)] = {"event": "running"}
    try:
        positions = queues.job_positions(queued)
    except RedisError:
        positions = {}
    for task in queued:
        if str(task.id) in positions:
            found[str(task.id)] = {"event": "position", "queue_position": positions[str(task.id)]}
    return found


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True

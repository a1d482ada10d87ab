"""Every change of a task's state, each one conditional on the state it expects, so that two
workers (or a worker and a cancel) can never both move the same task."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from imgplatform.problems import Problem
from redis.exceptions import RedisError

from accounts.authentication import ApiClient
from callbacks.services import callback_schedule
from generation import queues
from generation.models import Image, Task

log = logging.getLogger(__name__)
State = Task.State


@dataclass(frozen=True)
class TaskInput:
    text_data: str
    neg_text: str = ""
    num_images: int = 1
    seed: int | None = None
    moderation: str = Task.Moderation.STRICT
    end_user: str = ""
    callback_url: str = ""
    metadata: Any = None


def task_submit(*, client: ApiClient, data: TaskInput, sync: bool = False) -> Task:
    """Write the task row, then enqueue it. If Redis cannot take the job the task is failed at once
    with ``service_unavailable`` (never left queued for nobody) and the caller gets a 503."""
    project = client.project
    task = Task.objects.for_tenant(client.tenant).create(
        tenant=client.tenant,
        project=project,
        api_key=client.api_key,
        text_data=data.text_data,
        neg_text=data.neg_text,
        num_images=data.num_images,
        seed=data.seed if data.seed is not None else secrets.randbelow(2**32),
        seed_given=data.seed is not None,
        moderation=data.moderation,
        end_user=data.end_user,
        callback_url=data.callback_url,
        metadata=data.metadata,
        sync=sync,
        model=project.model or settings.DEFAULT_MODEL,
    )
    try:
        job_id = queues.enqueue_generation(task)
    except RedisError as exc:
        log.error("could not enqueue task %s: %s", task.id, exc)
        task_fail(
            task=task, code="service_unavailable", detail="The job queue is unavailable.", from_states=[State.QUEUED]
        )
        raise Problem(
            "service_unavailable",
            "The job queue is unavailable; nothing was charged. Retry shortly.",
            headers={"Retry-After": "5"},
            task_id=str(task.id),
        ) from exc
    Task.unscoped_objects.filter(pk=task.pk).update(job_id=job_id)
    task.job_id = job_id
    return task


def _transition(task: Task, *, from_states: list[str], **changes: Any) -> bool:
    """Move ``task`` only if it is still in one of ``from_states``; refresh it either way."""
    moved = Task.unscoped_objects.filter(pk=task.pk, state__in=from_states).update(**changes) == 1
    task.refresh_from_db()
    return moved


def task_start(*, task: Task, worker_name: str, run_info: dict[str, Any]) -> bool:
    return _transition(
        task,
        from_states=[State.QUEUED],
        state=State.RUNNING,
        started_at=timezone.now(),
        attempts=task.attempts + 1,
        worker_name=worker_name[:200],
        model_version=run_info.get("model_version", ""),
        run_info=run_info,
    )


@dataclass(frozen=True)
class StoredImage:
    index: int
    seed: int
    width: int
    height: int
    storage_path: str
    sha256: str
    size_bytes: int


def task_succeed(
    *, task: Task, images: list[StoredImage], timings_ms: dict[str, float], run_info: dict[str, Any]
) -> bool:
    """Finish a running task with its images, in one transaction. False (and nothing written) if
    the task was no longer running, e.g. another worker finished it first."""
    with transaction.atomic():
        moved = _transition(
            task,
            from_states=[State.RUNNING],
            state=State.SUCCEEDED,
            finished_at=timezone.now(),
            timings_ms=timings_ms,
            run_info=run_info,
        )
        if moved:
            Image.unscoped_objects.bulk_create(
                [Image(tenant_id=task.tenant_id, task=task, **vars(image)) for image in images]
            )
    if moved:
        _notify(task)
    return moved


def task_fail(
    *,
    task: Task,
    code: str,
    detail: str,
    from_states: tuple[str, ...] = (State.QUEUED, State.RUNNING),
    timings_ms: dict[str, float] | None = None,
) -> bool:
    changes: dict[str, Any] = {
        "state": State.FAILED,
        "finished_at": timezone.now(),
        "error_code": code,
        "error_detail": detail,
    }
    if timings_ms is not None:
        changes["timings_ms"] = timings_ms
    moved = _transition(task, from_states=list(from_states), **changes)
    if moved:
        _notify(task)
    return moved


def task_cancel(*, task: Task) -> Task:
    """Cancel a queued task (never billed). Running or finished tasks cannot be cancelled."""
    if not _transition(task, from_states=[State.QUEUED], state=State.CANCELLED, finished_at=timezone.now()):
        raise Problem(
            "task_not_cancellable",
            f"Only queued tasks can be cancelled; this one is {task.state}.",
            task_id=str(task.id),
        )
    try:
        queues.remove_generation_job(task)
    except RedisError as exc:  # the worker skips a cancelled task anyway
        log.warning("could not remove job of cancelled task %s: %s", task.id, exc)
    _notify(task)
    return task


def _notify(task: Task) -> None:
    if task.callback_url:  # after commit: the callback worker must see the final state
        transaction.on_commit(partial(callback_schedule, task_id=task.pk), robust=True)
    if not task.sync:
        return
    try:
        queues.notify_finished(task.id, task.state)
    except RedisError as exc:  # the waiter times out and answers 202; the row is the truth
        log.warning("could not notify waiters of task %s: %s", task.id, exc)

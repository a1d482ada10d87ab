"""Every change of a task's state, each one conditional on the state it expects, so that two
workers (or a worker and a cancel) can never both move the same task.

A run is fenced by its attempt number: ``task_start`` counts the attempt and takes a lease on the
row, the worker renews the lease while the job runs (``task_lease_renew``), and finishing is
conditional on state *and* attempt. When the reconciler takes back a task whose lease expired
(``task_requeue`` or ``worker_lost``), a late finish of the superseded run matches no row: it can
neither complete, nor bill, nor call back a second time."""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from imgplatform import metrics
from imgplatform.problems import Problem
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from accounts.authentication import ApiClient
from accounts.services import audit_record
from generation import charging, events, idempotency, limits, progress, queues, rollups
from generation.models import Image, Task
from generation.options import Choices, resolve_choices
from generation.signals import TaskEnd, announce_task_end
from moderation import checks as moderation
from moderation.text import TextVerdict

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
    choices: Choices | None = None  # None: the project's model with its defaults
    partial_images: int = 0  # previews published while it runs (the OpenAI-compatible stream)


def task_submit(
    *, client: ApiClient, data: TaskInput, sync: bool = False, idempotency_key: str = "", redis_down: bool = False
) -> Task:
    """Check the prompt, admit the task against caps and credit (402), write it with its hold, then
    enqueue it. A blocked prompt is written already failed, never enqueued, never billed. If Redis
    cannot take the job the task is failed at once with ``service_unavailable`` (never left queued
    for nobody, its hold released) and the caller gets a 503.

    With ``idempotency_key``, a second submit of the same body within 24 h gets the first task back
    (``task.replayed`` is True) and nothing new is written or charged; a submit that ended in the
    503 below releases its key first, so the client's retry with the same key runs.

    ``redis_down``: Redis already failed earlier in this request (the rate limiter could not reach
    it), so the enqueue is not tried: a hung Redis costs the request one read timeout, not two."""
    tenant, project = client.tenant, client.project
    choices = data.choices or resolve_choices(
        {}, default_model=project.model or settings.DEFAULT_MODEL, registry=settings.MODEL_REGISTRY
    )
    body_hash = idempotency.request_hash({**vars(data), "sync": sync}) if idempotency_key else ""
    if idempotency_key:
        earlier = idempotency.idempotent_task(tenant=tenant, key=idempotency_key, body_hash=body_hash)
        if earlier is not None:
            return _replayed(earlier)

    verdict, fields = _prompt_check(project=project, data=data)
    try:
        with transaction.atomic():
            task = _task_write(client=client, data=data, sync=sync, choices=choices, blocked=verdict.blocked, **fields)
            if idempotency_key:
                idempotency.idempotency_record(tenant=tenant, key=idempotency_key, body_hash=body_hash, task=task)
            end = announce_task_end(task) if verdict.blocked else None
    except IntegrityError:
        if not idempotency_key:
            raise
        # The same key in a concurrent request that committed first: answer with its task.
        earlier = idempotency.idempotent_task(tenant=tenant, key=idempotency_key, body_hash=body_hash)
        if earlier is None:
            raise
        return _replayed(earlier)
    task.replayed = False
    # A new task has no images: its answer needs no query for them.
    task._prefetched_objects_cache = {"images": Image.objects.for_tenant(tenant).none()}
    # queued, or failed by prompt moderation
    metrics.task_moved(task, {"state": task.state, "timings_ms": task.timings_ms})
    if end is not None:
        _notify(end)
        return task
    return _task_enqueue(task, idempotency_key=idempotency_key, redis_down=redis_down)


def _replayed(task: Task) -> Task:
    task.replayed = True
    return task


def _prompt_check(*, project, data: TaskInput) -> tuple[TextVerdict, dict[str, Any]]:
    """The prompt's verdict, and the task's fields that record it (a block ends the task here,
    before any GPU work: nothing is enqueued and nothing is billed)."""
    started = time.perf_counter()
    verdict = moderation.prompt_verdict(project=project, text_data=data.text_data, neg_text=data.neg_text)
    fields: dict[str, Any] = {
        "moderation_report": {"prompt": verdict.as_dict()},
        "timings_ms": {"moderation_prompt": round((time.perf_counter() - started) * 1000, 2)},
    }
    if verdict.blocked:
        fields.update(
            state=State.FAILED,
            finished_at=timezone.now(),
            error_code="moderation_blocked_prompt",
            error_detail=f"The prompt was blocked by moderation ({', '.join(verdict.categories)}).",
        )
    return verdict, fields


def _task_write(
    *, client: ApiClient, data: TaskInput, sync: bool, choices: Choices, blocked: bool, **fields: Any
) -> Task:
    """Inside the submit's transaction: admit the task (unless blocked: 429 at the tenant's queued
    limit, 402 from billing), write it, and hold its worst case on prepaid credit."""
    tenant = client.tenant
    admission = None
    if not blocked:
        # Read before the lock (a submit changes none of it; billing checks it is still current on
        # the row it locks), so the tenant's lock is held for fewer statements.
        prices = charging.biller().task_prices(tenant=tenant)
        limits.task_admit_queued(tenant=tenant)  # 429 at the tenant's queued limit (row lock)
        admission = charging.biller().task_admit(
            tenant=tenant,
            project=client.project,
            end_user=data.end_user,
            num_images=data.num_images * choices.billable_per_image,
            factor=settings.MODEL_REGISTRY[choices.model].price,
            prices=prices,
        )
        fields.update(hold_amount=admission.hold, billing_mode=admission.mode)
    task_id = uuid.uuid4()
    task = Task.objects.for_tenant(tenant).create(
        id=task_id,
        # The job of its first run, written now: no second commit after the enqueue. A submit that
        # dies before enqueueing leaves a queued task whose job Redis does not hold, which the
        # reconciler puts back (generation/reconcile.py).
        job_id=queues.run_job_id(task_id, 0),
        tenant=tenant,
        project=client.project,
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
        partial_images=data.partial_images,
        **choices.task_fields(),
        **fields,
    )
    if admission is not None and admission.prepaid:
        charging.biller().credit_hold(task=task, amount=admission.hold, hold_number=1)  # a new task's first
    return task


def _task_enqueue(task: Task, *, idempotency_key: str, redis_down: bool) -> Task:
    """After the submit's commit: the task's job into its model's queue. If Redis cannot take it,
    the task fails at once (its hold released) and the submit answers 503."""
    try:
        if redis_down:
            raise RedisConnectionError("Redis did not answer earlier in this request")
        queues.enqueue_generation(task)  # under the job id written with the row
    except RedisError as exc:
        log.error("could not enqueue task %s: %s", task.id, exc)
        # Redis just failed: end the task without waiting on it again (its callback, if any, is
        # sent by the callback worker's sweep; nobody waits on /sync for it but this request).
        task_fail(
            task=task,
            code="service_unavailable",
            detail="The job queue is unavailable.",
            from_states=[State.QUEUED],
            redis_available=False,
        )
        if idempotency_key:  # failed on our side before it could run: the retry must run
            idempotency.idempotency_release(tenant=task.tenant, key=idempotency_key, task=task)
        raise Problem(
            "service_unavailable",
            "The job queue is unavailable; nothing was charged. Retry shortly.",
            headers={"Retry-After": "5"},
            task_id=str(task.id),
        ) from exc
    return task


def _transition(task: Task, *, from_states: list[str], attempt: int | None = None, **changes: Any) -> bool:
    """Move ``task`` only if it is still in one of ``from_states`` (and, given ``attempt``, still in
    that run); refresh it either way."""
    current = Task.unscoped_objects.filter(pk=task.pk, state__in=from_states)
    if attempt is not None:
        current = current.filter(attempts=attempt)
    moved = current.update(**changes) == 1
    task.refresh_from_db()
    if moved and "state" in changes:
        metrics.task_moved(task, changes)
    return moved


def lease_deadline(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(seconds=settings.GENERATION_LEASE_SECONDS)


def task_start(*, task: Task, worker_name: str, run_info: dict[str, Any]) -> bool:
    """Claim a queued task for this run: count the attempt and take the lease. Afterwards
    ``task.attempts`` is this run's attempt number, which fences everything it writes."""
    now = timezone.now()
    started = _transition(
        task,
        from_states=[State.QUEUED],
        attempt=task.attempts,
        state=State.RUNNING,
        started_at=now,
        attempts=F("attempts") + 1,
        lease_expires_at=lease_deadline(now),
        worker_name=worker_name[:200],
        model_version=run_info.get("model_version", ""),
        run_info=run_info,
    )
    if started:  # event streams say "running" (after the commit, so a reader of the row agrees)
        transaction.on_commit(partial(_announce, task.id, "running", state=State.RUNNING))
    return started


def task_lease_renew(*, task_id, attempt: int) -> bool:
    """Extend the lease of a run that is still the task's current one. False: the task was taken
    back (or finished), and whatever this run produces will be discarded."""
    return (
        Task.unscoped_objects.filter(pk=task_id, state=State.RUNNING, attempts=attempt).update(
            lease_expires_at=lease_deadline()
        )
        == 1
    )


def task_requeue(*, task: Task) -> bool:
    """A running task whose lease expired (its worker died) goes back to the queue for another
    run. Its hold stays (nothing is charged or released). The caller enqueues its job after
    commit (``queues.enqueue_generation``: a new job id, ``gen-<task>-<attempts>``)."""
    return _transition(
        task,
        from_states=[State.RUNNING],
        attempt=task.attempts,
        state=State.QUEUED,
        started_at=None,
        lease_expires_at=None,
        worker_name="",
        job_id=queues.generation_job_id(task),
    )


@dataclass(frozen=True)
class StoredImage:
    """One generated image as the task keeps it. A flagged image has no ``storage_path``: it was
    never stored, and only its hash and moderation scores are kept, for audit."""

    index: int
    seed: int
    width: int
    height: int
    storage_path: str
    sha256: str
    size_bytes: int
    flagged: bool = False
    moderation: dict[str, Any] = field(default_factory=dict)


def task_succeed(
    *,
    task: Task,
    images: list[StoredImage],
    timings_ms: dict[str, float],
    run_info: dict[str, Any],
    moderation_report: dict[str, Any] | None = None,
) -> bool:
    """Finish a running task with its images (delivered and withheld), in one transaction with its
    end's announcement (billing charges the delivered ones). False (and nothing written) if the
    task was no longer running, e.g. another worker finished it first."""
    delivered = sum(1 for image in images if image.storage_path and not image.flagged)
    with transaction.atomic():
        moved = _transition(
            task,
            from_states=[State.RUNNING],
            attempt=task.attempts,  # only the current run: a superseded one finishes nothing
            state=State.SUCCEEDED,
            lease_expires_at=None,
            finished_at=timezone.now(),
            timings_ms=timings_ms,
            run_info=run_info,
            moderation_report={**task.moderation_report, **(moderation_report or {})},
            images_delivered=delivered,
        )
        if moved:
            _save_images(task, images)
            end = announce_task_end(task)
    if moved:
        _notify(end)
    return moved


def _save_images(task: Task, images: list[StoredImage]) -> None:
    Image.unscoped_objects.bulk_create([Image(tenant_id=task.tenant_id, task=task, **vars(image)) for image in images])


def task_fail(
    *,
    task: Task,
    code: str,
    detail: str,
    from_states: tuple[str, ...] = (State.QUEUED, State.RUNNING),
    timings_ms: dict[str, float] | None = None,
    run_info: dict[str, Any] | None = None,
    images: list[StoredImage] | None = None,
    moderation_report: dict[str, Any] | None = None,
    redis_available: bool = True,
) -> bool:
    """Fail a task (nothing billed: its hold goes back). ``images`` are kept for audit when
    moderation blocked them.
    Conditional on the run ``task`` holds (its ``attempts``), like every finish.
    ``redis_available=False``: Redis just failed, so the end is not announced through it."""
    changes: dict[str, Any] = {
        "state": State.FAILED,
        "finished_at": timezone.now(),
        "error_code": code,
        "error_detail": detail,
        "lease_expires_at": None,
    }
    if timings_ms is not None:
        changes["timings_ms"] = timings_ms
    if run_info is not None:
        changes["run_info"] = run_info
    if moderation_report is not None:
        changes["moderation_report"] = {**task.moderation_report, **moderation_report}
    with transaction.atomic():
        moved = _transition(task, from_states=list(from_states), attempt=task.attempts, **changes)
        if moved:
            _save_images(task, images or [])
            end = announce_task_end(task)
    if moved:
        _notify(end, redis_available=redis_available)
    return moved


def task_cancel(*, task: Task, redis_down: bool = False, actor=None) -> Task:
    """Cancel a queued or running task (never billed). One conditional update, whatever run the
    task is in, in one transaction with the hold's release; after the commit, the running worker is
    told through a Redis flag (generation/progress.py) and stops within one step, a queued job is
    removed, and the one callback is scheduled. A worker that finishes anyway finds the row
    cancelled: its finish is refused (nothing billed, no second callback) and its images dropped.
    Finished tasks cannot be cancelled (409). Without Redis the cancel still holds: the worker
    learns it from its lease renewal, or at its refused finish.

    ``redis_down``: Redis already failed in this request (the rate limiter), so it is not tried
    again; nor after the flag could not be set: a hung Redis costs a cancel one read timeout, and
    the callback goes out through the callback worker's sweep.

    ``actor``: the staff user of an admin cancel; its audit row commits with the cancel."""
    with transaction.atomic():
        moved = _transition(
            task,
            from_states=[State.QUEUED, State.RUNNING],
            state=State.CANCELLED,
            finished_at=timezone.now(),
            lease_expires_at=None,
        )
        if moved:
            end = announce_task_end(task)
            audit_record(actor=actor, obj=task, message="Cancelled (admin action).")
    if not moved:
        raise Problem(
            "task_not_cancellable",
            f"Only queued or running tasks can be cancelled; this one is {task.state}.",
            task_id=str(task.id),
        )
    # After the commit, and before the end is announced: a worker that reads the flag publishes no
    # progress after it (generation/progress.py), so nothing follows the end on the events channel.
    reached = not redis_down and _stop_work(task)
    _notify(end, redis_available=reached)
    return task


def tasks_cancel_for_suspension(*, tenant, detail: str) -> int:
    """Inside the suspension's transaction (the tenant's row locked): every queued task of the
    tenant ends cancelled with ``tenant_suspended`` (charge 0, hold released); after the commit
    each one's job is removed and its one callback scheduled. Returns how many."""
    queued = list(Task.unscoped_objects.select_for_update().filter(tenant=tenant, state=State.QUEUED))
    for task in queued:
        moved = _transition(
            task,
            from_states=[State.QUEUED],
            state=State.CANCELLED,
            finished_at=timezone.now(),
            lease_expires_at=None,
            error_code="tenant_suspended",
            error_detail=detail,
        )
        if moved:
            end = announce_task_end(task)
            transaction.on_commit(partial(_stop_work, task), robust=True)
            _notify(end)
    return len(queued)


def tenant_suspended_cancel(sender, *, tenant, detail: str, **kwargs) -> dict[str, int]:
    """``accounts.signals.tenant_suspended`` (connected in generation/apps.py)."""
    return {"tasks_cancelled": tasks_cancel_for_suspension(tenant=tenant, detail=detail)}


def _stop_work(task: Task) -> bool:
    """After a cancel commits: the flag for a run in progress (only a task that ever started can
    have one), and the job of a queued task out of its queue (the worker would skip it anyway).
    False when Redis could not be reached."""
    try:
        if task.attempts:
            progress.cancel_flag_set(task.id)
        queues.remove_generation_job(task)
    except RedisError as exc:
        log.warning("task %s cancelled; could not tell its worker through Redis: %s", task.id, exc)
        return False
    return True


def _notify(end: TaskEnd, *, redis_available: bool = True) -> None:
    """After commit (the callback worker and every waiter must see the final state): the work the
    end's receivers handed over (callbacks enqueues the first attempt; generation/signals.py), then
    ``done`` for every waiter of the task in every web process (/sync waits, event streams;
    generation/waiters.py). Without Redis the callback's delivery row is still written, and the
    callback worker's sweep enqueues it; waiters answer from the row."""
    for work in end.after_commit_work:
        transaction.on_commit(partial(work, redis_available=redis_available), robust=True)
    if redis_available:
        transaction.on_commit(partial(_announce, end.task.id, "done", state=end.task.state))


def _announce(task_id, event: str, **data: Any) -> None:
    try:
        events.publish(task_id, event, **data)
    except RedisError as exc:  # a waiter reads the row at its deadline; the row is the truth
        log.warning("could not publish %s of task %s: %s", event, task_id, exc)


# Prompts and images that moderation refused: a retry would only produce (or try to) the same thing.
NOT_RETRYABLE_CODES = ("moderation_blocked_prompt", "moderation_blocked_image")


def task_retry(*, task: Task, actor=None) -> Task:
    """An operator's retry of a failed task: the same task (same id, request and seeds) is queued
    again for a new attempt (``attempts`` goes up when a worker starts it). It is admitted through
    billing like a submit (caps, prepaid credit: a new hold), so a retried task is billed once, when
    it succeeds; its failed attempt was never billed.

    Refused with 409 ``task_not_retryable``: a task that is not failed (so retrying twice makes one
    new attempt), one that moderation blocked, one of a suspended tenant, one whose model this
    deployment lacks. 402 ``quota_exceeded`` when caps or credit do not admit it. 503
    ``service_unavailable`` when Redis is away: the task is left failed exactly as it was."""
    with transaction.atomic():
        locked = Task.unscoped_objects.select_for_update().select_related("tenant", "project").get(pk=task.pk)
        _retry_refusals(locked)
        failed_as = {name: getattr(locked, name) for name in RETRY_RESETS}
        _retry_requeue(locked, actor=actor)
    # After the commit, as at submit: a worker may take the job at once and must find the task queued.
    try:
        queues.remove_generation_job(Task(pk=locked.pk, model=locked.model, job_id=failed_as["job_id"]))
        job_id = queues.enqueue_generation(locked)
    except RedisError as exc:
        # Redis went away since the check: put the failure back as it was and release the new hold.
        with transaction.atomic():
            if Task.unscoped_objects.filter(pk=locked.pk, state=State.QUEUED).update(state=State.FAILED, **failed_as):
                charging.biller().task_release(task=locked)
                audit_record(actor=actor, obj=locked, message="Retry undone: the job queue is unavailable.")
        raise _retry_unavailable(locked, exc) from exc
    Task.unscoped_objects.filter(pk=locked.pk).update(job_id=job_id)
    log.info("task %s retried by an operator (attempt %s next)", locked.id, locked.attempts + 1)
    task.refresh_from_db()
    return task


def _retry_refusals(locked: Task) -> None:
    """409 ``task_not_retryable`` for a task a retry must not touch, 503 when Redis is away (before
    anything changes)."""
    reason = None
    if locked.state != State.FAILED:
        reason = f"Only failed tasks can be retried; this one is {locked.state}."
    elif locked.error_code in NOT_RETRYABLE_CODES:
        reason = f"This task was blocked by moderation ({locked.error_code}); it is not retried."
    elif not locked.tenant.is_active:
        reason = "The tenant is suspended."
    elif locked.model not in settings.MODEL_REGISTRY:
        reason = f"The model {locked.model!r} is not configured on this deployment."
    elif Image.unscoped_objects.filter(task=locked).exists():
        reason = "This task already has images recorded; it is not retried."
    if reason is not None:
        raise Problem("task_not_retryable", reason, task_id=str(locked.id))
    try:
        queues.connection().ping()  # Redis away: refuse before anything changes
    except RedisError as exc:
        raise _retry_unavailable(locked, exc) from exc


def _retry_unavailable(task: Task, exc: Exception) -> Problem:
    log.error("could not enqueue the retry of task %s: %s", task.id, exc)
    return Problem(
        "service_unavailable",
        "The job queue is unavailable; the task was not retried and is still failed.",
        task_id=str(task.id),
    )


def _retry_requeue(locked: Task, *, actor) -> None:
    """Inside the retry's transaction: admit the task again (a new hold), queue it, audit it."""
    biller = charging.biller()
    admission = biller.task_admit(
        tenant=locked.tenant,
        project=locked.project,
        end_user=locked.end_user,
        num_images=locked.num_images * locked.billable_per_image,
        factor=locked.price_factor,
    )
    resets = {"error_code": "", "error_detail": "", "started_at": None, "finished_at": None, "worker_name": ""}
    moved = _transition(
        locked,
        from_states=[State.FAILED],
        state=State.QUEUED,
        charge=0,
        images_delivered=0,
        hold_amount=admission.hold,
        billing_mode=admission.mode,
        **resets,
    )
    assert moved, "the row is locked"
    rollups.reopen(locked.created_at)  # its hour is counted from the tasks again
    if admission.prepaid:
        biller.credit_hold(task=locked, amount=admission.hold)
    audit_record(actor=actor, obj=locked, message=f"Retried: queued for attempt {locked.attempts + 1}.")


# What a retry changes on the row, and what is put back if Redis refuses its job.
RETRY_RESETS = (
    "error_code",
    "error_detail",
    "started_at",
    "finished_at",
    "worker_name",
    "charge",
    "images_delivered",
    "hold_amount",
    "job_id",
)

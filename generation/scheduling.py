"""Fair scheduling across tenants: which queued task a generation worker starts next.

An rq job on a model's queue is a *token*: one is enqueued per queued task (submit, reconciler,
retry), and a worker that takes one starts the task that is fairest now, not necessarily the one
the job names. The choice is start-time fair queueing, weighted by each tenant's plan
(``Plan.scheduling_weight``), counted in images:

- every (queue, tenant) has a *pass* (:class:`FairShare`), every queue a *clock* (:class:`FairClock`);
- a tenant's turn is ``max(pass, clock)``: a tenant that was idle comes back at the clock, with no
  credit saved up while it was away, and goes before every tenant that is being served;
- the tenant with the lowest turn (ties: the oldest queued task) starts its oldest queued task;
  starting it at turn ``s`` sets the clock to ``s`` and the pass to ``s + images / weight``.

So a tenant with 90 queued six-image tasks and one with a single one-image task alternate (the
second waits for at most the task running now), and tenants that are all busy get images in
proportion to their weights. Within a tenant the order is first in, first out.

The Task row stays the truth: a start is the conditional ``queued -> running`` update of
``services.task_start`` (leases, fencing and the reconciler are unchanged), taken on the row claimed
with ``SELECT ... FOR UPDATE SKIP LOCKED``, in one transaction with the tenant's row lock (its
running limit) and its pass. Each task's ``job_id`` names a token that will start some task: when a
token starts a task other than its own, the two tasks swap tokens in that transaction, so the
reconciler's check (``queues.live_generation_jobs``) and a cancel's removal of a queued job still
count one token per queued task.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F, Min, Q
from django.db.models.functions import Greatest

from generation import charging, limits, services
from generation.models import FairClock, FairShare, Task

log = logging.getLogger(__name__)
State = Task.State


def models_on(queue_name: str) -> list[str]:
    return [name for name, spec in settings.MODEL_REGISTRY.items() if spec.queue == queue_name]


def tenant_weight(tenant) -> int:
    """Its plan's weight (billing's, through generation/charging.py)."""
    return charging.biller().scheduling_weight(tenant)


@dataclass(frozen=True)
class Turn:
    tenant_id: int
    turn: float
    oldest: object


def turns(queue_name: str, where: Q | None = None) -> list[Turn]:
    """Tenants with queued tasks on ``queue_name`` (and matching ``where``), the one whose turn it
    is first."""
    oldest = dict(
        Task.unscoped_objects.filter(state=State.QUEUED, model__in=models_on(queue_name))
        .filter(where or Q())
        .values("tenant_id")
        .annotate(oldest=Min("created_at"))
        .order_by()
        .values_list("tenant_id", "oldest")
    )
    clock = FairClock.objects.filter(queue=queue_name).values_list("clock", flat=True).first() or 0.0
    passes = dict(
        FairShare.objects.filter(queue=queue_name, tenant_id__in=list(oldest)).values_list("tenant_id", "vpass")
    )
    ranked = [Turn(t, max(passes.get(t, 0.0), clock), when) for t, when in oldest.items()]
    return sorted(ranked, key=lambda turn: (turn.turn, turn.oldest, turn.tenant_id))


def _charge(queue_name: str, tenant, task: Task) -> None:
    """Inside the start's transaction (the tenant's row locked): move its pass and the clock."""
    clock = FairClock.objects.filter(queue=queue_name).values_list("clock", flat=True).first() or 0.0
    share, _ = FairShare.objects.get_or_create(queue=queue_name, tenant=tenant)
    start = max(share.vpass, clock)
    FairShare.objects.filter(pk=share.pk).update(vpass=start + task.num_images / tenant_weight(tenant))
    _, created = FairClock.objects.get_or_create(queue=queue_name, defaults={"clock": start})
    if not created:
        FairClock.objects.filter(queue=queue_name).update(clock=Greatest(F("clock"), start))


def token_holder(*, job_id: str, hint: Task | None) -> Task | None:
    """The queued task whose token the job ``job_id`` is: the one whose row names it, or the task
    the job was enqueued for while the submit has not written the job's id yet. None: the job is
    nobody's (a replayed or duplicate job, or its task was cancelled or started elsewhere) and
    starts nothing, so there are never more starts than queued tasks."""
    if job_id:
        holder = Task.unscoped_objects.filter(state=State.QUEUED, job_id=job_id).first()
        if holder is not None:
            return holder
    if hint is not None and hint.state == State.QUEUED and hint.job_id in ("", job_id):
        return hint
    return None


def _take_token(task: Task, *, job_id: str, own_token: str, holder: Task) -> None:
    """``task`` was started by ``holder``'s token ``job_id``: ``holder`` gets the started task's own
    token (still in the queue), so every queued task keeps one. No ``holder``: ``task`` keeps its
    own token, which then starts nothing (its task is no longer queued)."""
    if holder is None or task.pk == holder.pk:
        return
    Task.unscoped_objects.filter(pk=holder.pk, state=State.QUEUED).update(job_id=own_token)
    Task.unscoped_objects.filter(pk=task.pk).update(job_id=job_id)
    task.job_id = job_id


def _start_of(
    tenant_id: int, queue_name: str, *, holder, job_id: str, worker_name: str, describe, only=None, where=None
):
    """One transaction: the tenant's row locked, its running limit checked, its oldest queued task
    (matching ``where``) claimed (skipping rows another worker holds) and started, its pass moved.
    None: nothing of this tenant can start now."""
    with transaction.atomic():
        tenant = limits.lock_tenant(tenant_id)
        if not tenant.is_active:  # suspended: its queued tasks are being cancelled
            return None
        running = Task.unscoped_objects.filter(tenant_id=tenant_id, state=State.RUNNING).count()
        if running >= limits.limits_for(tenant).running:
            return None
        task = (
            Task.unscoped_objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("project")
            .filter(tenant_id=tenant_id, state=State.QUEUED, model__in=models_on(queue_name))
            .filter(**({"pk": only.pk} if only is not None else {}))
            .filter(where or Q())
            .order_by("created_at", "id")
            .first()
        )
        if task is None:
            return None
        own_token = task.job_id
        if not services.task_start(task=task, worker_name=worker_name, run_info=describe(task.model)):
            return None
        _charge(queue_name, tenant, task)
        _take_token(task, job_id=job_id, own_token=own_token, holder=holder)
        return task


@dataclass(frozen=True)
class Claim:
    task: Task | None  # the task this worker started
    waiting: bool  # nothing started although tasks are queued (their tenants at their running limit)


def claim_next(*, queue_name: str, holder: Task, job_id: str, worker_name: str, describe) -> Claim:
    """Start the task whose turn it is on ``queue_name`` with ``holder``'s token ``job_id``.
    ``describe(model)`` gives the run information of the model's loaded engine."""
    if settings.GENERATION_SCHEDULING == "fifo":  # the job's own task, as rq ordered it
        task = _start_of(holder.tenant_id, queue_name, holder=holder, job_id=job_id, worker_name=worker_name,
                         describe=describe, only=holder)  # fmt: skip
        return Claim(task=task, waiting=task is None)
    ranked = turns(queue_name)
    for turn in ranked:
        task = _start_of(
            turn.tenant_id, queue_name, holder=holder, job_id=job_id, worker_name=worker_name, describe=describe
        )
        if task is not None:
            return Claim(task=task, waiting=False)
    return Claim(task=None, waiting=bool(ranked))


def batchable(task: Task) -> Q:
    """Queued tasks whose images can share ``task``'s pipeline calls (the engine's batch key, from
    the row): same model, size, steps and guidance, a negative prompt if and only if ``task`` has
    one, and no partial images."""
    negative = ~Q(neg_text="") if task.neg_text else Q(neg_text="")
    same = {"model": task.model, "width": task.width, "height": task.height}
    return Q(**same, steps=task.steps, guidance=task.guidance, partial_images=0) & negative


def claim_companions(*, task: Task, queue_name: str, budget: int, worker_name: str, describe) -> list[Task]:
    """Queued tasks to run in the same pipeline calls as ``task``, which this worker just started:
    batchable ones (:func:`batchable`), whichever is fairest next each time (so every start moves
    its tenant's pass and respects its running limit), until their images and ``task``'s reach
    ``budget``. Each is started as ``task`` was (leases, fencing and the reconciler see ordinary
    runs); its own token stays queued and starts nothing when a worker takes it."""
    if task.partial_images or budget <= task.num_images:
        return []
    companions: list[Task] = []
    room = budget - task.num_images
    while room > 0:
        where = batchable(task) & Q(num_images__lte=room)
        started = claim_following(queue_name=queue_name, worker_name=worker_name, describe=describe, where=where)
        if started is None:
            return companions
        companions.append(started)
        room -= started.num_images
    return companions


def claim_following(*, queue_name: str, worker_name: str, describe, where: Q | None = None) -> Task | None:
    """Start the task (matching ``where``) whose turn it is on ``queue_name`` for a job that has
    already started one (a companion, or the next batch the job chains while its last one is
    post-processed: generation/jobs.py). No token changes hands: the started task's own stays
    queued and starts nothing."""
    for turn in turns(queue_name, where):
        task = _start_of(
            turn.tenant_id, queue_name, holder=None, job_id="", worker_name=worker_name, describe=describe, where=where
        )
        if task is not None:
            return task
    return None

"""The reconciler: the database is the truth, and this puts Redis and the workers back in line with it.

1. A running task whose lease expired (its worker died mid-job: killed, out of memory, the machine
   gone) goes back to the queue for another run, or, after GENERATION_MAX_ATTEMPTS runs, fails
   with ``worker_lost`` (hold released, callback sent, /sync waiters woken).
2. A queued task older than RECONCILE_GRACE_SECONDS whose job Redis no longer holds (a flush, a
   failover to an empty replica, a web process that died between commit and enqueue, a Redis that
   was down when step 1 ran) gets its job again.

Safe to run at any time from any number of processes: rows are claimed with
``SELECT ... FOR UPDATE SKIP LOCKED``, every change is conditional on the state and attempt it
expects, and a job id names one run (``gen-<task>-<attempt>``), so the worst a race can do is put a
job in twice, and the second copy finds the task already started and skips it.

Runs as ``python manage.py reconcile`` and every RECONCILE_INTERVAL seconds from
``manage.py run_scheduler``. Step 1 alone (:func:`recover_lost_runs`) also runs every
RECONCILE_INTERVAL seconds in every generation worker (:class:`LostRunSweeper`), so a run whose
worker died is taken back even where no `scheduler` and `default` roles run, or while they are down.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Q
from django.utils import timezone
from redis.exceptions import RedisError
from rq.job import Job

from generation import queues, services
from generation.models import Task

log = logging.getLogger(__name__)
State = Task.State
BATCH = 500


@dataclass
class ReconcileReport:
    recovered: list[str] = field(default_factory=list)  # running, lease expired: queued again
    worker_lost: list[str] = field(default_factory=list)  # running, lease expired, out of attempts: failed
    requeued: list[str] = field(default_factory=list)  # queued, job missing from Redis: enqueued again
    released: list[str] = field(default_factory=list)  # scheduled jobs long past due: put on their queue
    redis_error: str = ""  # Redis could not be reached; what needs it waits for the next run

    def counts(self) -> dict[str, int | str]:
        out: dict[str, int | str] = {
            "recovered": len(self.recovered),
            "worker_lost": len(self.worker_lost),
            "requeued": len(self.requeued),
        }
        if self.released:
            out["released"] = len(self.released)
        if self.redis_error:
            out["redis_error"] = self.redis_error
        return out

    def lines(self) -> list[str]:
        return (
            [f"task {t}: its worker was lost; queued again for another run" for t in self.recovered]
            + [
                f"task {t}: its worker was lost on the last allowed run; failed with worker_lost"
                for t in self.worker_lost
            ]
            + [f"task {t}: queued but Redis had lost its job; enqueued again" for t in self.requeued]
            + (
                [f"Redis unavailable ({self.redis_error}); queued tasks are checked next run"]
                if self.redis_error
                else []
            )
        )


def _lease_expired(now: datetime) -> Q:
    # Rows started before leases existed have none: the job timeout bounds how long they can run.
    no_lease_cutoff = now - timedelta(seconds=settings.GENERATION_JOB_TIMEOUT + settings.GENERATION_LEASE_SECONDS)
    return Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True, started_at__lt=no_lease_cutoff)


def _recover_running(now: datetime, report: ReconcileReport) -> list[str]:
    recovered: list[str] = []
    with transaction.atomic():
        expired = list(
            Task.unscoped_objects.select_for_update(skip_locked=True)
            .filter(state=State.RUNNING)
            .filter(_lease_expired(now))
            .order_by("lease_expires_at")[:BATCH]
        )
        for task in expired:
            worker, attempt = task.worker_name or "an unknown worker", task.attempts
            if attempt >= settings.GENERATION_MAX_ATTEMPTS:
                detail = (
                    f"The worker running this task was lost ({worker}, run {attempt} of "
                    f"{settings.GENERATION_MAX_ATTEMPTS}); nothing was charged."
                )
                if services.task_fail(task=task, code="worker_lost", detail=detail, from_states=(State.RUNNING,)):
                    report.worker_lost.append(str(task.pk))
                    log.warning("task %s: worker %s lost on run %s; failed with worker_lost", task.pk, worker, attempt)
            elif services.task_requeue(task=task):
                recovered.append(str(task.pk))
                log.warning("task %s: worker %s lost on run %s; queued again", task.pk, worker, attempt)
    report.recovered.extend(recovered)
    return recovered


def _requeue_lost_jobs(
    now: datetime, report: ReconcileReport, *, just_recovered: list[str], recovered_only: bool = False
) -> None:
    old_enough = Q(created_at__lt=now - timedelta(seconds=settings.RECONCILE_GRACE_SECONDS))
    which = Q(pk__in=just_recovered) if recovered_only else old_enough | Q(pk__in=just_recovered)
    try:
        with transaction.atomic():
            # Locked while their jobs are checked and put back, so two reconcilers never both do it.
            queued = list(
                Task.unscoped_objects.select_for_update(skip_locked=True)
                .filter(state=State.QUEUED)
                .filter(which)
                .order_by("created_at")[:BATCH]
            )
            live = queues.live_generation_jobs(queued)
            for task in queued:
                job_id = queues.generation_job_id(task)
                if job_id in live or task.job_id in live:
                    continue
                queues.enqueue_generation(task)
                Task.unscoped_objects.filter(pk=task.pk).update(job_id=job_id)
                if str(task.pk) not in just_recovered:
                    report.requeued.append(str(task.pk))
                    log.warning("task %s: queued but its job %s was not in Redis; enqueued again", task.pk, job_id)
    except RedisError as exc:
        report.redis_error = f"{type(exc).__name__}: {exc}"
        log.error("reconciler: Redis unavailable: %s", exc)


def _release_overdue_scheduled(now: datetime, report: ReconcileReport) -> None:
    """A start deferred for the tenant's running limit waits as a scheduled job, which rq's
    scheduler (one worker holds its lock) moves to the queue when due. When that worker is killed,
    its lock outlives it and the other workers try to take it over only every few minutes: the
    task would wait that long. Jobs more than RECONCILE_GRACE_SECONDS past due are moved here (a
    job that the scheduler also moves runs once: a job whose task is not queued does nothing)."""
    due = int((now - timedelta(seconds=settings.RECONCILE_GRACE_SECONDS)).timestamp())
    try:
        by_name = {queue.name: queue for queue in map(queues.generation_queue, settings.MODEL_REGISTRY)}
        for queue in by_name.values():  # models may share a queue
            registry = queue.scheduled_job_registry
            job_ids = registry.get_jobs_to_schedule(due)
            for job_id, job in zip(job_ids, Job.fetch_many(job_ids, connection=queue.connection), strict=True):
                if job is not None:
                    queue.enqueue_job(job)
                    report.released.append(job_id)
                    log.warning("scheduled job %s was long past due (no rq scheduler moved it); queued", job_id)
                registry.remove(job_id)
    except RedisError as exc:
        report.redis_error = f"{type(exc).__name__}: {exc}"
        log.error("reconciler: Redis unavailable: %s", exc)


def reconcile(*, now: datetime | None = None) -> ReconcileReport:
    """One pass: take back tasks whose worker was lost, then give every queued task a job.
    ``now`` can be moved on by tests."""
    now = now or timezone.now()
    report = ReconcileReport()
    just_recovered = _recover_running(now, report)
    _release_overdue_scheduled(now, report)
    _requeue_lost_jobs(now, report, just_recovered=just_recovered)
    if report.recovered or report.worker_lost or report.requeued or report.released or report.redis_error:
        log.info("reconciler: %s", report.counts())
    return report


def reconcile_job() -> dict:
    """The scheduled job (``manage.py run_scheduler``, on the "default" queue)."""
    return reconcile().counts()


def recover_lost_runs(*, now: datetime | None = None, unqueued: Iterable[str] = ()) -> ReconcileReport:
    """Step 1 of :func:`reconcile` alone: running tasks whose lease expired go back to the queue
    with a job (or fail with ``worker_lost``). One indexed query when nothing expired (running rows
    by ``task_state_lease``). ``unqueued``: tasks an earlier call took back but could not enqueue
    (Redis was away); their jobs are put in now if they still have none."""
    now = now or timezone.now()
    report = ReconcileReport()
    just_recovered = _recover_running(now, report) + [str(pk) for pk in unqueued]
    if just_recovered:
        _requeue_lost_jobs(now, report, just_recovered=just_recovered, recovered_only=True)
    if report.recovered or report.worker_lost or report.redis_error:
        log.info("lost-run sweep: %s", report.counts())
    return report


class LostRunSweeper(threading.Thread):
    """A thread of every generation worker (``manage.py run_worker``): :func:`recover_lost_runs`
    every ``interval`` seconds. Without it a run whose worker was killed was taken back only by
    the reconciler job, which needs the `scheduler` and the `default` roles: hosts running only
    `web` and `worker` left such a task `running` for ever, holding one of its tenant's running
    slots. Any number of workers may sweep at once (rows are claimed with SKIP LOCKED); the first
    sweep waits a random part of the interval so workers started together spread out."""

    def __init__(self, *, interval: float):
        super().__init__(name="lost-run-sweeper", daemon=True)
        self.interval = interval
        self.stopped = threading.Event()
        self.unqueued: set[str] = set()  # taken back, but Redis was away when their jobs were due

    def run(self) -> None:
        wait = random.uniform(0, self.interval)
        while not self.stopped.wait(wait):
            wait = self.interval
            try:
                report = recover_lost_runs(unqueued=self.unqueued)
                self.unqueued = (self.unqueued | set(report.recovered)) if report.redis_error else set()
            except Exception:  # the database is away: the next sweep tries again
                log.exception("lost-run sweep failed; next one in %s s", self.interval)
            finally:
                connections.close_all()  # this thread's own; none is held between sweeps

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=10)

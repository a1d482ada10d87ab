"""Redis side of callbacks: one rq job per attempt on the "callbacks" queue.

Job ids are ``cb-<delivery>-<attempt number>``, so a job put back by the recovery sweep and the
job it replaces are the same job; and the attempt itself is claimed on the delivery row, so even
two copies of a job send once. Functions here raise ``redis.exceptions.RedisError`` when Redis is
away; callers log it and let the sweep enqueue later (the row is the truth).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import django_rq
from django.conf import settings
from django.utils import timezone
from imgplatform import redisconn
from rq.job import Job, JobStatus

QUEUE = "callbacks"
LIVE_STATUSES = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.STARTED, JobStatus.DEFERRED}


def get_queue():
    """The queue on the platform's pooled client with timeouts (web and job code)."""
    return django_rq.get_queue(QUEUE, connection=redisconn.connection(QUEUE))


def get_worker_queue():
    """The queue on a client of its own for an rq worker (rq sets the read timeout its blocking
    dequeue needs)."""
    return django_rq.get_queue(QUEUE)


def attempt_job_id(delivery_id: int, number: int) -> str:
    return f"cb-{delivery_id}-{number}"


def _whole_second_after(when: datetime) -> datetime:
    # rq's scheduler keeps times in whole seconds; rounding up means an attempt never runs early.
    return datetime.fromtimestamp(math.ceil(when.timestamp()), tz=when.tzinfo)


def enqueue_attempt(delivery_id: int, number: int, *, at: datetime | None = None, trigger: str = "schedule") -> Job:
    queue = get_queue()
    options = dict(
        job_id=attempt_job_id(delivery_id, number),
        # The attempt has its own deadline (CALLBACK_TIMEOUT); this only stops a job stuck elsewhere.
        job_timeout=int(settings.CALLBACK_TIMEOUT) + 60,
        result_ttl=24 * 3600,
        failure_ttl=7 * 24 * 3600,
        description=f"callback delivery {delivery_id} attempt {number} ({trigger})",
    )
    args = ("callbacks.jobs.deliver", delivery_id, number, trigger)
    if at is None or at <= timezone.now():
        return queue.enqueue(*args, **options)
    return queue.enqueue_at(_whole_second_after(at), *args, **options)


def attempt_job_is_live(delivery_id: int, number: int) -> bool:
    """Whether Redis still holds a job that will make this attempt (queued, scheduled or running)."""
    job = get_queue().fetch_job(attempt_job_id(delivery_id, number))
    if job is None:
        return False
    return job.get_status(refresh=False) in LIVE_STATUSES


def stale_after() -> timedelta:
    """An attempt in flight longer than this lost its worker."""
    return timedelta(seconds=settings.CALLBACK_TIMEOUT + 60)

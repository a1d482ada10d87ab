"""Per-tenant limits on tasks: how many may wait queued, how many may run at once, how many
/task/sync requests may wait at once. Each value is the tenant's own (admin) or the deployment's
default (settings). The request rate (per tenant, and per key within it) is in :mod:`accounts.ratelimit`.

- Queued: counted in the database inside the submit transaction, after locking the tenant's row,
  so two concurrent submits at limit - 1 cannot both pass (the second waits for the first's
  commit and then counts it). A submit over the limit is 429 ``rate_limited``.
- Running: checked where a task starts, in the same way (tenant row locked, running tasks
  counted, the queued -> running update in the same transaction). A task over the limit is not
  started: its job goes back to the queue with a delay (rq's scheduler), so the worker goes on
  with other tenants' jobs at once and nothing spins.
- Sync waits: a sorted set per tenant in Redis (member per waiting request, scored by when its
  wait must be over), trimmed and counted in one Lua script; an entry whose web process died
  expires at its deadline, so the count cannot drift. Over the limit, /sync answers 202 at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import timedelta

import django_rq
from django.conf import settings
from django.db import transaction
from imgplatform import metrics, redisconn
from imgplatform.offloop import run_sync
from imgplatform.problems import Problem
from redis.exceptions import RedisError

from accounts.models import Tenant
from generation import queues
from generation.models import Task

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TenantLimits:
    queued: int
    running: int
    sync_waits: int


def limits_for(tenant: Tenant) -> TenantLimits:
    return TenantLimits(
        queued=tenant.max_queued_tasks or settings.TENANT_MAX_QUEUED_TASKS,
        running=tenant.max_running_tasks or settings.TENANT_MAX_RUNNING_TASKS,
        sync_waits=tenant.max_sync_waits or settings.TENANT_MAX_SYNC_WAITS,
    )


def lock_tenant(tenant_id) -> Tenant:
    """Inside a transaction: the tenant's row, locked until commit (one admission at a time)."""
    return Tenant.objects.select_for_update().get(pk=tenant_id)


# --- Queued ------------------------------------------------------------------------------------
def task_admit_queued(*, tenant: Tenant) -> None:
    """Inside the submit transaction, before the task is written: 429 when the tenant already has
    its limit of queued tasks."""
    tenant = lock_tenant(tenant.pk)
    limit = limits_for(tenant).queued
    # Counted up to the limit only (an index range of at most `limit` rows under the tenant's lock,
    # however long the backlog): a COUNT of every queued task grew with it.
    queued = Task.objects.for_tenant(tenant).filter(state=Task.State.QUEUED).values("pk")[:limit].count()
    if queued >= limit:
        raise Problem(
            "rate_limited",
            f"This account already has {limit} tasks waiting to start (its limit); "
            "submit again when some have started.",
            headers={"Retry-After": str(max(1, round(settings.TENANT_RUNNING_RETRY_SECONDS * 2)))},
            rate_limit="queued_tasks",
            limit=str(limit),
        )


# --- Running -----------------------------------------------------------------------------------
@contextmanager
def running_slot(task: Task) -> Iterator[bool]:
    """``with running_slot(task) as admitted: if admitted: services.task_start(...)``

    One transaction with the tenant's row locked: ``admitted`` says whether the tenant has fewer
    than its limit of running tasks, and the start inside the block commits (and releases the
    lock) when the block ends, so two workers cannot both take the last slot."""
    with transaction.atomic():
        tenant = lock_tenant(task.tenant_id)
        running = Task.objects.for_tenant(tenant).filter(state=Task.State.RUNNING).count()
        yield running < limits_for(tenant).running


def task_defer_start(task: Task) -> str:
    """Put a task that may not start yet back on its queue, due in about
    TENANT_RUNNING_RETRY_SECONDS (spread by +-25% so waiting tasks do not come back together).
    The worker's rq scheduler moves it to the queue when due. Returns the new job id."""
    delay = settings.TENANT_RUNNING_RETRY_SECONDS * random.uniform(0.75, 1.25)
    queue = django_rq.get_queue(queues.model_spec(task.model).queue)
    job = queue.enqueue_in(
        timedelta(seconds=delay),
        "generation.jobs.run_generation",
        str(task.id),
        job_id=f"gen-{task.id}-{task.attempts}-w{uuid.uuid4().hex[:8]}",
        job_timeout=settings.GENERATION_JOB_TIMEOUT,
        result_ttl=600,
        failure_ttl=7 * 24 * 3600,
        description=f"generate task {task.id} (waiting for a running slot)",
    )
    Task.unscoped_objects.filter(pk=task.pk, state=Task.State.QUEUED).update(job_id=job.id)
    return job.id


# --- Sync waits ----------------------------------------------------------------------------------
SYNC_WAITS_KEY = "imagegen:sync-waits:{tenant_id}"
# A waiter's entry outlives its wait by this much, so a slow answer is still counted while it waits;
# the entry of a web process that died goes away then.
SYNC_WAIT_MARGIN_SECONDS = 5.0
# KEYS[1]: the tenant's waiters. ARGV: member, limit, wait (ms). 1 when this waiter may wait.
SYNC_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""


def sync_wait_acquire(*, tenant: Tenant, seconds: float) -> tuple[float, str | None]:
    """``(wait, member)``: ``wait`` is ``seconds`` when the tenant has fewer than its limit of /sync
    requests waiting (``member`` is its entry, to release), else 0 (answer at once). Redis away:
    ``(seconds, None)`` (waiting on Redis ends at once anyway)."""
    if seconds <= 0:
        return 0, None
    key = SYNC_WAITS_KEY.format(tenant_id=tenant.pk)
    member = uuid.uuid4().hex
    ttl_ms = int((seconds + SYNC_WAIT_MARGIN_SECONDS) * 1000)
    try:
        script = queues.connection().register_script(SYNC_ACQUIRE)
        acquired = bool(script(keys=[key], args=[member, limits_for(tenant).sync_waits, ttl_ms]))
    except RedisError as exc:
        log.warning("sync wait limiter unavailable: %s", type(exc).__name__)
        return seconds, None
    return (seconds, member) if acquired else (0, None)


def sync_wait_release(*, tenant: Tenant, member: str | None) -> None:
    if member is None:
        return
    try:
        queues.connection().zrem(SYNC_WAITS_KEY.format(tenant_id=tenant.pk), member)
    except RedisError:  # the entry expires at its deadline
        log.warning("could not release a sync wait slot of tenant %s", tenant.pk)


@contextmanager
def sync_wait_slot(*, tenant: Tenant, seconds: float) -> Iterator[float]:
    """``with sync_wait_slot(tenant=t, seconds=s) as wait: ...`` (sync code; the /sync view uses
    :func:`async_sync_wait_slot`)."""
    wait, member = sync_wait_acquire(tenant=tenant, seconds=seconds)
    try:
        yield wait
    finally:
        sync_wait_release(tenant=tenant, member=member)


# /sync waits held by this web process (the async view's coroutines); SYNC_MAX_WAITS_PER_PROCESS.
_process_waits = 0


def process_sync_waits() -> int:
    return _process_waits


@asynccontextmanager
async def async_sync_wait_slot(*, tenant: Tenant, seconds: float) -> AsyncIterator[float]:
    """``async with async_sync_wait_slot(tenant=t, seconds=s) as wait:`` in the /sync view: ``wait``
    is ``seconds`` when both this process (SYNC_MAX_WAITS_PER_PROCESS) and the tenant
    (TENANT_MAX_SYNC_WAITS, Redis, run on the sync pool) have room, else 0: answer at once. The
    slots are released when the block ends, also when the client disconnects (the view's task is
    cancelled, and this block's exit still runs)."""
    global _process_waits
    if seconds <= 0 or _process_waits >= settings.SYNC_MAX_WAITS_PER_PROCESS:
        yield 0
        return
    _process_waits += 1  # taken before the first await: the per-process count cannot overshoot
    metrics.SYNC_WAITS.inc()
    acquire = asyncio.ensure_future(run_sync(sync_wait_acquire, tenant=tenant, seconds=seconds))
    try:
        wait, _ = await asyncio.shield(acquire)
        yield wait
    finally:
        _process_waits -= 1
        metrics.SYNC_WAITS.dec()
        # Shielded: a cancelled view (client gone) still gives its tenant slot back at once, also when
        # it left while the slot was still being taken (the release waits for the taking to end).
        await asyncio.shield(_give_back(acquire, tenant=tenant))


async def _give_back(acquire: asyncio.Future, *, tenant: Tenant) -> None:
    try:
        _, member = await acquire
    except Exception:  # nothing was taken (Redis away: the view already answered from the row)
        return
    if member is not None:
        await async_sync_wait_release(tenant=tenant, member=member)


async def async_sync_wait_release(*, tenant: Tenant, member: str) -> None:
    """:func:`sync_wait_release` on the event loop (redis.asyncio): a wait that ends gives its slot
    back without a call on the sync pool, where a thousand waits ending together would queue their
    releases ahead of their own answers."""
    try:
        await redisconn.async_connection().zrem(SYNC_WAITS_KEY.format(tenant_id=tenant.pk), member)
    except (RedisError, OSError, TimeoutError):  # the entry expires at its deadline
        log.warning("could not release a sync wait slot of tenant %s", tenant.pk)

"""Writes for callbacks: schedule a delivery, make an attempt, redeliver, recover lost jobs, clear
an endpoint's 410 mark, rotate a project's webhook secret.

Every change of a delivery's state is a conditional update on the state it expects (as for tasks),
so two jobs for the same attempt, or a job and the recovery sweep, can never both send it.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from imgplatform import metrics
from imgplatform.ssrf import ResolutionFailed, Resolver, UnsafeURL, parse_networks, system_resolve
from redis.exceptions import RedisError

from accounts.models import Project, new_webhook_secret
from accounts.services import audit_record
from callbacks import queues, selectors, transport
from callbacks.models import CallbackAttempt, CallbackDelivery, CallbackEndpoint, WebhookSecretRotation, url_digest
from callbacks.schedule import next_delay, parse_retry_after
from callbacks.signing import canonical_secret, encode_body, webhook_headers
from generation.models import Task
from generation.serializers import task_object

log = logging.getLogger(__name__)
Status = CallbackDelivery.Status
Trigger = CallbackAttempt.Trigger

# A pending delivery whose attempt is this overdue and has no job in Redis gets one again. (Short:
# what protects against a second send is the claim on the row, not this wait.)
RECOVER_GRACE = timedelta(seconds=2)
RECOVER_BATCH = 500


def allowed_networks():
    return parse_networks(settings.CALLBACK_ALLOWED_NETWORKS)


def event_type(task: Task) -> str:
    if task.state == Task.State.FAILED and task.error_code.startswith("moderation_blocked"):
        return "task.blocked"
    return f"task.{task.state}"


def _enqueue(delivery_id: int, number: int, *, at: datetime | None = None, trigger: str = Trigger.SCHEDULE) -> None:
    """Hand the attempt to Redis; if Redis is away the sweep will (the row says it is due)."""
    try:
        queues.enqueue_attempt(delivery_id, number, at=at, trigger=trigger)
    except RedisError as exc:
        log.warning("could not enqueue attempt %s of delivery %s (the sweep will): %s", number, delivery_id, exc)


def callback_schedule(*, task_id, enqueue: bool = True) -> CallbackDelivery | None:
    """Create the delivery for a finished task that has a callback_url and enqueue its first
    attempt. Idempotent: one delivery per end of the task (a task retried by an operator ends
    again, and gets a second message). For a task whose end is already committed (an operator's
    redelivery, tests); a task's own end writes its delivery in the end's transaction
    (:func:`task_ended_schedule`). ``enqueue=False`` (Redis is known to be down): the row alone;
    the recovery sweep enqueues it."""
    task = Task.unscoped_objects.filter(pk=task_id).first()
    if task is None:
        return None
    delivery, created = _delivery_for(task)
    if created and enqueue:
        _enqueue(delivery.pk, 1)
    return delivery


def _delivery_for(task: Task) -> tuple[CallbackDelivery | None, bool]:
    """The delivery of this end of ``task`` (created if new), or None when it has no callback."""
    if not task.callback_url or not task.is_final:
        return None, False
    delivery, created = CallbackDelivery.unscoped_objects.get_or_create(
        task=task,
        task_finished_at=task.finished_at,
        defaults={
            "tenant_id": task.tenant_id,
            "project_id": task.project_id,
            "event_type": event_type(task),
            "url": task.callback_url,
            "next_attempt_at": timezone.now(),
        },
    )
    if created:
        log.info("callback %s (%s) for task %s scheduled", delivery.webhook_id, delivery.event_type, task.id)
    return delivery, created


def task_ended_schedule(sender, *, task: Task, end, **kwargs) -> None:
    """``generation.signals.task_ended`` (connected in callbacks/apps.py), inside the transaction
    that ends the task: the delivery row commits with the end, so a worker killed right after that
    commit still leaves it due, and the callback worker's recovery sweep sends it. Its first
    attempt is enqueued once the end is committed, unless Redis has just failed for that end (the
    sweep enqueues it then)."""
    delivery, created = _delivery_for(task)
    if created:
        end.after_commit(partial(_enqueue_first, delivery.pk))


def _enqueue_first(delivery_id: int, *, redis_available: bool) -> None:
    if redis_available:
        _enqueue(delivery_id, 1)


def tenant_suspended_stop(sender, *, tenant, **kwargs) -> dict[str, int]:
    """``accounts.signals.tenant_suspended`` (connected in callbacks/apps.py), inside the
    suspension's transaction: the tenant's callbacks still retrying end (``gave_up``, saying why),
    except those announcing the cancels of the suspension itself (generation's receiver may have
    written them already in this transaction): those are sent."""
    pending = (
        CallbackDelivery.objects.for_tenant(tenant)
        .filter(status__in=[Status.PENDING, Status.DELIVERING])
        .exclude(event_type="task.cancelled", task__error_code="tenant_suspended")
    )
    stopped = pending.update(
        status=Status.GAVE_UP,
        next_attempt_at=None,
        claimed_at=None,
        finished_at=timezone.now(),
        last_error="stopped: the account was suspended",
    )
    return {"callbacks_stopped": stopped}


def receiver_of(delivery_id: int) -> str:
    """The receiver a delivery goes to, as the concurrency limit counts it: scheme, host, port."""
    url = CallbackDelivery.unscoped_objects.filter(pk=delivery_id).values_list("url", flat=True).first() or ""
    parts = urlsplit(url)
    try:
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme, 0)
    except ValueError:
        port = 0
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def _build_body(delivery: CallbackDelivery) -> str:
    """The task object, built afresh for each attempt so its signed image links are valid for
    IMAGE_LINK_TTL from the attempt, not from the task's end (retries go on for days)."""
    task = Task.unscoped_objects.prefetch_related("images").get(pk=delivery.task_id)
    return encode_body(task_object(task, base_url=settings.PUBLIC_BASE_URL))


@dataclass(frozen=True)
class Outcome:
    kind: str  # "succeeded", "gone", "refused", "failed"
    status_code: int | None = None
    error: str = ""
    excerpt: str = ""
    address: str = ""
    latency_ms: float | None = None
    retry_after: float | None = None


def _excerpt(data: bytes) -> str:
    return data.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def _send(url: str, body: str, headers: dict[str, str], *, resolve: Resolver, now: datetime) -> Outcome:
    started = timezone.now()

    def elapsed() -> float:
        return round((timezone.now() - started).total_seconds() * 1000, 1)

    try:
        response = transport.post(
            url,
            body.encode("utf-8"),
            headers,
            allowed_networks=allowed_networks(),
            timeout=settings.CALLBACK_TIMEOUT,
            max_bytes=settings.CALLBACK_RESPONSE_MAX_BYTES,
            resolve=resolve,
        )
    except UnsafeURL as exc:
        return Outcome("refused", error=f"refused, nothing sent: {exc.reason}", latency_ms=elapsed())
    except ResolutionFailed as exc:
        return Outcome("failed", error=exc.reason, latency_ms=elapsed())
    except transport.TransportError as exc:
        return Outcome("failed", error=exc.reason, address=exc.address, latency_ms=elapsed())

    code = response.status
    common = dict(
        status_code=code, excerpt=_excerpt(response.body), address=response.address, latency_ms=response.elapsed_ms
    )
    if 200 <= code < 300:
        return Outcome("succeeded", **common)
    if code == 410:
        return Outcome("gone", error="410 Gone: the endpoint is marked gone; nothing more is sent to it", **common)
    retry_after = parse_retry_after(response.headers.get("retry-after"), now=now)
    if 300 <= code < 400:
        location = response.headers.get("location", "")[:500]
        error = f"redirect not followed (HTTP {code} to {location or 'no Location'})"
    else:
        error = f"HTTP {code}"
    if retry_after is not None:
        error += f" (Retry-After: {response.headers.get('retry-after')})"
    return Outcome("failed", error=error, retry_after=retry_after, **common)


def _record(
    delivery: CallbackDelivery,
    *,
    number: int,
    trigger: str,
    started_at: datetime,
    outcome: Outcome,
    body: str | None,
    expect: dict,
) -> str:
    """Write the attempt and move the delivery on, in one transaction; enqueue the next attempt
    after commit. ``expect`` is the delivery state this attempt holds (the claim)."""
    now = timezone.now()
    changes, next_at = _delivery_changes(delivery, number=number, outcome=outcome, now=now)
    if body is not None:
        changes["body"] = body
    with transaction.atomic():
        moved = CallbackDelivery.unscoped_objects.filter(pk=delivery.pk, **expect).update(**changes)
        if not moved:
            log.warning("callback %s attempt %s: delivery changed under it; not recorded", delivery.webhook_id, number)
            return "not recorded: the delivery changed meanwhile"
        CallbackAttempt.unscoped_objects.create(
            tenant_id=delivery.tenant_id,
            delivery=delivery,
            number=number,
            trigger=trigger,
            started_at=started_at,
            address=outcome.address,
            status_code=outcome.status_code,
            latency_ms=outcome.latency_ms,
            error=outcome.error,
            response_excerpt=outcome.excerpt,
            next_attempt_at=next_at,
        )
        if outcome.kind == "gone":
            _mark_endpoint_gone(delivery, now=now)
        if next_at is not None:
            transaction.on_commit(lambda: _enqueue(delivery.pk, number + 1, at=next_at))
    metrics.callback_attempt(outcome.kind)
    log.info(
        "callback %s attempt %s to %s: %s %s%s",
        delivery.webhook_id,
        number,
        delivery.url,
        outcome.kind,
        outcome.status_code or "",
        f" ({outcome.error})" if outcome.error else "",
    )
    return changes["status"]


def _delivery_changes(
    delivery: CallbackDelivery, *, number: int, outcome: Outcome, now: datetime
) -> tuple[dict, datetime | None]:
    """What attempt ``number``'s outcome changes on the delivery, and when the next attempt is due
    (None: the delivery is finished)."""
    changes: dict = {"claimed_at": None, "last_status_code": outcome.status_code, "last_error": outcome.error}
    finished = {"next_attempt_at": None, "finished_at": now}
    if outcome.kind == "succeeded":
        changes.update(status=Status.SUCCEEDED, **finished, last_error="")
        return changes, None
    if outcome.kind in ("gone", "refused"):
        changes.update(status=Status.ENDPOINT_GONE if outcome.kind == "gone" else Status.REFUSED, **finished)
        return changes, None
    delay = None
    if delivery.retrying:
        delay = next_delay(
            attempts_made=number,
            schedule=settings.CALLBACK_RETRY_SCHEDULE,
            jitter=settings.CALLBACK_RETRY_JITTER,
            retry_after=outcome.retry_after,
            retry_after_max=settings.CALLBACK_RETRY_AFTER_MAX,
            rng=random.SystemRandom(),
        )
    if delay is None:
        changes.update(status=Status.GAVE_UP, **finished)
        return changes, None
    next_at = now + timedelta(seconds=delay)
    changes.update(status=Status.PENDING, next_attempt_at=next_at)
    return changes, next_at


def _mark_endpoint_gone(delivery: CallbackDelivery, *, now: datetime) -> None:
    """A 410: nothing more goes to this URL of the project until an operator clears the mark."""
    endpoint, _ = CallbackEndpoint.unscoped_objects.get_or_create(
        project_id=delivery.project_id,
        url_sha256=url_digest(delivery.url),
        defaults={"tenant_id": delivery.tenant_id, "url": delivery.url},
    )
    endpoint.gone_at, endpoint.gone_webhook_id = now, delivery.webhook_id
    endpoint.save(update_fields=["gone_at", "gone_webhook_id"])


def callback_attempt_run(
    *, delivery_id: int, number: int, trigger: str = Trigger.SCHEDULE, resolve: Resolver | None = None
) -> str:
    """Make attempt ``number`` of a delivery: claim it on the row (so it is made once), sign the
    task object, POST it, log the attempt, schedule the next one or finish."""
    started_at = timezone.now()
    claimed = CallbackDelivery.unscoped_objects.filter(
        pk=delivery_id, status=Status.PENDING, attempts_count=number - 1
    ).update(status=Status.DELIVERING, attempts_count=number, claimed_at=started_at)
    if not claimed:
        return f"skipped: attempt {number} of delivery {delivery_id} is not due"
    delivery = CallbackDelivery.unscoped_objects.select_related("project").get(pk=delivery_id)
    expect = {"status": Status.DELIVERING, "attempts_count": number, "claimed_at": started_at}

    if _stopped_by_suspension(delivery, expect=expect, number=number):
        return Status.GAVE_UP
    gone = selectors.endpoint_gone_mark(project_id=delivery.project_id, url=delivery.url)
    if gone is not None:
        reason = (
            f"not sent: this URL answered 410 Gone at {gone.gone_at:%Y-%m-%d %H:%M:%S} UTC "
            f"(message {gone.gone_webhook_id}); an operator can clear the mark in the admin"
        )
        CallbackDelivery.unscoped_objects.filter(pk=delivery_id, **expect).update(
            status=Status.ENDPOINT_GONE,
            attempts_count=number - 1,
            claimed_at=None,
            next_attempt_at=None,
            finished_at=timezone.now(),
            last_error=reason,
        )
        log.warning("callback %s to %s %s", delivery.webhook_id, delivery.url, reason)
        return Status.ENDPOINT_GONE

    body = None
    try:
        body = _build_body(delivery)
        headers = webhook_headers(
            secrets=selectors.signing_secrets(project=delivery.project, now=started_at),
            msg_id=delivery.webhook_id,
            timestamp=started_at,
            body=body,
        )
        outcome = _send(delivery.url, body, headers, resolve=resolve or system_resolve, now=started_at)
    except Exception as exc:  # never leave the claim hanging: log the attempt as failed, retry later
        log.exception("callback %s attempt %s failed before an answer", delivery.webhook_id, number)
        outcome = Outcome("failed", error=f"internal error before sending ({type(exc).__name__})")
    return _record(
        delivery, number=number, trigger=trigger, started_at=started_at, outcome=outcome, body=body, expect=expect
    )


def _stopped_by_suspension(delivery: CallbackDelivery, *, expect: dict, number: int) -> bool:
    """A suspended tenant's callbacks stop (no more signed links go out for it), except the one of
    each task the suspension cancelled, which tells the receiver why."""
    task = Task.unscoped_objects.select_related("tenant").only("error_code", "tenant__status").get(pk=delivery.task_id)
    if task.tenant.is_active or task.error_code == "tenant_suspended":
        return False
    CallbackDelivery.unscoped_objects.filter(pk=delivery.pk, **expect).update(
        status=Status.GAVE_UP,
        attempts_count=number - 1,
        claimed_at=None,
        next_attempt_at=None,
        finished_at=timezone.now(),
        last_error="stopped: the account was suspended",
    )
    log.info("callback %s not sent: the tenant is suspended", delivery.webhook_id)
    return True


def callback_redeliver(*, delivery: CallbackDelivery) -> tuple[bool, str]:
    """Send a delivery again now, with the same webhook-id (receivers deduplicate on it).

    A pending delivery: its next scheduled attempt is made now, and the schedule goes on after it.
    A finished one (succeeded, gave up, refused, gone): one more attempt, no further retries.
    Returns (done, message for the operator)."""
    delivery.refresh_from_db()
    if delivery.status == Status.DELIVERING:
        return False, f"{delivery.webhook_id}: an attempt is in flight"
    if selectors.endpoint_gone_mark(project_id=delivery.project_id, url=delivery.url):
        return False, f"{delivery.webhook_id}: its endpoint is marked gone (410); clear the mark first"
    now = timezone.now()
    current = CallbackDelivery.unscoped_objects.filter(
        pk=delivery.pk, status=delivery.status, attempts_count=delivery.attempts_count
    )
    if delivery.status == Status.PENDING:
        moved = current.update(next_attempt_at=now)
    else:
        moved = current.update(status=Status.PENDING, retrying=False, next_attempt_at=now, finished_at=None)
    if not moved:
        return False, f"{delivery.webhook_id}: changed meanwhile, try again"
    number = delivery.attempts_count + 1
    transaction.on_commit(lambda: _enqueue(delivery.pk, number, trigger=Trigger.MANUAL))
    return True, f"{delivery.webhook_id}: attempt {number} queued"


def callbacks_recover(*, now: datetime | None = None) -> dict[str, int]:
    """Put back what Redis or a worker lost, from the database (the truth):

    - a pending delivery whose next attempt is overdue and has no job in Redis (a flush, a lost
      scheduled job) gets its job again;
    - an attempt in flight for longer than an attempt can take (its worker died) is logged as
      interrupted and the delivery goes on with its schedule.

    Safe to run at any time, from any number of processes. ``now`` can be moved on by tests."""
    now = now or timezone.now()
    counts = {"requeued": 0, "interrupted": 0}

    stale = CallbackDelivery.unscoped_objects.filter(
        status=Status.DELIVERING, claimed_at__lt=now - queues.stale_after()
    ).order_by("claimed_at")[:RECOVER_BATCH]
    for delivery in stale:
        outcome = Outcome(
            "failed", error="interrupted: the worker was lost during this attempt (the receiver may have got it)"
        )
        expect = {
            "status": Status.DELIVERING,
            "attempts_count": delivery.attempts_count,
            "claimed_at": delivery.claimed_at,
        }
        _record(
            delivery,
            number=delivery.attempts_count,
            trigger=Trigger.RECOVERED,
            started_at=delivery.claimed_at,
            outcome=outcome,
            body=None,
            expect=expect,
        )
        counts["interrupted"] += 1

    overdue = CallbackDelivery.unscoped_objects.filter(
        status=Status.PENDING, next_attempt_at__lte=now - RECOVER_GRACE
    ).order_by("next_attempt_at")[:RECOVER_BATCH]
    try:
        for delivery in overdue:
            number = delivery.attempts_count + 1
            if not queues.attempt_job_is_live(delivery.pk, number):
                queues.enqueue_attempt(delivery.pk, number, trigger=Trigger.RECOVERED)
                counts["requeued"] += 1
    except RedisError as exc:
        log.warning("callback recovery could not reach Redis: %s", exc)
    if any(counts.values()):
        log.info("callback recovery: %s", counts)
    return counts


def endpoint_clear_gone(*, endpoint: CallbackEndpoint) -> None:
    """Deliver to this URL again (deliveries skipped meanwhile can be redelivered from the admin)."""
    CallbackEndpoint.unscoped_objects.filter(pk=endpoint.pk).update(gone_at=None)


def webhook_secret_rotate(*, project: Project, actor=None) -> str:
    """Give the project a new webhook secret. The old one keeps signing (a second ``v1,``
    signature on every message) for CALLBACK_SECRET_ROTATION_GRACE seconds, so receivers can
    switch without losing a message. Rotating again within that time drops the oldest. An
    operator's rotation (``actor``) writes its audit row in the same transaction (never the secret)."""
    now = timezone.now()
    with transaction.atomic():
        locked = Project.unscoped_objects.select_for_update().get(pk=project.pk)
        secret = new_webhook_secret()
        Project.unscoped_objects.filter(pk=locked.pk).update(webhook_secret=secret)
        WebhookSecretRotation.unscoped_objects.update_or_create(
            project=locked,
            defaults={
                "tenant_id": locked.tenant_id,
                "previous_secret": canonical_secret(locked.webhook_secret),
                "previous_expires_at": now + timedelta(seconds=settings.CALLBACK_SECRET_ROTATION_GRACE),
                "rotated_at": now,
            },
        )
        audit_record(actor=actor, obj=locked, message="Webhook secret rotated.")
    project.webhook_secret = secret
    log.info("webhook secret of project %s rotated", project.pk)
    return secret

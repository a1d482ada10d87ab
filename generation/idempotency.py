"""Idempotent submits: the same ``Idempotency-Key`` and body within 24 h get the first task back,
and nothing new is written or charged; the same key with another body is 409
``idempotency_conflict``. Called by ``services.task_submit``, inside its transaction."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from django.utils import timezone
from imgplatform.problems import Problem

from generation.models import IdempotencyKey

IDEMPOTENCY_TTL = timedelta(hours=24)


def request_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def idempotent_task(*, tenant, key: str, body_hash: str):
    """The task an earlier submit with ``key`` made (same body), None if the key is new, older
    than 24 h or released, or 409 ``idempotency_conflict`` if the body differs.

    A key whose task failed on the server's side before it could run (``service_unavailable``,
    never started) counts as released even if its release was lost (the process died between
    the commit and the release): the client's retry with the same key runs, as Stripe's rule
    has it."""
    found = (
        IdempotencyKey.objects.for_tenant(tenant)
        .filter(key=key, created_at__gte=timezone.now() - IDEMPOTENCY_TTL)
        .select_related("task")
        .first()
    )
    if found is not None and _never_ran_for_the_server(found.task):
        idempotency_release(tenant=tenant, key=key, task=found.task)
        found = None
    if found is None:
        return None
    if found.request_hash != body_hash:
        raise Problem(
            "idempotency_conflict",
            "This Idempotency-Key was used in the last 24 hours with a different request body.",
            task_id=str(found.task_id),
        )
    return found.task


def _never_ran_for_the_server(task) -> bool:
    return task.error_code == "service_unavailable" and task.attempts == 0 and task.started_at is None


def idempotency_release(*, tenant, key: str, task) -> None:
    """Free ``key`` of a submit that ended in a server-side error before its task could run
    (Redis could not take the job): a retry with the same key then makes and runs a new task.
    The failed task keeps its record (and its callback); only the key stops pointing at it."""
    IdempotencyKey.objects.for_tenant(tenant).filter(key=key, task=task).delete()


def idempotency_record(*, tenant, key: str, body_hash: str, task) -> None:
    """Inside the submit transaction. A concurrent submit with the same key makes this raise
    IntegrityError, and the caller answers with the winner's task."""
    IdempotencyKey.objects.for_tenant(tenant).filter(key=key, created_at__lt=timezone.now() - IDEMPOTENCY_TTL).delete()
    IdempotencyKey.objects.for_tenant(tenant).create(tenant=tenant, key=key, request_hash=body_hash, task=task)

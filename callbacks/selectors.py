"""Reads for callbacks: deliveries of a task (within one tenant), signing secrets, endpoint marks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from accounts.models import Project, Tenant
from callbacks.models import CallbackAttempt, CallbackDelivery, CallbackEndpoint, WebhookSecretRotation, url_digest
from callbacks.signing import canonical_secret
from generation.models import Task


def delivery_list(*, tenant: Tenant, task: Task) -> QuerySet[CallbackDelivery]:
    """The deliveries of one of the tenant's tasks, each with its attempts (two queries)."""
    attempts = CallbackAttempt.objects.for_tenant(tenant).order_by("number")
    return (
        CallbackDelivery.objects.for_tenant(tenant)
        .filter(task=task)
        .prefetch_related(Prefetch("attempts", queryset=attempts))
        .order_by("created_at", "id")
    )


@dataclass(frozen=True)
class WebhookSecret:
    secret: str  # canonical whsec_ form, what Standard Webhooks libraries expect
    previous_secret_expires_at: datetime | None  # the old secret still signs until then
    rotated_at: datetime | None


def _rotation(project: Project) -> WebhookSecretRotation | None:
    return WebhookSecretRotation.unscoped_objects.filter(project_id=project.pk).first()


def webhook_secret_get(*, project: Project, now: datetime | None = None) -> WebhookSecret:
    now = now or timezone.now()
    rotation = _rotation(project)
    expires = rotation.previous_expires_at if rotation and rotation.previous_expires_at > now else None
    return WebhookSecret(
        secret=canonical_secret(project.webhook_secret),
        previous_secret_expires_at=expires,
        rotated_at=rotation.rotated_at if rotation else None,
    )


def signing_secrets(*, project: Project, now: datetime | None = None) -> list[str]:
    """The secrets a message is signed with: the current one, and the previous one during a
    rotation's grace period."""
    now = now or timezone.now()
    secrets = [canonical_secret(project.webhook_secret)]
    rotation = _rotation(project)
    if rotation and rotation.previous_expires_at > now:
        secrets.append(canonical_secret(rotation.previous_secret))
    return secrets


def endpoint_gone_mark(*, project_id: int, url: str) -> CallbackEndpoint | None:
    """The 410 mark on this project's URL, if it has one."""
    return CallbackEndpoint.unscoped_objects.filter(
        project_id=project_id, url_sha256=url_digest(url), gone_at__isnull=False
    ).first()

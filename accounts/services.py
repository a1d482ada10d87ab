"""Writes for tenants, projects and keys. Keyword-only arguments, one transaction each."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import ApiKey, Project, Tenant, TenantStatusChange


def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    raw_key: str  # shown once; never stored


def api_key_create(*, project: Project, name: str = "", expires_at: datetime | None = None) -> IssuedKey:
    key = ApiKey(tenant_id=project.tenant_id, project=project, name=name, expires_at=expires_at)
    raw = f"{key.display_prefix}_{secrets.token_urlsafe(32)}"
    key.secret_hash = hash_api_key(raw)
    key.save()
    return IssuedKey(api_key=key, raw_key=raw)


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def _unique_slug(name: str) -> str:
    base = slugify(name)[:60] or "tenant"
    slug, n = base, 1
    while Tenant.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@dataclass(frozen=True)
class CreatedTenant:
    tenant: Tenant
    project: Project
    key: IssuedKey


@transaction.atomic
def tenant_create(*, name: str, project_name: str = "Default project", key_name: str = "default") -> CreatedTenant:
    """A tenant with its first project and API key."""
    tenant = Tenant.objects.create(name=name, slug=_unique_slug(name))
    project = Project.unscoped_objects.create(tenant=tenant, name=project_name)
    return CreatedTenant(tenant=tenant, project=project, key=api_key_create(project=project, name=key_name))


# --- Suspension --------------------------------------------------------------------------------
SUSPENDED_DETAIL = "The account was suspended before this task started; it was cancelled and nothing was charged."


@dataclass(frozen=True)
class Suspension:
    changed: bool  # False: the tenant was suspended already
    tasks_cancelled: int
    callbacks_stopped: int


def tenant_suspend(*, tenant: Tenant, actor: str = "", reason: str = "") -> Suspension:
    """Suspend ``tenant``: its keys are refused from now on (authentication reads the status), and
    in the same transaction, with its row locked (so no worker starts one of its tasks meanwhile:
    generation/scheduling.py locks it too), its queued tasks end cancelled with
    ``tenant_suspended``: free, their holds released, one callback each saying why. Its pending
    callback retries stop, and image links stop serving while it is suspended (links minted
    meanwhile never serve). An audit row records who, why and what stopped. Running tasks finish.
    Reactivation does not bring cancelled tasks back (cancelled is final)."""
    from generation import services as generation

    with transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if locked.status == Tenant.Status.SUSPENDED:
            return Suspension(changed=False, tasks_cancelled=0, callbacks_stopped=0)
        Tenant.objects.filter(pk=tenant.pk).update(status=Tenant.Status.SUSPENDED)
        cancelled = generation.tasks_cancel_for_suspension(tenant=locked, detail=SUSPENDED_DETAIL)
        stopped = _callbacks_stop(locked)
        TenantStatusChange.objects.for_tenant(locked).create(
            tenant=locked,
            status=Tenant.Status.SUSPENDED,
            actor=actor[:150],
            reason=reason[:500],
            tasks_cancelled=cancelled,
            callbacks_stopped=stopped,
        )
    tenant.status = Tenant.Status.SUSPENDED
    return Suspension(changed=True, tasks_cancelled=cancelled, callbacks_stopped=stopped)


def tenant_reactivate(*, tenant: Tenant, actor: str = "", reason: str = "") -> bool:
    """Its keys work again; nothing it had queued comes back (those tasks stay cancelled)."""
    with transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if locked.status == Tenant.Status.ACTIVE:
            return False
        Tenant.objects.filter(pk=tenant.pk).update(status=Tenant.Status.ACTIVE)
        TenantStatusChange.objects.for_tenant(locked).create(
            tenant=locked, status=Tenant.Status.ACTIVE, actor=actor[:150], reason=reason[:500]
        )
    tenant.status = Tenant.Status.ACTIVE
    return True


def _callbacks_stop(tenant: Tenant) -> int:
    """The tenant's callbacks still retrying end (``gave_up``, saying why); those of the tasks the
    suspension cancels are made after this, and are sent."""
    from callbacks.models import CallbackDelivery

    pending = CallbackDelivery.objects.for_tenant(tenant).filter(
        status__in=[CallbackDelivery.Status.PENDING, CallbackDelivery.Status.DELIVERING]
    )
    return pending.update(
        status=CallbackDelivery.Status.GAVE_UP,
        next_attempt_at=None,
        claimed_at=None,
        finished_at=timezone.now(),
        last_error="stopped: the account was suspended",
    )


def minted_while_suspended(*, tenant_id: int, minted_at: datetime) -> bool:
    """Whether ``tenant_id`` was suspended at ``minted_at`` (from the audit rows), or is now."""
    if Tenant.objects.filter(pk=tenant_id, status=Tenant.Status.SUSPENDED).exists():
        return True
    last = (
        TenantStatusChange.unscoped_objects.filter(tenant_id=tenant_id, created_at__lte=minted_at)
        .order_by("-created_at", "-id")
        .values_list("status", flat=True)
        .first()
    )
    return last == Tenant.Status.SUSPENDED

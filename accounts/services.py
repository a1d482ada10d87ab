"""Writes for tenants, projects and keys. Keyword-only arguments, one transaction each.

Operator actions (suspend, reactivate, revoke; and in other apps rotating a webhook secret or
assigning a plan) take the ``actor`` (the staff user) and write their audit row, the admin's
history entry (``LogEntry``), in the same transaction as the change: :func:`audit_record`."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.contrib.admin.models import CHANGE, LogEntry
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import ApiKey, Project, Tenant, all_scopes, validate_scopes


def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    raw_key: str  # shown once; never stored


def api_key_create(
    *,
    project: Project,
    name: str = "",
    expires_at: datetime | None = None,
    scopes: list[str] | None = None,
    tenant_wide: bool = False,
    rate_limit_per_minute: int | None = None,
) -> IssuedKey:
    """A new key for ``project``: every scope unless ``scopes`` names fewer; bound to the project
    unless ``tenant_wide`` (the named exception). Raises ValidationError for unknown scopes."""
    scopes = all_scopes() if scopes is None else list(scopes)
    validate_scopes(scopes)
    scopes = [scope for scope in all_scopes() if scope in scopes]  # one order, no repeats
    key = ApiKey(
        tenant_id=project.tenant_id,
        project=project,
        name=name,
        expires_at=expires_at,
        scopes=scopes,
        tenant_wide=tenant_wide,
        rate_limit_per_minute=rate_limit_per_minute,
    )
    raw = f"{key.display_prefix}_{secrets.token_urlsafe(32)}"
    key.secret_hash = hash_api_key(raw)
    key.save()
    return IssuedKey(api_key=key, raw_key=raw)


def audit_record(*, actor, obj, message: str, flag: int = CHANGE) -> None:
    """The audit row of an operator action on ``obj``: an entry of the admin's history, written in
    the caller's transaction (so the change and its record commit or roll back together). No
    ``actor`` (a command or a job acting for the system): no row, its log line is the record."""
    if actor is None:
        return
    LogEntry.objects.log_actions(
        user_id=actor.pk, queryset=[obj], action_flag=flag, change_message=message, single_object=True
    )


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor=None) -> ApiKey:
    """Refuse the key from the next request on. Revoking a revoked key changes (and records) nothing."""
    if ApiKey.unscoped_objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()):
        audit_record(actor=actor, obj=api_key, message="Revoked.")
    api_key.refresh_from_db(fields=["revoked_at"])
    return api_key


def _tenant_status_set(*, tenant: Tenant, actor, to: str, message: str) -> bool:
    changed = Tenant.objects.filter(pk=tenant.pk).exclude(status=to).update(status=to) == 1
    tenant.status = to
    if changed:
        audit_record(actor=actor, obj=tenant, message=message)
    return changed


@transaction.atomic
def suspend_tenant(*, tenant: Tenant, actor=None) -> bool:
    """Suspend ``tenant``: its keys get 403 from the next request (authentication reads the
    status every time). True if it was active. Its audit row is written in the same transaction."""
    return _tenant_status_set(tenant=tenant, actor=actor, to=Tenant.Status.SUSPENDED, message="Suspended.")


@transaction.atomic
def reactivate_tenant(*, tenant: Tenant, actor=None) -> bool:
    """Let a suspended tenant's keys work again. True if it was suspended."""
    return _tenant_status_set(tenant=tenant, actor=actor, to=Tenant.Status.ACTIVE, message="Reactivated.")


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
def project_create(*, tenant: Tenant, name: str, key_name: str = "default") -> tuple[Project, IssuedKey]:
    """A new project of ``tenant`` with its first (project-bound, every scope) API key."""
    project = Project.objects.for_tenant(tenant).create(tenant=tenant, name=name)
    return project, api_key_create(project=project, name=key_name)


@transaction.atomic
def tenant_create(*, name: str, project_name: str = "Default project", key_name: str = "default") -> CreatedTenant:
    """A tenant with its first project and API key."""
    tenant = Tenant.objects.create(name=name, slug=_unique_slug(name))
    project = Project.unscoped_objects.create(tenant=tenant, name=project_name)
    return CreatedTenant(tenant=tenant, project=project, key=api_key_create(project=project, name=key_name))

from __future__ import annotations

import base64
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from imgplatform.publicids import to_public

from accounts.tenancy import TenantOwned
from moderation.policy import policy_errors


class Tenant(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        SUSPENDED = "suspended"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)

    # Limits: empty means the deployment's default (settings, see the README, "Limits").
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)],
        help_text="API requests per minute of the tenant, all its keys together. Empty: RATE_LIMIT_PER_MINUTE.",
    )  # fmt: skip
    max_queued_tasks = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)],
        help_text="Tasks waiting to start at once; a submit beyond is 429. Empty: TENANT_MAX_QUEUED_TASKS.",
    )  # fmt: skip
    max_running_tasks = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)],
        help_text="Tasks generating at once on all workers; the rest wait. Empty: TENANT_MAX_RUNNING_TASKS.",
    )  # fmt: skip
    max_sync_waits = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)],
        help_text="/task/sync requests waiting at once; beyond, /sync answers 202 at once. "
        "Empty: TENANT_MAX_SYNC_WAITS.",
    )  # fmt: skip

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Scope(models.TextChoices):
    """What an API key may do (docs/architecture.md maps every route to one)."""

    GENERATE = "generate", "generate: submit, quote, cancel"
    READ = "read", "read: tasks, their events and callbacks"
    BILLING = "billing", "billing: usage and invoices"
    WEBHOOKS = "webhooks", "webhooks: read and rotate the webhook secret"


def all_scopes() -> list[str]:
    return list(Scope.values)


def validate_scopes(value) -> None:
    if not isinstance(value, list) or not value or any(scope not in Scope.values for scope in value):
        raise ValidationError(f"A non-empty list of scopes out of {', '.join(Scope.values)}.")


def new_key_id() -> str:
    return secrets.token_hex(6)


def new_webhook_secret() -> str:
    """A project's webhook secret (a new project's, and each rotation's): ``whsec_`` and standard
    base64 of 32 random bytes, the form Standard Webhooks libraries expect (callbacks/signing.py;
    projects made before callbacks have a base64url one, used in its canonical form)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def validate_moderation_policy(value) -> None:
    errors = policy_errors(value)
    if errors:
        raise ValidationError(errors)


class Project(TenantOwned):
    """A tenant's project. Hive's ``project_id`` is :attr:`public_id`, not the primary key (that
    is a platform-wide counter; see platform/publicids.py)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="projects")
    name = models.CharField(max_length=200)
    model = models.CharField(
        max_length=64, blank=True, default="", help_text="Model to generate with; empty means the deployment's default."
    )
    webhook_secret = models.CharField(max_length=100, default=new_webhook_secret)

    @property
    def public_id(self) -> int | None:
        """The ``project_id`` customers see (tasks, usage, invoices, the list filter)."""
        return to_public("project", self.pk)

    retention_days = models.PositiveIntegerField(default=30)
    moderation_policy = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_moderation_policy],
        help_text=(
            'Own prompt terms and image thresholds, e.g. {"image_thresholds": {"FACE_FEMALE": 0.5}, '
            '"terms": {"violence": ["laser sword"]}, "allow": ["nude study"]}. See the README, "Moderation".'
        ),
    )
    monthly_spend_cap = models.DecimalField(
        max_digits=14, decimal_places=5, null=True, blank=True, help_text="Monthly spend cap of this project"
    )
    end_user_monthly_cap = models.DecimalField(
        max_digits=14,
        decimal_places=5,
        null=True,
        blank=True,
        help_text="Monthly spend cap of each end user (options.end_user) of this project",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantOwned.Meta):
        pass

    def __str__(self) -> str:
        return f"{self.tenant.name} / {self.name}"

    def tenant_change_refusal(self) -> str | None:
        """Why this project may not move to the tenant it now names, or None. A project with keys
        or tasks stays with its tenant: its keys, tasks, ledger and rollups all name that tenant,
        and a half-moved project would show one tenant's tasks to another's keys."""
        if self.pk is None:
            return None
        before = Project.unscoped_objects.filter(pk=self.pk).values_list("tenant_id", flat=True).first()
        if before is None or before == self.tenant_id:
            return None
        if self.api_keys.exists() or self.tasks.exists():
            return (
                "This project has API keys or tasks, which belong to its tenant: it cannot move to another "
                "tenant. Create a project in the other tenant instead."
            )
        return None

    def clean(self) -> None:
        super().clean()
        refusal = self.tenant_change_refusal()
        if refusal:
            raise ValidationError({"tenant": refusal})

    def save(self, *args, **kwargs) -> None:
        refusal = self.tenant_change_refusal()  # also for code that saves without the form
        if refusal:
            raise ValidationError({"tenant": refusal})
        super().save(*args, **kwargs)


class Membership(TenantOwned):
    class Role(models.TextChoices):
        OWNER = "owner"
        ADMIN = "admin"
        DEVELOPER = "developer"
        VIEWER = "viewer"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.DEVELOPER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantOwned.Meta):
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_user")]


class ApiKey(TenantOwned):
    """An API key: ``igk_<key_id>_<secret>``. Only the SHA-256 of the whole key is stored; the key
    itself is shown once, when it is created."""

    PREFIX = "igk_"
    Scope = Scope

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=200, blank=True, default="")
    key_id = models.CharField(max_length=32, unique=True, default=new_key_id, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    scopes = models.JSONField(default=all_scopes, validators=[validate_scopes], help_text="What the key may do.")
    tenant_wide = models.BooleanField(
        default=False,
        help_text="Reads and acts on every project's tasks of the tenant. Off (the default): only its own "
        "project's; another project's task is 404.",
    )
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)],
        help_text="Requests per minute of this key, within the tenant's own limit. Empty: only the tenant's.",
    )  # fmt: skip

    class Meta(TenantOwned.Meta):
        verbose_name = "API key"

    def __str__(self) -> str:
        return self.display_prefix

    @property
    def public_id(self) -> int | None:
        """The ``user_id`` of the tasks this key submits."""
        return to_public("api_key", self.pk)

    @property
    def display_prefix(self) -> str:
        """The recognisable, non-secret start of the key, e.g. ``igk_3f9a1c2b7d4e``."""
        return f"{self.PREFIX}{self.key_id}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or ())

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())


class TenantStatusChange(TenantOwned):
    """Audit row of every suspension and reactivation (accounts.services.tenant_suspend and
    tenant_reactivate): who, when, why, and what the suspension cancelled. Image links minted while
    a tenant was suspended never serve (generation/storage.py)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="status_changes")
    status = models.CharField(max_length=16, choices=Tenant.Status.choices)
    actor = models.CharField(max_length=150, blank=True, default="")
    reason = models.CharField(max_length=500, blank=True, default="")
    tasks_cancelled = models.PositiveIntegerField(default=0)
    callbacks_stopped = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta(TenantOwned.Meta):
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.tenant} {self.status} at {self.created_at:%Y-%m-%d %H:%M:%S}"

"""Callback deliveries, their attempts, endpoints that answered 410, and webhook secret rotation.

A delivery is one message (one ``webhook-id``) about one finished task; every try to send it is an
attempt row. The delivery row is the truth: Redis only carries the jobs that make the attempts,
and a sweep (``callbacks_recover``) puts back any job that Redis lost.
"""

from __future__ import annotations

import hashlib
import uuid

from django.db import models
from django.utils import timezone

from accounts.models import Project, Tenant
from accounts.tenancy import TenantOwned


def new_webhook_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def url_digest(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


class CallbackDelivery(TenantOwned):
    class Status(models.TextChoices):
        PENDING = "pending", "pending (next attempt scheduled)"
        DELIVERING = "delivering", "delivering (an attempt is in flight)"
        SUCCEEDED = "succeeded", "succeeded (2xx)"
        GAVE_UP = "gave_up", "gave up (every scheduled attempt failed)"
        ENDPOINT_GONE = "endpoint_gone", "endpoint gone (410)"
        REFUSED = "refused", "refused (URL not allowed)"

    FINAL = (Status.SUCCEEDED, Status.GAVE_UP, Status.ENDPOINT_GONE, Status.REFUSED)

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="callback_deliveries")
    task = models.ForeignKey("generation.Task", on_delete=models.CASCADE, related_name="callback_deliveries")
    webhook_id = models.CharField(max_length=64, unique=True, default=new_webhook_id, editable=False)
    task_finished_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The end of the task this message reports (a task retried by an operator ends again)",
    )
    event_type = models.CharField(max_length=32, help_text="task.succeeded, task.failed, task.blocked, task.cancelled")
    url = models.URLField(max_length=2048)
    body = models.TextField(blank=True, default="", help_text="The JSON body of the latest attempt, as signed")

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    retrying = models.BooleanField(
        default=True, help_text="A failed attempt schedules the next one (off for a redelivery of a finished one)"
    )
    attempts_count = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="When the attempt in flight started")
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwned.Meta):
        verbose_name_plural = "callback deliveries"
        ordering = ["-created_at", "-id"]
        constraints = [
            # One message per end of a task: a replayed job can never make a second one; a task
            # retried by an operator ends again, and that end gets its own message (webhook-id).
            models.UniqueConstraint(fields=["task", "task_finished_at"], name="callback_delivery_one_per_task_end"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="callback_delivery_due")]

    def __str__(self) -> str:
        return self.webhook_id

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL


class CallbackAttempt(TenantOwned):
    class Trigger(models.TextChoices):
        SCHEDULE = "schedule"
        MANUAL = "manual", "manual (redelivered from the admin)"
        RECOVERED = "recovered", "recovered (its job was lost)"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    delivery = models.ForeignKey(CallbackDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.SCHEDULE)
    started_at = models.DateTimeField()
    address = models.CharField(max_length=64, blank=True, default="", help_text="The IP address connected to")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    response_excerpt = models.TextField(blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwned.Meta):
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="callback_attempt_unique_number")]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class CallbackEndpoint(TenantOwned):
    """A project's callback URL that answered 410 Gone: nothing more is sent to it until an
    operator clears the mark in the admin."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="callback_endpoints")
    url = models.URLField(max_length=2048)
    url_sha256 = models.CharField(max_length=64, editable=False)
    gone_at = models.DateTimeField(null=True, blank=True)
    gone_webhook_id = models.CharField(max_length=64, blank=True, default="", help_text="The delivery that got 410")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantOwned.Meta):
        constraints = [
            models.UniqueConstraint(fields=["project", "url_sha256"], name="callback_endpoint_unique_url"),
        ]

    def __str__(self) -> str:
        return self.url

    def save(self, *args, **kwargs):
        self.url_sha256 = url_digest(self.url)
        super().save(*args, **kwargs)


class WebhookSecretRotation(TenantOwned):
    """The secret a project had before its last rotation, still signed with until it expires.
    The current secret stays on ``Project.webhook_secret``."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="webhook_secret_rotation")
    previous_secret = models.CharField(max_length=100)
    previous_expires_at = models.DateTimeField()
    rotated_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantOwned.Meta):
        pass

    def __str__(self) -> str:
        return f"rotation of project {self.project_id}"

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone

from accounts.models import ApiKey, Project, Tenant
from accounts.tenancy import TenantOwned
from generation.options import billable_images
from generation.search import prompt_vector


class Task(TenantOwned):
    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    FINAL_STATES = (State.SUCCEEDED, State.FAILED, State.CANCELLED)

    class Moderation(models.TextChoices):
        STRICT = "strict"
        PARTIAL = "partial"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="tasks")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="tasks")
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)

    # The request, as validated.
    text_data = models.TextField()
    neg_text = models.TextField(blank=True, default="")
    num_images = models.PositiveSmallIntegerField()
    seed = models.BigIntegerField(help_text="Base seed: image i uses (seed + i) mod 2**32.")
    seed_given = models.BooleanField(default=False)
    moderation = models.CharField(max_length=16, choices=Moderation.choices, default=Moderation.STRICT)
    end_user = models.CharField(max_length=128, blank=True, default="")
    callback_url = models.URLField(max_length=2048, blank=True, default="")
    metadata = models.JSONField(null=True, blank=True)
    sync = models.BooleanField(default=False, help_text="Submitted through /task/sync.")

    # The customer's choices (generation/options.py); the model's defaults where not given.
    width = models.PositiveIntegerField(default=1024, help_text="Width of the images delivered")
    height = models.PositiveIntegerField(default=1024, help_text="Height of the images delivered")
    output_format = models.CharField(max_length=8, default="png")
    output_quality = models.PositiveSmallIntegerField(null=True, blank=True, help_text="jpeg/webp quality")
    steps = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty: the model's default")
    guidance = models.FloatField(null=True, blank=True, help_text="Empty: the model's default")
    partial_images = models.PositiveSmallIntegerField(
        default=0, help_text="Previews from intermediate latents, published while it runs (OpenAI stream)"
    )
    options_given = models.JSONField(
        default=dict, blank=True, help_text="The choices as the customer sent them (echoed in the task's options)"
    )

    # How it ran.
    model = models.CharField(max_length=64)
    model_version = models.CharField(max_length=128, blank=True, default="")
    run_info = models.JSONField(
        default=dict, blank=True, help_text="scheduler, steps, guidance, device, dtype, batches"
    )
    timings_ms = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    worker_name = models.CharField(max_length=200, blank=True, default="")
    job_id = models.CharField(max_length=64, blank=True, default="")
    lease_expires_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="While running: the worker renews this lease; once it has expired the reconciler takes the task back",
    )

    # How it ended.
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_detail = models.TextField(blank=True, default="")
    moderation_report = models.JSONField(
        default=dict, blank=True, help_text="prompt verdict, detectors used, images withheld"
    )
    images_delivered = models.PositiveSmallIntegerField(default=0)
    charge = models.DecimalField(max_digits=14, decimal_places=5, default=Decimal("0"))
    billing_mode = models.CharField(
        max_length=16,
        blank=True,
        default="",
        help_text="The tenant's billing mode when the task was admitted (prepaid: held on and captured from "
        "credit; postpaid: invoiced); a later change of the mode does not apply to it. Empty: not admitted.",
    )
    hold_amount = models.DecimalField(
        max_digits=14,
        decimal_places=5,
        default=Decimal("0"),
        help_text="Worst-case price at submit: held on prepaid credit, counted against caps until the task ends",
    )

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwned.Meta):
        indexes = [
            models.Index(fields=["tenant", "-created_at", "-id"], name="task_tenant_created"),
            models.Index(fields=["tenant", "state", "-created_at"], name="task_tenant_state"),
            # The reconciler's sweeps: running tasks by lease, queued ones by age.
            models.Index(fields=["state", "lease_expires_at"], name="task_state_lease"),
            models.Index(fields=["state", "created_at"], name="task_state_created"),
            # The operator's list and failures page (generation/admin.py, console/metrics.py): the
            # newest tasks of an error code or a model, and prompt words (PostgreSQL full text).
            models.Index(
                fields=["error_code", "-created_at"], condition=~models.Q(error_code=""), name="task_code_created"
            ),
            models.Index(fields=["model", "-created_at"], name="task_model_created"),
            GinIndex(prompt_vector(), name="task_prompt_search"),
        ]

    def __str__(self) -> str:
        return str(self.id)

    @property
    def is_final(self) -> bool:
        return self.state in self.FINAL_STATES

    def image_seed(self, index: int) -> int:
        return (self.seed + index) % 2**32

    @property
    def billable_per_image(self) -> int:
        """Images each delivered image is billed as: ceil(pixels / 1,048,576), at least 1."""
        return billable_images(self.width, self.height)

    @property
    def price_factor(self) -> Decimal:
        """The model's price relative to the plan's (1 for a model this deployment no longer has)."""
        spec = settings.MODEL_REGISTRY.get(self.model)
        return spec.price if spec else Decimal(1)


class Image(TenantOwned):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="images")
    index = models.PositiveSmallIntegerField()
    seed = models.BigIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    storage_path = models.CharField(
        max_length=500, blank=True, default="", help_text="Empty for an image that was not delivered (never stored)."
    )
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveIntegerField()
    flagged = models.BooleanField(default=False, help_text="Blocked by image moderation; never stored or linked.")
    moderation = models.JSONField(default=dict, blank=True, help_text="decision, flagged labels, thresholds, scores")
    created_at = models.DateTimeField(default=timezone.now)
    expired_at = models.DateTimeField(
        null=True, blank=True, help_text="When retention deleted its file (the row stays, its link answers 410)"
    )

    @property
    def delivered(self) -> bool:
        return bool(self.storage_path) and not self.flagged

    class Meta(TenantOwned.Meta):
        ordering = ["index"]
        constraints = [models.UniqueConstraint(fields=["task", "index"], name="image_unique_index")]
        # Moderation blocks of the console (generation/rollups.py): the few flagged images of some tasks.
        indexes = [models.Index(fields=["task"], condition=models.Q(flagged=True), name="image_flagged_task")]

    def __str__(self) -> str:
        return self.storage_path


class FairShare(models.Model):
    """Fair scheduling (generation/scheduling.py): how far a tenant has been served on one queue, in
    images divided by its plan's weight (its *pass*)."""

    queue = models.CharField(max_length=64)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    vpass = models.FloatField(default=0.0, help_text="Virtual time at which this tenant's next task would start")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["queue", "tenant"], name="fair_share_unique_tenant")]


class FairClock(models.Model):
    """Fair scheduling: the virtual time of one queue, the turn of the task that started last. A
    tenant that was idle comes back at this time."""

    queue = models.CharField(max_length=64, primary_key=True)
    clock = models.FloatField(default=0.0)


class IdempotencyKey(TenantOwned):
    """A submit's ``Idempotency-Key`` and the task it made (generation/idempotency.py). The table
    was billing's (``billing_idempotencykey``) when idempotent submits were kept there; it moved
    with its model, and kept its name."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantOwned.Meta):
        db_table = "billing_idempotencykey"
        constraints = [models.UniqueConstraint(fields=["tenant", "key"], name="idempotency_unique_key")]


# --- Hourly rollups of ended tasks, for the operator's pages (generation/rollups.py) -------------
class RollupHour(models.Model):
    """One hour (UTC) of task creation and whether its rollups are written. ``done``: every task
    created in it had ended and its rows below are the whole hour; otherwise the hour is read from
    the tasks themselves. A retry that takes a task of a done hour back to queued makes it pending
    again in the same transaction."""

    hour = models.DateTimeField(primary_key=True)
    done = models.BooleanField(default=False)
    checked_at = models.DateTimeField(null=True, blank=True, help_text="When a rollup run last looked at the hour")


class Span(models.TextChoices):
    HOUR = "hour"
    DAY = "day"  # the sum of a day's 24 hour rows, written once all 24 are done


class TaskRollup(models.Model):
    """The tasks created in one done hour (or day), per tenant, model, final state and error code."""

    hour = models.DateTimeField(help_text="The hour, or the day's first hour for a day row")
    span = models.CharField(max_length=4, choices=Span.choices, default=Span.HOUR)
    # No foreign key constraint: its check at commit would take a share lock on the tenant's row,
    # which submits and retries lock for update (a retry that waits on this hour's row deadlocked).
    tenant = models.ForeignKey(Tenant, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
    model = models.CharField(max_length=64)
    state = models.CharField(max_length=16)
    error_code = models.CharField(max_length=64, blank=True, default="")
    tasks = models.PositiveIntegerField(default=0)
    images = models.PositiveIntegerField(default=0, help_text="Images delivered")
    charge = models.DecimalField(max_digits=14, decimal_places=5, default=Decimal("0"))
    started = models.PositiveIntegerField(default=0, help_text="Tasks a worker started")
    wait_ms = models.FloatField(default=0.0, help_text="Sum of started_at - created_at of the started tasks")
    wait_ms_max = models.FloatField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "span", "tenant", "model", "state", "error_code"], name="task_rollup_key"
            )
        ]


class StageRollup(models.Model):
    """How many tasks of one done hour took each stage's time, in log buckets (bucket 0: under 1 ms;
    bucket b: [r^(b-1), r^b) ms with r = 2^(1/8), so 8 buckets per doubling)."""

    hour = models.DateTimeField()
    span = models.CharField(max_length=4, choices=Span.choices, default=Span.HOUR)
    stage = models.CharField(max_length=32)
    bucket = models.SmallIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hour", "span", "stage", "bucket"], name="stage_rollup_key")]


class ModerationRollup(models.Model):
    """Moderation blocks among the tasks of one done hour: ``prompt`` categories and ``rule``s of
    blocked prompts, ``image`` labels of flagged images (with the tasks they belong to)."""

    hour = models.DateTimeField()
    span = models.CharField(max_length=4, choices=Span.choices, default=Span.HOUR)
    kind = models.CharField(max_length=8)
    name = models.CharField(max_length=200)
    tasks = models.PositiveIntegerField(default=0)
    images = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hour", "span", "kind", "name"], name="moderation_rollup_key")]

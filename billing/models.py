"""Plans, the usage ledger, prepaid credit, rollups and invoices. Money is Decimal with five
places (prices per image are fractions of a cent); one currency per tenant."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from imgplatform.money import MONEY, ZERO
from imgplatform.publicids import to_public

from accounts.models import Project, Tenant
from accounts.tenancy import TenantOwned


class Plan(models.Model):
    """Price per image in monthly volume tiers. The k-th image a tenant receives in a month costs
    nothing while k <= included_images, then the price of the tier k falls in."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    currency = models.CharField(max_length=3, default="USD")
    included_images = models.PositiveIntegerField(default=0, help_text="Free images per month")
    monthly_cap = models.DecimalField(
        **MONEY, null=True, blank=True, help_text="Default monthly spend cap of its tenants (empty: none)"
    )
    is_default = models.BooleanField(default=False, help_text="The plan of tenants that have none assigned")
    scheduling_weight = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1)],
        help_text="Share of the generation workers while tenants wait: a tenant on a plan of weight 2 gets "
        "twice the images of one on weight 1 (fair scheduling, docs/reliability.md)",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=models.Q(is_default=True), name="one_default_plan")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"

    def save(self, *args, **kwargs) -> None:
        if self.scheduling_weight is None:  # cleared in the admin's form: the default weight
            self.scheduling_weight = 1
        super().save(*args, **kwargs)


class PriceTier(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="tiers")
    up_to = models.PositiveIntegerField(
        null=True, blank=True, help_text="Last monthly image (cumulative) at this price; empty for the last tier"
    )
    unit_price = models.DecimalField(**MONEY)

    class Meta:
        ordering = [models.F("up_to").asc(nulls_last=True)]
        constraints = [models.UniqueConstraint(fields=["plan", "up_to"], name="tier_unique_bound")]

    def __str__(self) -> str:
        return f"up to {self.up_to or '∞'}: {self.unit_price}"


class TenantPlan(TenantOwned):
    """A tenant's plan from ``starts_at``; the newest assignment that has started applies. Old
    rows stay: the history of what applied when."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="plan_assignments")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="assignments")
    starts_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantOwned.Meta):
        ordering = ["-starts_at", "-id"]


class BillingAccount(TenantOwned):
    class Mode(models.TextChoices):
        POSTPAID = "postpaid"
        PREPAID = "prepaid"

    tenant = models.OneToOneField(Tenant, on_delete=models.PROTECT, related_name="billing")
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.POSTPAID)
    monthly_cap = models.DecimalField(**MONEY, null=True, blank=True, help_text="Monthly spend cap; empty: the plan's")
    credit_balance = models.DecimalField(**MONEY, default=ZERO, help_text="Prepaid credit owned")
    credit_held = models.DecimalField(**MONEY, default=ZERO, help_text="Held for tasks not finished yet")
    plan_version = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Goes up with every change of the prices that apply to the tenant (a plan assigned, a plan "
        "edited), in the transaction that makes it: a submit that read the prices before locking this row "
        "reads them again if it moved",
    )

    class Meta(TenantOwned.Meta):
        pass

    def __str__(self) -> str:
        return f"{self.tenant} ({self.mode})"

    @property
    def credit_available(self) -> Decimal:
        return self.credit_balance - self.credit_held


class CreditEntry(TenantOwned):
    """Every movement of prepaid credit. balance = grants + adjustments - captures; held = holds -
    captures - releases of the same tasks."""

    class Kind(models.TextChoices):
        GRANT = "grant"
        ADJUST = "adjust"
        HOLD = "hold"
        CAPTURE = "capture"
        RELEASE = "release"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="credit_entries")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.DecimalField(**MONEY)
    task = models.ForeignKey("generation.Task", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    hold_number = models.PositiveSmallIntegerField(
        default=1,
        help_text="Which hold of the task this entry belongs to: 1 from the submit, 2 after an operator's retry, ...",
    )
    note = models.CharField(max_length=200, blank=True, default="")
    created_by = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantOwned.Meta):
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "kind", "hold_number"],
                condition=models.Q(task__isnull=False),
                name="credit_once_per_task_hold_kind",
            )
        ]


class UsageRecord(TenantOwned):
    """The ledger: one row per billed task (unique), written in the transaction that finishes it."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="usage_records")
    task = models.OneToOneField("generation.Task", on_delete=models.PROTECT, related_name="usage")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="+")
    end_user = models.CharField(max_length=128, blank=True, default="")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    period = models.DateField(help_text="First day of the month billed")
    day = models.DateField()
    images = models.PositiveIntegerField()
    unit_price = models.DecimalField(**MONEY, help_text="Price of the task's last image (see lines for each tier)")
    tier = models.PositiveSmallIntegerField(help_text="Tier of the task's last image (0: included)")
    amount = models.DecimalField(**MONEY)
    billing_mode = models.CharField(
        max_length=16,
        choices=BillingAccount.Mode.choices,
        default=BillingAccount.Mode.POSTPAID,
        help_text="The task's billing mode (the one it was admitted under): prepaid is captured from credit, "
        "postpaid is invoiced; never both",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantOwned.Meta):
        indexes = [models.Index(fields=["tenant", "period"], name="usage_tenant_period")]


class UsageLine(TenantOwned):
    """The images of one ledger row at one tier (a task can cross a tier boundary)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    record = models.ForeignKey(UsageRecord, on_delete=models.PROTECT, related_name="lines")
    tier = models.PositiveSmallIntegerField()
    images = models.PositiveIntegerField()
    unit_price = models.DecimalField(**MONEY)
    amount = models.DecimalField(**MONEY)

    class Meta(TenantOwned.Meta):
        constraints = [models.UniqueConstraint(fields=["record", "tier"], name="usage_line_unique_tier")]


class MonthlyUsage(TenantOwned):
    """Images and spend per tenant and month; its row lock orders concurrent completions so every
    image gets the tier its place in the month deserves."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    period = models.DateField()
    images = models.PositiveIntegerField(default=0)
    amount = models.DecimalField(**MONEY, default=ZERO)

    class Meta(TenantOwned.Meta):
        constraints = [models.UniqueConstraint(fields=["tenant", "period"], name="monthly_usage_unique")]


class DailyUsage(TenantOwned):
    """Daily rollup per project and end user, kept in the same transaction as the ledger: usage
    reports and caps read these, never the tasks."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="+")
    end_user = models.CharField(max_length=128, blank=True, default="")
    tasks = models.PositiveIntegerField(default=0)
    images = models.PositiveIntegerField(default=0)
    amount = models.DecimalField(**MONEY, default=ZERO)

    class Meta(TenantOwned.Meta):
        constraints = [
            models.UniqueConstraint(fields=["tenant", "day", "project", "end_user"], name="daily_usage_unique")
        ]
        indexes = [models.Index(fields=["tenant", "day"], name="daily_usage_tenant_day")]


class Invoice(TenantOwned):
    class Status(models.TextChoices):
        DRAFT = "draft"
        ISSUED = "issued"
        PAID = "paid"
        VOID = "void"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="invoices")
    number = models.CharField(max_length=40, unique=True)
    period = models.DateField(help_text="First day of the month invoiced")
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    billing_mode = models.CharField(max_length=16, choices=BillingAccount.Mode.choices)
    images = models.PositiveIntegerField(default=0)
    total = models.DecimalField(**MONEY, default=ZERO)
    created_at = models.DateTimeField(default=timezone.now)
    issued_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwned.Meta):
        ordering = ["-period", "-id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "period"], name="invoice_one_per_period")]

    def __str__(self) -> str:
        return self.number


class InvoiceLine(TenantOwned):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="+")
    tier = models.PositiveSmallIntegerField()
    unit_price = models.DecimalField(**MONEY)
    images = models.PositiveIntegerField()
    amount = models.DecimalField(**MONEY)

    class Meta(TenantOwned.Meta):
        ordering = ["project_id", "tier", "unit_price"]

    @property
    def public_project_id(self) -> int:
        """The line's project as customers see it (platform/publicids.py)."""
        return to_public("project", self.project_id)


def validate_currency_unchanged(tenant: Tenant, plan: Plan) -> None:
    current = TenantPlan.objects.for_tenant(tenant).select_related("plan").first()
    if current and current.plan.currency != plan.currency:
        raise ValidationError(f"The tenant is billed in {current.plan.currency}; this plan is in {plan.currency}.")

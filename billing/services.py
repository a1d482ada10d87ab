"""Money rules. Every function that moves money runs inside the caller's transaction (submit or
finish of a task), so the task's state, the ledger, the rollups and the credit always agree."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import F, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from imgplatform.money import ZERO, MoneySum
from imgplatform.problems import Problem

from accounts.models import Project, Tenant
from accounts.services import audit_record
from billing.defaults import ensure_default_plan
from billing.models import (
    BillingAccount,
    CreditEntry,
    DailyUsage,
    MonthlyUsage,
    Plan,
    PriceTier,
    TenantPlan,
    UsageLine,
    UsageRecord,
    validate_currency_unchanged,
)
from generation.models import Task

log = logging.getLogger(__name__)


def period_of(moment: datetime) -> date:
    """The billing month of ``moment`` (UTC): its first day."""
    return moment.astimezone(UTC).date().replace(day=1)


def day_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


# --- Plans -----------------------------------------------------------------------------------
def plan_for(tenant: Tenant, *, at: datetime | None = None) -> Plan:
    """The plan that applies to ``tenant`` at ``at`` (now): its newest started assignment, else the
    default plan."""
    at = at or timezone.now()
    assignment = (
        TenantPlan.objects.for_tenant(tenant)
        .filter(starts_at__lte=at)
        .select_related("plan")
        .order_by("-starts_at", "-id")
    ).first()
    if assignment:
        return assignment.plan
    return ensure_default_plan(Plan, PriceTier)


@transaction.atomic
def tenant_plan_assign(*, tenant: Tenant, plan: Plan, starts_at: datetime | None = None, actor=None) -> TenantPlan:
    """Put ``tenant`` on ``plan`` from ``starts_at`` (now). An operator's change (``actor``) writes
    its audit row, on the tenant's history, in the same transaction."""
    validate_currency_unchanged(tenant, plan)
    # Locks the account (a tenant without one has never submitted, see task_prices): a submit that
    # read the tenant's prices before this commits reads them again (task_admit); one that holds
    # the lock now is admitted before the change.
    BillingAccount.objects.for_tenant(tenant).update(plan_version=F("plan_version") + 1)
    assignment = TenantPlan.objects.for_tenant(tenant).create(
        tenant=tenant, plan=plan, starts_at=starts_at or timezone.now()
    )
    when = f"{assignment.starts_at:%Y-%m-%d %H:%M}"
    audit_record(actor=actor, obj=tenant, message=f"Plan changed to {plan.code}, from {when}.")
    return assignment


def plans_changed() -> None:
    """Inside the transaction that edits a plan or its tiers (the admin): every account's prices
    may have changed (which tenants fall back on the default plan is not worth working out for a
    rare edit), so every submit that read them before this commits reads them again."""
    BillingAccount.unscoped_objects.update(plan_version=F("plan_version") + 1)


def scheduling_weight(tenant: Tenant) -> int:
    """The tenant's share of the generation workers while tenants wait (fair scheduling)."""
    return max(1, plan_for(tenant).scheduling_weight)


@dataclass(frozen=True)
class PricedLine:
    tier: int  # 0: included images; 1..n: the plan's tiers in order
    images: int
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.images


def _tiers(plan: Plan) -> list[tuple[int | None, Decimal]]:
    tiers = [(t.up_to, t.unit_price) for t in plan.tiers.all()]
    if not tiers or tiers[-1][0] is not None:
        raise ImproperlyConfigured(f"Plan {plan.code} needs a last tier without an upper bound.")
    return tiers


def _price_of(plan: Plan, tiers, k: int) -> tuple[int, Decimal]:
    """Tier and price of the k-th image (1-based) of a month."""
    if k <= plan.included_images:
        return 0, ZERO
    for index, (up_to, price) in enumerate(tiers, start=1):
        if up_to is None or k <= up_to:
            return index, price
    raise AssertionError("unreachable: the last tier is open")


ONE = Decimal(1)


def price_images(plan: Plan, *, already: int, count: int, factor: Decimal = ONE) -> list[PricedLine]:
    """The price of ``count`` images delivered after ``already`` images this month, one line per
    tier they fall in (a task can cross a tier boundary), each at the tier's price x ``factor``
    (the model's price factor)."""
    tiers = _tiers(plan)
    lines: list[PricedLine] = []
    for k in range(already + 1, already + count + 1):
        tier, price = _price_of(plan, tiers, k)
        price *= factor
        if lines and lines[-1].tier == tier:
            lines[-1] = PricedLine(tier, lines[-1].images + 1, price)
        else:
            lines.append(PricedLine(tier, 1, price))
    return lines


def next_image_price(tenant: Tenant) -> tuple[Decimal, str]:
    """The plan's price of the tenant's next image this month (before a model's factor), and its
    currency: the model catalog's price per image."""
    plan = plan_for(tenant)
    already = month_images(tenant, period_of(timezone.now()))
    return price_images(plan, already=already, count=1)[0].unit_price, plan.currency


def worst_case(plan: Plan, *, already: int, count: int, factor: Decimal = ONE) -> Decimal:
    """The most ``count`` images can cost from here, whatever else finishes first: held on
    prepaid credit and counted against caps while the task runs."""
    return _worst_case(_tiers(plan), already=already, count=count, factor=factor)


def _worst_case(tiers, *, already: int, count: int, factor: Decimal) -> Decimal:
    reachable = [price for up_to, price in tiers if up_to is None or up_to > already]
    return max(reachable, default=ZERO) * count * factor


# --- Accounts and caps -----------------------------------------------------------------------
def account_for(tenant: Tenant, *, lock: bool = False) -> BillingAccount:
    accounts = BillingAccount.objects.for_tenant(tenant)
    account, _ = (accounts.select_for_update() if lock else accounts).get_or_create(tenant=tenant)
    return account


def month_images(tenant: Tenant, period: date) -> int:
    row = MonthlyUsage.objects.for_tenant(tenant).filter(period=period).first()
    return row.images if row else 0


@dataclass(frozen=True)
class Spend:
    cap: str
    limit: Decimal
    spent: Decimal  # delivered this month
    pending: Decimal  # worst case of tasks not finished yet


def _spend(tenant: Tenant, *, period: date, project: Project | None = None, end_user: str | None = None):
    daily = DailyUsage.objects.for_tenant(tenant).filter(day__gte=period)
    pending = Task.objects.for_tenant(tenant).filter(state__in=[Task.State.QUEUED, Task.State.RUNNING])
    if project is not None:
        daily, pending = daily.filter(project=project), pending.filter(project=project)
    if end_user is not None:
        daily, pending = daily.filter(end_user=end_user), pending.filter(end_user=end_user)
    spent = daily.aggregate(s=MoneySum("amount"))["s"] or ZERO
    return spent, pending.aggregate(s=MoneySum("hold_amount"))["s"] or ZERO


def caps_for(*, tenant: Tenant, project: Project, end_user: str, account: BillingAccount, plan: Plan) -> list[Spend]:
    period = period_of(timezone.now())
    caps = []
    tenant_cap = account.monthly_cap if account.monthly_cap is not None else plan.monthly_cap
    if tenant_cap is not None:
        caps.append(Spend("tenant", tenant_cap, *_spend(tenant, period=period)))
    if project.monthly_spend_cap is not None:
        caps.append(Spend("project", project.monthly_spend_cap, *_spend(tenant, period=period, project=project)))
    if end_user and project.end_user_monthly_cap is not None:
        spent, pending = _spend(tenant, period=period, project=project, end_user=end_user)
        caps.append(Spend("end_user", project.end_user_monthly_cap, spent, pending))
    return caps


@dataclass(frozen=True)
class Admission:
    hold: Decimal
    prepaid: bool

    @property
    def mode(self) -> str:
        """What the task records: it is billed this way whatever the account's mode is later."""
        return BillingAccount.Mode.PREPAID if self.prepaid else BillingAccount.Mode.POSTPAID


@dataclass(frozen=True)
class Prices:
    """What admission reads before the tenant's row is locked, since no submit changes it: the plan
    and its tiers, as of the account's ``plan_version`` (checked again on the locked row), and the
    images delivered this month. Those only grow within a month, and fewer images leave more tiers
    reachable, so a hold priced from an earlier count is at least the one priced under the lock:
    still the worst case."""

    plan: Plan
    tiers: list[tuple[int | None, Decimal]]
    plan_version: int
    period: date
    already: int


def task_prices(*, tenant: Tenant) -> Prices | None:
    """Before the submit takes the tenant's lock (three statements: account with the month's images,
    plan, tiers); see :class:`Prices`. None for a tenant without an account yet (its first submit):
    ``task_admit`` creates it and reads them under the lock."""
    period = period_of(timezone.now())
    month = MonthlyUsage.objects.for_tenant(tenant).filter(period=period).values("images")[:1]
    account = (
        BillingAccount.objects.for_tenant(tenant)
        .annotate(already=Coalesce(Subquery(month), 0))
        .values("plan_version", "already")
        .first()
    )
    if account is None:
        return None
    plan = plan_for(tenant)
    return Prices(plan, _tiers(plan), account["plan_version"], period, account["already"])


def _prices_still(prices: Prices | None, *, tenant: Tenant, account: BillingAccount) -> Prices:
    """``prices`` if they still apply on the locked ``account``; read again (under the lock) if the
    plan changed since, or the month did (a new month starts from no images), or none were read."""
    if prices is None or prices.plan_version != account.plan_version or prices.period != period_of(timezone.now()):
        return task_prices(tenant=tenant)
    return prices


def task_admit(
    *,
    tenant: Tenant,
    project: Project,
    end_user: str,
    num_images: int,
    factor: Decimal = ONE,
    prices: Prices | None = None,
) -> Admission:
    """Inside the submit transaction: lock the tenant's account (so concurrent submits are counted
    one after another), refuse with 402 ``quota_exceeded`` when a cap or the prepaid credit would
    be exceeded by this task's worst case, and say how much to hold. ``num_images`` counts billable
    images (an image above a megapixel counts as several); ``factor`` is the model's price factor;
    ``prices``: :func:`task_prices` read before the submit locked the tenant (else read here)."""
    account = account_for(tenant, lock=True)
    prices = _prices_still(prices, tenant=tenant, account=account)
    plan = prices.plan
    hold = _worst_case(prices.tiers, already=prices.already, count=num_images, factor=factor)
    for spend in caps_for(tenant=tenant, project=project, end_user=end_user, account=account, plan=plan):
        if spend.spent + spend.pending + hold > spend.limit:
            raise Problem(
                "quota_exceeded",
                f"This task could cost up to {hold} {plan.currency}; with {spend.spent} spent and {spend.pending} "
                f"pending this month, that is over the {spend.cap} cap of {spend.limit} {plan.currency}.",
                cap=spend.cap,
                limit=str(spend.limit),
                spent=str(spend.spent),
                pending=str(spend.pending),
                required=str(hold),
                currency=plan.currency,
            )
    prepaid = account.mode == BillingAccount.Mode.PREPAID
    if prepaid and account.credit_available < hold:
        raise Problem(
            "quota_exceeded",
            f"This task could cost up to {hold} {plan.currency}; the prepaid credit available is "
            f"{account.credit_available} {plan.currency}.",
            cap="prepaid_credit",
            limit=str(account.credit_available),
            required=str(hold),
            currency=plan.currency,
        )
    return Admission(hold=hold, prepaid=prepaid)


@dataclass(frozen=True)
class Billed:
    """What a request is billed as: ``images`` images, each counting as ``per_image`` (ceil of its
    megapixels), at the plan's price x ``factor`` (the model's)."""

    images: int
    per_image: int = 1
    factor: Decimal = ONE
    model: str = ""

    @property
    def units(self) -> int:
        return self.images * self.per_image


def task_quote(*, tenant: Tenant, project: Project, end_user: str, billed: Billed) -> dict[str, Any]:
    """What the request would cost if delivered now, the most it can cost, where each cap stands,
    and whether a submit would be admitted. Writes and holds nothing."""
    account = account_for(tenant)
    plan = plan_for(tenant)
    already = month_images(tenant, period_of(timezone.now()))
    lines = price_images(plan, already=already, count=billed.units, factor=billed.factor)
    hold = worst_case(plan, already=already, count=billed.units, factor=billed.factor)
    refusal = None
    try:
        with transaction.atomic():
            task_admit(tenant=tenant, project=project, end_user=end_user, num_images=billed.units, factor=billed.factor)
    except Problem as problem:
        refusal = problem.body()
    caps = caps_for(tenant=tenant, project=project, end_user=end_user, account=account, plan=plan)
    prepaid = account.mode == BillingAccount.Mode.PREPAID
    return {
        "currency": plan.currency,
        "plan": plan.code,
        "images": billed.images,
        "model": billed.model,
        "price_factor": str(billed.factor),
        "billable_images": billed.units,
        "amount": f"{sum((line.amount for line in lines), ZERO):.5f}",
        "lines": [
            {"tier": ln.tier, "images": ln.images, "unit_price": f"{ln.unit_price:.5f}", "amount": f"{ln.amount:.5f}"}
            for ln in lines
        ],
        "hold": f"{hold:.5f}",
        "month_images": already,
        "caps": [
            {
                "cap": c.cap,
                "limit": f"{c.limit:.5f}",
                "spent": f"{c.spent:.5f}",
                "pending": f"{c.pending:.5f}",
                "remaining": f"{max(c.limit - c.spent - c.pending, ZERO):.5f}",
            }
            for c in caps
        ],
        "billing_mode": account.mode,
        "credit_available": f"{account.credit_available:.5f}" if prepaid else None,
        "admissible": refusal is None,
        "refusal": refusal,
    }


def credit_hold(*, task, amount: Decimal, hold_number: int | None = None) -> None:
    """Hold ``amount`` of prepaid credit for ``task``: its ``hold_number``-th hold (counted when not
    given: a task retried by an operator holds again, settled by entries with the same number)."""
    if amount <= 0:
        return
    BillingAccount.objects.for_tenant(task.tenant).filter(tenant=task.tenant).update(
        credit_held=F("credit_held") + amount
    )
    number = hold_number or (
        CreditEntry.objects.for_tenant(task.tenant).filter(task=task, kind=CreditEntry.Kind.HOLD).count() + 1
    )
    CreditEntry.objects.for_tenant(task.tenant).create(
        tenant=task.tenant, kind="hold", amount=amount, task=task, hold_number=number
    )


def credit_grant(*, tenant: Tenant, amount: Decimal, note: str = "", by: str = "", kind: str = "grant") -> CreditEntry:
    """Add (or, as an adjustment, remove) prepaid credit."""
    if kind not in (CreditEntry.Kind.GRANT, CreditEntry.Kind.ADJUST):
        raise ValueError("only grants and adjustments are made by hand")
    with transaction.atomic():
        account = account_for(tenant, lock=True)
        account.credit_balance = F("credit_balance") + amount
        account.save(update_fields=["credit_balance"])
        return CreditEntry.objects.for_tenant(tenant).create(
            tenant=tenant, kind=kind, amount=amount, note=note[:200], created_by=by[:150]
        )


# --- Finishing a task ------------------------------------------------------------------------
def task_ended_bill(sender, *, task, **kwargs) -> None:
    """``generation.signals.task_ended`` (connected in billing/apps.py), inside the transaction that
    ends ``task``: a succeeded task is billed for its delivered images and its charge written on
    it; any other end is free, and its hold goes back."""
    if task.state == Task.State.SUCCEEDED:
        task.charge = task_bill(task=task, images_delivered=task.images_delivered)
        Task.unscoped_objects.filter(pk=task.pk).update(charge=task.charge)
    else:
        task_release(task=task)


def task_bill(*, task, images_delivered: int) -> Decimal:
    """Inside the transaction that marks ``task`` succeeded: price its delivered images at their
    place in the month, write the ledger row (unique per task) with one line per tier, update the
    rollups, and capture/release a prepaid hold. Returns the charge."""
    finished = task.finished_at or timezone.now()
    period = period_of(finished)
    amount = ZERO
    # An image above a megapixel counts as ceil(pixels / 1,048,576) images, in the tiers too.
    images_delivered *= task.billable_per_image
    if images_delivered > 0:
        usage, _ = MonthlyUsage.objects.for_tenant(task.tenant).get_or_create(tenant=task.tenant, period=period)
        usage = MonthlyUsage.objects.for_tenant(task.tenant).select_for_update().get(pk=usage.pk)
        plan = plan_for(task.tenant, at=finished)
        lines = price_images(plan, already=usage.images, count=images_delivered, factor=task.price_factor)
        amount = sum((line.amount for line in lines), ZERO)
        record = UsageRecord.objects.for_tenant(task.tenant).create(
            tenant=task.tenant,
            task=task,
            project_id=task.project_id,
            end_user=task.end_user,
            plan=plan,
            currency=plan.currency,
            period=period,
            day=day_of(finished),
            images=images_delivered,
            unit_price=lines[-1].unit_price,
            tier=lines[-1].tier,
            amount=amount,
            billing_mode=task_billing_mode(task),
        )
        UsageLine.objects.for_tenant(task.tenant).bulk_create(
            [
                UsageLine(
                    tenant=task.tenant,
                    record=record,
                    tier=line.tier,
                    images=line.images,
                    unit_price=line.unit_price,
                    amount=line.amount,
                )
                for line in lines
            ]
        )
        MonthlyUsage.objects.for_tenant(task.tenant).filter(pk=usage.pk).update(
            images=F("images") + images_delivered, amount=F("amount") + amount
        )
        daily, _ = DailyUsage.objects.for_tenant(task.tenant).get_or_create(
            tenant=task.tenant, day=day_of(finished), project_id=task.project_id, end_user=task.end_user
        )
        DailyUsage.objects.for_tenant(task.tenant).filter(pk=daily.pk).update(
            tasks=F("tasks") + 1, images=F("images") + images_delivered, amount=F("amount") + amount
        )
    _settle_hold(task, charge=amount)
    return amount


def task_billing_mode(task) -> str:
    """The mode ``task`` was admitted under; a task from before tasks recorded it: prepaid if it
    holds credit."""
    if task.billing_mode:
        return task.billing_mode
    held = CreditEntry.objects.for_tenant(task.tenant).filter(task=task, kind=CreditEntry.Kind.HOLD).exists()
    return BillingAccount.Mode.PREPAID if held else BillingAccount.Mode.POSTPAID


def task_release(*, task) -> None:
    """Inside the transaction that fails or cancels ``task``: nothing is charged; a prepaid hold
    goes back."""
    _settle_hold(task, charge=ZERO)


def _settle_hold(task, *, charge: Decimal) -> None:
    hold = (
        CreditEntry.objects.for_tenant(task.tenant)
        .filter(task=task, kind=CreditEntry.Kind.HOLD)
        .order_by("-hold_number")
        .values_list("amount", "hold_number")
    ).first()
    if hold is None:
        return  # postpaid, or nothing held
    held, number = hold
    account = account_for(task.tenant, lock=True)
    if charge > held:
        log.error("task %s charged %s over its hold of %s", task.id, charge, held)
    account.credit_held = F("credit_held") - held
    account.credit_balance = F("credit_balance") - charge
    account.save(update_fields=["credit_held", "credit_balance"])
    entries = []
    if charge > 0:
        entries.append(CreditEntry(tenant=task.tenant, kind="capture", amount=charge, task=task, hold_number=number))
    if held - charge > 0:
        entries.append(
            CreditEntry(tenant=task.tenant, kind="release", amount=held - charge, task=task, hold_number=number)
        )
    CreditEntry.objects.for_tenant(task.tenant).bulk_create(entries)

"""Closing a billing month: one invoice per tenant with lines per project and tier, built from the
ledger. Rerunning it changes nothing: an issued, paid or void invoice is never touched, and a
draft is rebuilt from the same ledger rows into the same lines."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from imgplatform.money import ZERO, MoneySum

from accounts.models import Tenant
from billing.models import BillingAccount, Invoice, InvoiceLine, UsageLine, UsageRecord
from billing.services import period_of

log = logging.getLogger(__name__)


def invoice_number(tenant_id: int, period: date) -> str:
    return f"INV-{period:%Y%m}-{tenant_id:06d}"


@dataclass
class CloseResult:
    created: int = 0
    rebuilt: int = 0
    unchanged: int = 0


def billing_period_close(*, period: date, issue: bool = True, now=None) -> CloseResult:
    """Invoice every tenant with usage in ``period`` (a first day of a month that has ended)."""
    now = now or timezone.now()
    if period.day != 1:
        raise ValueError("period must be the first day of a month")
    if period >= period_of(now):
        raise ValueError(f"{period:%Y-%m} has not ended yet")
    result = CloseResult()
    tenant_ids = UsageRecord.unscoped_objects.filter(period=period).values_list("tenant_id", flat=True).distinct()
    for tenant in Tenant.objects.filter(pk__in=list(tenant_ids)).order_by("pk"):
        outcome = _invoice_tenant(tenant=tenant, period=period, issue=issue, now=now)
        setattr(result, outcome, getattr(result, outcome) + 1)
    return result


def invoiced_mode(records) -> str:
    """What a month's invoice covers: the tasks admitted postpaid (to be paid), whatever the
    account's mode is now; a month with none is a statement of the prepaid ones, settled from
    credit as each finished. A task is never on an invoice to pay and captured from credit."""
    if records.filter(billing_mode=BillingAccount.Mode.POSTPAID).exists():
        return BillingAccount.Mode.POSTPAID
    return BillingAccount.Mode.PREPAID


def _invoice_tenant(*, tenant: Tenant, period: date, issue: bool, now) -> str:
    with transaction.atomic():
        invoice = Invoice.objects.for_tenant(tenant).select_for_update().filter(period=period).first()
        if invoice is not None and invoice.status != Invoice.Status.DRAFT:
            return "unchanged"
        records = UsageRecord.objects.for_tenant(tenant).filter(period=period)
        mode = invoiced_mode(records)
        records = records.filter(billing_mode=mode)
        currency = records.values_list("currency", flat=True).first()
        outcome = "rebuilt" if invoice else "created"
        if invoice is None:
            invoice = Invoice.objects.for_tenant(tenant).create(
                tenant=tenant,
                number=invoice_number(tenant.pk, period),
                period=period,
                currency=currency,
                billing_mode=mode,
                created_at=now,
            )
        invoice.lines.all().delete()
        grouped = (
            UsageLine.objects.for_tenant(tenant)
            .filter(record__in=records)
            .values("record__project_id", "tier", "unit_price")
            .annotate(images=Sum("images"), amount=MoneySum("amount"))
            .order_by("record__project_id", "tier", "unit_price")
        )
        lines = [
            InvoiceLine(
                tenant=tenant,
                invoice=invoice,
                project_id=row["record__project_id"],
                tier=row["tier"],
                unit_price=row["unit_price"],
                images=row["images"],
                amount=row["amount"],
            )
            for row in grouped
        ]
        InvoiceLine.objects.for_tenant(tenant).bulk_create(lines)
        invoice.images = sum(line.images for line in lines)
        invoice.total = sum((line.amount for line in lines), ZERO)
        invoice.currency = currency
        invoice.billing_mode = mode
        if issue:
            invoice.status = Invoice.Status.ISSUED
            invoice.issued_at = now
            if mode == BillingAccount.Mode.PREPAID:
                # Captured from credit as each task finished: the statement is settled already.
                invoice.status, invoice.paid_at = Invoice.Status.PAID, now
        invoice.save()
        return outcome


def invoice_issue(*, invoice: Invoice) -> bool:
    return _move(invoice, [Invoice.Status.DRAFT], status=Invoice.Status.ISSUED, issued_at=timezone.now())


def invoice_mark_paid(*, invoice: Invoice) -> bool:
    return _move(invoice, [Invoice.Status.ISSUED], status=Invoice.Status.PAID, paid_at=timezone.now())


def invoice_void(*, invoice: Invoice) -> bool:
    return _move(
        invoice, [Invoice.Status.DRAFT, Invoice.Status.ISSUED], status=Invoice.Status.VOID, voided_at=timezone.now()
    )


def _move(invoice: Invoice, from_states, **changes) -> bool:
    moved = Invoice.unscoped_objects.filter(pk=invoice.pk, status__in=from_states).update(**changes) == 1
    invoice.refresh_from_db()
    return moved

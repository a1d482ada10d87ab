"""Reads of billing data, always within one tenant."""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet, Sum
from imgplatform.money import ZERO, MoneySum
from imgplatform.problems import Problem
from imgplatform.publicids import to_public

from accounts.models import Tenant
from billing.models import DailyUsage, Invoice

GROUPS = {"day": "day", "project": "project_id", "end_user": "end_user"}


def _group_value(group_by: str, value):
    if group_by == "day":
        return value.isoformat()
    if group_by == "project":
        return to_public("project", value)  # the project_id tasks show, not the primary key
    return value


def usage_report(*, tenant: Tenant, start: date, end: date, group_by: str) -> dict:
    """Tasks, images and amount per day, project or end user from ``start`` to ``end`` (both
    included), read from the daily rollups (never the tasks, so it stays fast)."""
    key = GROUPS[group_by]
    rows = (
        DailyUsage.objects.for_tenant(tenant)
        .filter(day__gte=start, day__lte=end)
        .values(key)
        .annotate(tasks=Sum("tasks"), images=Sum("images"), amount=MoneySum("amount"))
        .order_by(key)
    )
    out = [
        {
            group_by: _group_value(group_by, row[key]),
            "tasks": row["tasks"],
            "images": row["images"],
            "amount": f"{row['amount']:.5f}",
        }
        for row in rows
    ]
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "group_by": group_by,
        "rows": out,
        "total": {
            "tasks": sum(r["tasks"] for r in out),
            "images": sum(r["images"] for r in out),
            "amount": f"{sum((row['amount'] for row in rows), ZERO):.5f}",
        },
    }


def invoice_list(*, tenant: Tenant) -> QuerySet[Invoice]:
    """The tenant's invoices; drafts are the operator's and not shown."""
    return Invoice.objects.for_tenant(tenant).exclude(status=Invoice.Status.DRAFT).prefetch_related("lines")


def access_invoice_by_id(*, tenant: Tenant, invoice_id) -> Invoice:
    try:
        pk = int(invoice_id)
    except (TypeError, ValueError):
        pk = None
    # Beyond a 64-bit column no invoice exists (and SQLite would raise OverflowError on it).
    invoice = invoice_list(tenant=tenant).filter(pk=pk).first() if pk and 0 < pk < 2**63 else None
    if invoice is None:
        raise Problem("not_found", "No invoice with this id.")
    return invoice

"""Compare the ledger with the tasks it bills, the rollups, the invoices and the prepaid credit;
report every mismatch. Reads every tenant (an operator's tool), in bulk queries."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.db.models import Q, Sum
from imgplatform.money import ZERO, MoneySum

from billing.models import BillingAccount, CreditEntry, DailyUsage, Invoice, MonthlyUsage, UsageLine, UsageRecord
from generation.models import Task
from generation.options import billable_images


def reconcile(*, period: date | None = None) -> list[str]:
    """Every mismatch found, as sentences; empty when the books agree. ``period`` limits the ledger
    checks to one month (credit is always checked whole)."""
    records = UsageRecord.unscoped_objects.all()
    tasks = Task.unscoped_objects.all()
    if period is not None:
        records = records.filter(period=period)
        tasks = tasks.filter(usage__period=period) | tasks.filter(
            state=Task.State.SUCCEEDED, usage__isnull=True, images_delivered__gt=0
        )
    return [
        *_tasks_against_ledger(records, tasks),  # 1.
        *_ledger_against_lines(records),  # 2.
        *_rollups_against_ledger(records, period),  # 3.
        *_invoices_against_ledger(period),  # 4.
        *_charged_once(records),  # 5.
        *_credit_against_entries(),  # 6.
        *_open_holds_against_held(),
    ]


def _tasks_against_ledger(records, tasks) -> list[str]:
    """1. Every task that delivered images has its ledger row, with its images and charge; no
    other task is billed or charged."""
    problems = []
    ledger = {r["task_id"]: r for r in records.values("task_id", "images", "amount", "tenant_id")}
    for task in tasks.filter(state=Task.State.SUCCEEDED, images_delivered__gt=0).values(
        "id", "images_delivered", "charge", "width", "height"
    ):
        row = ledger.get(task["id"])
        # The ledger counts billable images: one above a megapixel counts as several.
        billed = billable_images(task["width"], task["height"], task["images_delivered"])
        if row is None:
            problems.append(f"task {task['id']}: delivered {task['images_delivered']} images but has no ledger row")
        elif row["images"] != billed or row["amount"] != task["charge"]:
            problems.append(
                f"task {task['id']}: task says {task['images_delivered']} images for {task['charge']}, "
                f"ledger says {row['images']} for {row['amount']}"
            )
    for task in (
        Task.unscoped_objects.filter(usage__isnull=False).exclude(state=Task.State.SUCCEEDED).values_list("id", "state")
    ):
        problems.append(f"task {task[0]}: {task[1]} but billed in the ledger")
    for task_id, charge in (
        Task.unscoped_objects.exclude(state=Task.State.SUCCEEDED).exclude(charge=0).values_list("id", "charge")
    ):
        problems.append(f"task {task_id}: not succeeded but charged {charge}")
    return problems


def _ledger_against_lines(records) -> list[str]:
    """2. Each ledger row is the sum of its tier lines."""
    lines = (
        UsageLine.unscoped_objects.filter(record__in=records)
        .values("record_id")
        .annotate(images=Sum("images"), amount=MoneySum("amount"))
    )
    by_record = {row["record_id"]: row for row in lines}
    problems = []
    for record in records.values("id", "task_id", "images", "amount"):
        line = by_record.get(record["id"], {"images": 0, "amount": ZERO})
        if line["images"] != record["images"] or line["amount"] != record["amount"]:
            problems.append(
                f"ledger row of task {record['task_id']}: lines add up to {line['images']} / {line['amount']}"
            )
    return problems


def _rollups_against_ledger(records, period: date | None) -> list[str]:
    """3. The daily and monthly rollups are the sums of the ledger rows."""
    daily_expected: dict[tuple, list] = defaultdict(lambda: [0, 0, ZERO])
    monthly_expected: dict[tuple, list] = defaultdict(lambda: [0, ZERO])
    for r in records.values("tenant_id", "day", "project_id", "end_user", "period", "images", "amount"):
        d = daily_expected[(r["tenant_id"], r["day"], r["project_id"], r["end_user"])]
        d[0], d[1], d[2] = d[0] + 1, d[1] + r["images"], d[2] + r["amount"]
        m = monthly_expected[(r["tenant_id"], r["period"])]
        m[0], m[1] = m[0] + r["images"], m[1] + r["amount"]
    daily = DailyUsage.unscoped_objects.all()
    monthly = MonthlyUsage.unscoped_objects.all()
    if period is not None:
        daily = daily.filter(day__gte=period, day__lt=_next_month(period))
        monthly = monthly.filter(period=period)
    daily_rows = {
        (row["tenant_id"], row["day"], row["project_id"], row["end_user"]): [row["tasks"], row["images"], row["amount"]]
        for row in daily.values("tenant_id", "day", "project_id", "end_user", "tasks", "images", "amount")
    }
    monthly_rows = {
        (row["tenant_id"], row["period"]): [row["images"], row["amount"]]
        for row in monthly.values("tenant_id", "period", "images", "amount")
    }
    return [
        *_rollup_mismatches("daily rollup", daily_rows, daily_expected, [0, 0, ZERO]),
        *_rollup_mismatches("monthly usage", monthly_rows, monthly_expected, [0, ZERO]),
    ]


def _rollup_mismatches(name: str, rows: dict[tuple, list], expected: dict[tuple, list], nothing: list) -> list[str]:
    problems = [
        f"{name} {key}: {'/'.join(str(value) for value in values)} != ledger"
        for key, values in rows.items()
        if values != list(expected.get(key, nothing))
    ]
    return problems + [f"{name} {key} missing" for key in expected if key not in rows]


def _invoices_against_ledger(period: date | None) -> list[str]:
    """4. Each invoice (not void) adds up, and is the month's ledger of its billing mode."""
    problems = []
    invoices = Invoice.unscoped_objects.exclude(status=Invoice.Status.VOID)
    if period is not None:
        invoices = invoices.filter(period=period)
    for invoice in invoices.annotate(line_total=MoneySum("lines__amount"), line_images=Sum("lines__images")):
        # An invoice covers the month's tasks of its mode: postpaid ones (to pay), or, in a month
        # without any, the prepaid ones (a statement of captured credit).
        month = UsageRecord.unscoped_objects.filter(tenant_id=invoice.tenant_id, period=invoice.period)
        ledger_total = month.filter(billing_mode=invoice.billing_mode).aggregate(
            amount=MoneySum("amount"), images=Sum("images")
        )
        if invoice.billing_mode == BillingAccount.Mode.PREPAID:
            for task_id in month.filter(billing_mode=BillingAccount.Mode.POSTPAID).values_list("task_id", flat=True):
                problems.append(
                    f"task {task_id}: postpaid but not on invoice {invoice.number} (prepaid): charged neither way"
                )
        if (invoice.line_total or ZERO) != invoice.total:
            problems.append(
                f"invoice {invoice.number}: lines add up to {invoice.line_total}, total says {invoice.total}"
            )
        if (ledger_total["amount"] or ZERO) != invoice.total or (ledger_total["images"] or 0) != invoice.images:
            problems.append(
                f"invoice {invoice.number}: {invoice.images} images for {invoice.total}, ledger has "
                f"{ledger_total['images']} for {ledger_total['amount']}"
            )
    return problems


def _credit_against_entries() -> list[str]:
    """6. Each account's prepaid balance and held credit are the sums of its credit entries."""
    problems = []
    sums = {
        row["tenant_id"]: row
        for row in CreditEntry.unscoped_objects.values("tenant_id").annotate(
            credit=MoneySum("amount", filter=Q(kind__in=["grant", "adjust"])),
            captured=MoneySum("amount", filter=Q(kind="capture")),
            held=MoneySum("amount", filter=Q(kind="hold")),
            released=MoneySum("amount", filter=Q(kind="release")),
        )
    }
    for account in BillingAccount.unscoped_objects.values("tenant_id", "credit_balance", "credit_held"):
        row = sums.get(account["tenant_id"], {})
        balance = (row.get("credit") or ZERO) - (row.get("captured") or ZERO)
        held = (row.get("held") or ZERO) - (row.get("captured") or ZERO) - (row.get("released") or ZERO)
        if balance != account["credit_balance"]:
            problems.append(
                f"tenant {account['tenant_id']}: credit balance {account['credit_balance']} != entries {balance}"
            )
        if held != account["credit_held"]:
            problems.append(f"tenant {account['tenant_id']}: credit held {account['credit_held']} != entries {held}")
    return problems


def _open_holds_against_held() -> list[str]:
    """6. A task not finished has one open hold: its latest (a retried task's earlier holds were
    settled); together they are the account's held credit."""
    problems = []
    unfinished = ~Q(task__state__in=Task.FINAL_STATES)
    open_holds = (
        CreditEntry.unscoped_objects.filter(kind__in=["hold", "capture", "release"])
        .values("tenant_id")
        .annotate(
            held=MoneySum("amount", filter=Q(kind="hold") & unfinished),
            settled=MoneySum("amount", filter=Q(kind__in=["capture", "release"]) & unfinished),
        )
    )
    for row in open_holds:
        account = BillingAccount.unscoped_objects.filter(tenant_id=row["tenant_id"]).values("credit_held").first()
        open_amount = (row["held"] or ZERO) - (row["settled"] or ZERO)
        if account and open_amount != account["credit_held"]:
            problems.append(f"tenant {row['tenant_id']}: open holds {open_amount} != held {account['credit_held']}")
    return problems


def _charged_once(records) -> list[str]:
    """5. Each billed task was charged one way, the mode it was admitted under: a prepaid task's
    charge was captured from credit, in full; a postpaid one's was not captured at all (it is
    invoiced). Otherwise it was charged both ways, or neither."""
    problems = []
    captured = dict(
        CreditEntry.unscoped_objects.filter(kind=CreditEntry.Kind.CAPTURE, task_id__in=records.values("task_id"))
        .values("task_id")
        .annotate(s=MoneySum("amount"))
        .values_list("task_id", "s")
    )
    rows = records.values_list("task_id", "billing_mode", "amount", "task__billing_mode")
    for task_id, mode, amount, admitted in rows:
        taken = captured.get(task_id, ZERO)
        if admitted and admitted != mode:
            problems.append(f"task {task_id}: admitted {admitted} but billed {mode}")
        if mode == BillingAccount.Mode.POSTPAID and taken:
            problems.append(f"task {task_id}: charged both ways: postpaid (invoiced) and {taken} captured from credit")
        elif mode == BillingAccount.Mode.PREPAID and taken != amount:
            how = "neither way" if not taken else f"{taken} from credit"
            problems.append(f"task {task_id}: prepaid, charged {amount} but {how}")
    return problems


def _next_month(period: date) -> date:
    return date(period.year + period.month // 12, period.month % 12 + 1, 1)

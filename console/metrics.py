"""The operator's numbers, from the hourly rollups (generation/rollups.py): a window is the rollups
of its hours whose tasks had all ended when they were written, plus the tasks themselves for the
rest (its first partial hour, the current hour, an hour with a task still queued or running). So a
page reads a few thousand rollup rows and an hour or two of tasks whatever the table holds, and
costs the same number of queries. Counts, failures, images, revenue, moderation blocks and queue
waits are exact; stage percentiles come from log-bucket histograms (8 buckets per doubling),
within about 4.5% of the exact value. Nothing here is scoped to a tenant: this is the operator's
view of the whole service, read through the models' ``unscoped_objects`` escape. Billing's tables
(plans, the daily usage rollup) are read by model name: billing and the console are siblings
above generation and do not import each other (docs/architecture.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.apps import apps
from django.db import connection, models
from django.db.models import Count, F, Min, Sum
from django.db.models.functions import RowNumber
from django.utils import timezone
from imgplatform.money import MoneySum

from accounts.models import Tenant
from generation import rollups
from generation.models import Task
from generation.rollups import Totals

State = Task.State
STATES = [State.QUEUED, State.RUNNING, State.SUCCEEDED, State.FAILED, State.CANCELLED]
# Stages of Task.timings_ms (milliseconds) the worker records, in the order a task goes through them.
STAGES = rollups.STAGES
PERCENTILES = (0.5, 0.95)
TOP_TENANTS = 10
EXAMPLES_PER_CODE = 5
# Hourly buckets cover the window, but never more than this (the daily chart covers the rest).
MAX_HOURLY_SPAN = timedelta(days=7)


@dataclass(frozen=True)
class Window:
    key: str
    label: str
    span: timedelta


WINDOWS = {
    "24h": Window("24h", "last 24 hours", timedelta(hours=24)),
    "7d": Window("7d", "last 7 days", timedelta(days=7)),
    "30d": Window("30d", "last 30 days", timedelta(days=30)),
}
DEFAULT_WINDOW = "7d"


def window_for(key: str | None) -> Window:
    """The named window; anything unknown gives the default (a bad query string is never an error)."""
    return WINDOWS.get(key or "", WINDOWS[DEFAULT_WINDOW])


def _hours(start: datetime, end: datetime) -> list[datetime]:
    first = start.replace(minute=0, second=0, microsecond=0)
    count = int((end - first).total_seconds() // 3600) + 1
    return [first + timedelta(hours=i) for i in range(count)]


def _days(start: datetime, end: datetime) -> list[datetime]:
    first = start.replace(hour=0, minute=0, second=0, microsecond=0)
    return [first + timedelta(days=i) for i in range((end.date() - first.date()).days + 1)]


def tasks_by_state(totals: Totals, *, start: datetime, now: datetime, unit: str) -> dict:
    """Tasks created per hour or per day, split by state. Every bucket of the range is present,
    with zeros where nothing happened. Hours are whole: a range starting inside the window counts
    its first hour whole."""
    keys = (_hours if unit == "hour" else _days)(start, now)
    counts: dict[tuple, int] = {}
    first = keys[0]
    for (hour, state, _code), tasks in totals.states.items():
        if hour >= first:
            key = hour if unit == "hour" else hour.replace(hour=0)
            counts[(key, state)] = counts.get((key, state), 0) + tasks
    return {
        "unit": unit,
        "buckets": keys,
        "rows": [
            {"bucket": key, "counts": [counts.get((key, state), 0) for state in STATES]}
            | {"total": sum(counts.get((key, state), 0) for state in STATES)}
            for key in keys
        ],
        "states": [str(state) for state in STATES],
    }


def state_totals_and_failures(totals: Totals) -> dict:
    """Counts per state and failures per error code in the window. The failure rate of a code is
    its share of the tasks that ended (succeeded, failed or cancelled)."""
    by_state = {str(state): 0 for state in STATES}
    codes: dict[str, dict] = {}
    for (_hour, state, code), tasks in totals.states.items():
        by_state[state] = by_state.get(state, 0) + tasks
        if state == State.FAILED:
            failure = codes.setdefault(code or "(none)", {"code": code or "(none)", "count": 0, "last": None})
            failure["count"] += tasks
            failure["last"] = totals.last.get((state, code))
    ended = by_state[State.SUCCEEDED] + by_state[State.FAILED] + by_state[State.CANCELLED]
    failed = by_state[State.FAILED]
    failures = sorted(codes.values(), key=lambda e: (-e["count"], e["code"]))
    for entry in failures:
        entry["rate"] = entry["count"] / ended if ended else 0.0
        entry["share"] = entry["count"] / failed if failed else 0.0
        entry["rate_pct"], entry["share_pct"] = round(entry["rate"] * 100, 2), round(entry["share"] * 100, 2)
    return {
        "by_state": by_state,
        "total": sum(by_state.values()),
        "ended": ended,
        "failed": failed,
        "failure_rate": failed / ended if ended else 0.0,
        "failure_rate_pct": round(failed / ended * 100, 2) if ended else 0.0,
        "failures": failures,
    }


def moderation_blocks(totals: Totals) -> list[dict]:
    """Moderation blocks by category: ``prompt``, the tasks failed with
    ``moderation_blocked_prompt`` per category their verdict named (a prompt can name several);
    ``image``, the images flagged by the image check per label (strict tasks that failed and images
    withheld from partial ones), with the number of tasks they belong to."""
    out = [
        {"stage": kind, "category": name, "tasks": entry["tasks"], "images": entry["images"]}
        for (kind, name), entry in totals.moderation.items()
        if kind in ("prompt", "image")
    ]
    return sorted(out, key=lambda e: (-e["tasks"], e["stage"], e["category"]))


def moderation_rules(totals: Totals) -> list[dict]:
    """Prompts blocked per concept rule (``moderation_report.prompt.rules``, e.g.
    ``minors.minor_with_sexualising``): which rules do the blocking."""
    rows = [
        {"category": name.split(".", 1)[0], "rule": name, "tasks": entry["tasks"]}
        for (kind, name), entry in totals.moderation.items()
        if kind == "rule"
    ]
    return sorted(rows, key=lambda e: (-e["tasks"], e["rule"]))


def stage_percentiles(totals: Totals) -> list[dict]:
    """p50 and p95 of each stage's time (ms) over the window's tasks that recorded it, from the
    histograms (as ``percentile_cont`` would rank them, interpolated inside a bucket)."""
    out = []
    for stage in STAGES:
        histogram = totals.stages.get(stage, {})
        entry = {"stage": stage, "count": sum(histogram.values())}
        for p in PERCENTILES:
            entry[f"p{round(p * 100)}"] = rollups.percentile(histogram, p)
        out.append(entry)
    return out


def currencies(tenant_ids, *, now: datetime) -> dict[int, str]:
    """The currency each tenant is billed in: its current plan's (a tenant keeps one currency),
    else the default plan's. Two queries whatever the number of tenants."""
    plans, assignments = apps.get_model("billing", "Plan"), apps.get_model("billing", "TenantPlan")
    default = plans.objects.filter(is_default=True).values_list("currency", flat=True).first() or "USD"
    assigned = (
        assignments.unscoped_objects.filter(tenant_id__in=list(tenant_ids), starts_at__lte=now)
        .order_by("tenant_id", "-starts_at", "-id")
        .values_list("tenant_id", "plan__currency")
    )
    found: dict[int, str] = {}
    for tenant_id, currency in assigned:
        found.setdefault(tenant_id, currency)
    return {tenant_id: found.get(tenant_id, default) for tenant_id in tenant_ids}


def daily_usage(*, start: datetime, now: datetime) -> list[dict]:
    """Billed tasks, images and revenue per day and tenant from billing's daily rollup (written in
    the transaction that bills each task; ``day`` is the day it finished), never the ledger's rows."""
    rows = (
        apps.get_model("billing", "DailyUsage")
        .unscoped_objects.filter(day__gte=start.date(), day__lte=now.date())
        .values("day", "tenant_id")
        .annotate(tasks=Sum("tasks"), images=Sum("images"), amount=MoneySum("amount"))
        .order_by()
    )
    return list(rows)


def revenue_per_day(rows: list[dict], currency_of: dict[int, str], *, start: datetime, now: datetime) -> dict:
    """``daily_usage`` per day and currency, every day of the window present."""
    by_key: dict[tuple, dict] = {}
    for row in rows:
        entry = by_key.setdefault(
            (row["day"], currency_of[row["tenant_id"]]), {"tasks": 0, "images": 0, "amount": Decimal("0")}
        )
        entry["tasks"] += row["tasks"]
        entry["images"] += row["images"]
        entry["amount"] += row["amount"] or Decimal("0")
    codes = sorted({currency for _, currency in by_key}) or ["USD"]
    days = [day.date() for day in _days(start, now)]
    empty = {"tasks": 0, "images": 0, "amount": Decimal("0")}
    table = [
        {"day": day, "currency": currency, **by_key.get((day, currency), empty)} for day in days for currency in codes
    ]
    totals = {
        currency: {
            "images": sum(r["images"] for r in table if r["currency"] == currency),
            "amount": sum((r["amount"] for r in table if r["currency"] == currency), Decimal("0")),
        }
        for currency in codes
    }
    return {"days": days, "currencies": codes, "rows": table, "totals": totals}


def top_tenants(
    totals: Totals, tenants: dict[int, Tenant], currency_of: dict[int, str], limit: int = TOP_TENANTS
) -> list[dict]:
    """The tenants with the most tasks in the window, with their failures, delivered images and
    revenue (the charges of those tasks; a tenant bills in one currency)."""
    ranked = sorted(totals.tenants.items(), key=lambda item: (-item[1]["tasks"], tenants[item[0]].name))[:limit]
    return [
        {
            "tenant_id": tenant_id,
            "name": tenants[tenant_id].name,
            "status": tenants[tenant_id].status,
            "tasks": entry["tasks"],
            "failed": entry["failed"],
            "images": entry["images"],
            "revenue": entry["charge"],
            "currency": currency_of[tenant_id] if entry["charge"] else "",
        }
        for tenant_id, entry in ranked
    ]


def queue_waits(totals: Totals, tenants: dict[int, Tenant], *, now: datetime) -> list[dict]:
    """Per tenant: the window's tasks that started, with their mean and longest wait in the queue
    (ms), and the tasks waiting now with the oldest one's wait so far."""
    rows = {}

    def row(tenant_id: int, name: str) -> dict:
        empty = {"tenant": name, "started": 0, "mean_wait_ms": None, "max_wait_ms": None, "queued": 0}
        return rows.setdefault(tenant_id, {"tenant_id": tenant_id, **empty, "oldest_wait_ms": None})

    for tenant_id, entry in totals.tenants.items():
        if entry["started"]:
            row(tenant_id, tenants[tenant_id].name).update(
                started=entry["started"],
                mean_wait_ms=round(entry["wait_ms"] / entry["started"], 1),
                max_wait_ms=round(entry["wait_ms_max"], 1),
            )
    queued = Task.unscoped_objects.filter(state=State.QUEUED).values("tenant_id", "tenant__name")
    for entry in queued.annotate(n=Count("id"), oldest=Min("created_at")).order_by():
        row(entry["tenant_id"], entry["tenant__name"]).update(
            queued=entry["n"], oldest_wait_ms=round((now - entry["oldest"]).total_seconds() * 1000, 1)
        )
    return sorted(rows.values(), key=lambda r: (-(r["oldest_wait_ms"] or 0), -(r["max_wait_ms"] or 0), r["tenant"]))


def failure_examples(*, start: datetime, codes: list[str], examples: int = EXAMPLES_PER_CODE) -> dict[str, list]:
    """The latest failed tasks of each code in the window, each code's read from the index of
    (error_code, created_at): one UNION ALL query on PostgreSQL, however many tasks failed. A
    backend that cannot order and slice inside a UNION (SQLite) numbers each code's failures with a
    window function instead: one query too, reading the window's failures (a laptop's database)."""
    fields = ("pk", "error_code", "error_detail", "created_at", "finished_at", "tenant__name", "project__name", "model")
    failed = Task.unscoped_objects.filter(state=State.FAILED, created_at__gte=start).order_by("-created_at", "-pk")
    stored = ["" if code == "(none)" else code for code in codes]
    if not codes:
        rows = []
    elif connection.features.supports_slicing_ordering_in_compound:
        parts = [failed.filter(error_code=code).values(*fields)[:examples] for code in stored]
        rows = list(parts[0].union(*parts[1:], all=True)) if len(parts) > 1 else list(parts[0])
    else:
        latest_first = (F("created_at").desc(), F("pk").desc())
        rank = models.Window(RowNumber(), partition_by=F("error_code"), order_by=latest_first)
        rows = list(failed.filter(error_code__in=stored).annotate(rank=rank).filter(rank__lte=examples).values(*fields))
    out: dict[str, list] = {code: [] for code in codes}
    for row in sorted(rows, key=lambda r: (r["created_at"], r["pk"]), reverse=True):
        out[row["error_code"] or "(none)"].append(row)
    return out


def failure_groups(*, start: datetime, now: datetime, examples: int = EXAMPLES_PER_CODE) -> dict:
    """Failed tasks grouped by error code: count, share of the failures, failure rate, last seen, a
    per-day trend, and the latest examples of each code."""
    totals = rollups.totals(start=start, now=now, states_only=True, hourly_since=now)
    summary = state_totals_and_failures(totals)
    days = _days(start, now)
    trend: dict[str, dict] = {}
    for (hour, state, code), tasks in totals.states.items():
        if state == State.FAILED:
            day = hour.replace(hour=0)
            by_day = trend.setdefault(code or "(none)", {})
            by_day[day] = by_day.get(day, 0) + tasks
    by_code = failure_examples(start=start, codes=[entry["code"] for entry in summary["failures"]], examples=examples)
    groups = [
        {
            **entry,
            "trend": [trend.get(entry["code"], {}).get(day, 0) for day in days],
            "examples": by_code[entry["code"]],
        }
        for entry in summary["failures"]
    ]
    return {"days": days, "groups": groups, "summary": summary}


def dashboard(*, window: Window, now: datetime | None = None) -> dict:
    """Everything the dashboard shows from the database (rq is read separately)."""
    now = now or timezone.now()
    start = now - window.span
    hourly_since = now - min(window.span, MAX_HOURLY_SPAN)
    totals = rollups.totals(start=start, now=now, hourly_since=hourly_since)
    tenants = Tenant.objects.in_bulk(list(totals.tenants))
    usage = daily_usage(start=start, now=now)
    currency_of = currencies(set(totals.tenants) | {row["tenant_id"] for row in usage}, now=now)
    return {
        "window": window,
        "start": start,
        "now": now,
        "hourly": tasks_by_state(totals, start=hourly_since, now=now, unit="hour"),
        "daily": tasks_by_state(totals, start=start, now=now, unit="day"),
        "summary": state_totals_and_failures(totals),
        "moderation": moderation_blocks(totals),
        "moderation_rules": moderation_rules(totals),
        "timings": stage_percentiles(totals),
        "revenue": revenue_per_day(usage, currency_of, start=start, now=now),
        "tenants": top_tenants(totals, tenants, currency_of),
        "queue_waits": queue_waits(totals, tenants, now=now),
    }

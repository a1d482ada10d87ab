"""The operator's numbers: every aggregate is computed in the database (GROUP BY over truncated
times, percentiles with PostgreSQL's ``percentile_cont``), so a page costs the same number of
queries whatever the number of tasks. Nothing here is scoped to a tenant: this is the operator's
view of the whole service, read through the models' ``unscoped_objects`` escape."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.apps import apps
from django.db import connection
from django.db.models import Aggregate, Count, F, FloatField, Max, Q, Sum
from django.db.models import Window as Over
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, RowNumber, TruncDay, TruncHour
from django.utils import timezone
from imgplatform.money import MoneySum

from generation.models import Image, Task

State = Task.State
STATES = [State.QUEUED, State.RUNNING, State.SUCCEEDED, State.FAILED, State.CANCELLED]
# Stages of Task.timings_ms (milliseconds) the worker records, in the order a task goes through them.
STAGES = ["queue_wait", "generation", "moderation", "storage", "total"]
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


def tasks_since(start: datetime):
    return Task.unscoped_objects.filter(created_at__gte=start)


def _hours(start: datetime, end: datetime) -> list[datetime]:
    first = start.replace(minute=0, second=0, microsecond=0)
    count = int((end - first).total_seconds() // 3600) + 1
    return [first + timedelta(hours=i) for i in range(count)]


def _days(start: datetime, end: datetime) -> list[datetime]:
    first = start.replace(hour=0, minute=0, second=0, microsecond=0)
    return [first + timedelta(days=i) for i in range((end.date() - first.date()).days + 1)]


def tasks_by_state(*, start: datetime, now: datetime, unit: str) -> dict:
    """Tasks created per hour or per day, split by state: one GROUP BY query. Every bucket of the
    range is present, with zeros where nothing happened."""
    trunc, buckets = (TruncHour, _hours) if unit == "hour" else (TruncDay, _days)
    rows = (
        tasks_since(start)
        .annotate(bucket=trunc("created_at"))
        .values("bucket", "state")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = {(row["bucket"], row["state"]): row["n"] for row in rows}
    keys = buckets(start, now)
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


def state_totals_and_failures(*, start: datetime) -> dict:
    """Counts per state and failures per error code in the window (one query). The failure rate
    of a code is its share of the tasks that ended (succeeded, failed or cancelled)."""
    rows = tasks_since(start).values("state", "error_code").annotate(n=Count("pk"), last=Max("finished_at")).order_by()
    by_state = {str(state): 0 for state in STATES}
    codes: dict[str, dict] = {}
    for row in rows:
        by_state[row["state"]] = by_state.get(row["state"], 0) + row["n"]
        if row["state"] == State.FAILED:
            code = row["error_code"] or "(none)"
            entry = codes.setdefault(code, {"code": code, "count": 0, "last": None})
            entry["count"] += row["n"]
            if row["last"] and (entry["last"] is None or row["last"] > entry["last"]):
                entry["last"] = row["last"]
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


def _json_array_rows(*, table: str, column: str, path: list[str], where: str, extra: str = "") -> str:
    """SQL that yields one row per element of the JSON array at ``path`` of ``column`` (PostgreSQL
    jsonb or SQLite JSON1), for GROUP BY in the database."""
    if connection.vendor == "postgresql":
        expr = f"{column}" + "".join(f"->'{key}'" for key in path)
        source = (
            f"CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof({expr}) = 'array' "
            f"THEN {expr} ELSE '[]'::jsonb END) AS el(value)"
        )
    else:
        source = f", json_each({column}, '$.{'.'.join(path)}') AS el"
    return (
        f"SELECT el.value, COUNT(*), COUNT(DISTINCT t.id) FROM {table} {extra} {source} WHERE {where} GROUP BY el.value"
    )


def moderation_blocks(*, start: datetime) -> list[dict]:
    """Moderation blocks by category (two queries, both grouped in the database):

    - prompt: tasks failed with ``moderation_blocked_prompt``, per category their prompt verdict
      named (``moderation_report.prompt.categories``; a prompt can name several);
    - image: images flagged by the image check (a strict task that failed with
      ``moderation_blocked_image``, or images withheld from a partial one), per flagged label,
      with the number of tasks they belong to."""
    task_table, image_table = Task._meta.db_table, Image._meta.db_table
    since = connection.ops.adapt_datetimefield_value(start)
    prompt_sql = _json_array_rows(
        table=f"{task_table} t",
        column="t.moderation_report",
        path=["prompt", "categories"],
        where="t.error_code = %s AND t.created_at >= %s",
    )
    image_sql = _json_array_rows(
        table=f"{image_table} i",
        extra=f"JOIN {task_table} t ON t.id = i.task_id",
        column="i.moderation",
        path=["flagged"],
        where="i.flagged = %s AND t.created_at >= %s",
    )
    out = []
    with connection.cursor() as cursor:
        cursor.execute(prompt_sql, ["moderation_blocked_prompt", since])
        for category, _count, tasks in cursor.fetchall():
            out.append({"stage": "prompt", "category": str(category), "tasks": tasks, "images": 0})
        cursor.execute(image_sql, [True, since])
        for label, images, tasks in cursor.fetchall():
            out.append({"stage": "image", "category": str(label), "tasks": tasks, "images": images})
    return sorted(out, key=lambda e: (-e["tasks"], e["stage"], e["category"]))


def moderation_rules(*, start: datetime) -> list[dict]:
    """Prompts blocked per concept rule (``moderation_report.prompt.rules``, e.g.
    ``minors.minor_with_sexualising``), grouped in the database: which rules do the blocking."""
    task_table = Task._meta.db_table
    since = connection.ops.adapt_datetimefield_value(start)
    sql = _json_array_rows(
        table=f"{task_table} t",
        column="t.moderation_report",
        path=["prompt", "rules"],
        where="t.error_code = %s AND t.created_at >= %s",
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, ["moderation_blocked_prompt", since])
        rows = [
            {"category": str(rule).split(".", 1)[0], "rule": str(rule), "tasks": tasks}
            for rule, _count, tasks in cursor.fetchall()
        ]
    return sorted(rows, key=lambda e: (-e["tasks"], e["rule"]))


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate: the continuous percentile of the non-null values."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def _stage_value(stage: str):
    return Cast(KeyTextTransform(stage, "timings_ms"), FloatField())


def stage_percentiles(*, start: datetime) -> list[dict]:
    """p50 and p95 of each stage's time (ms) over the window's tasks that recorded it."""
    if connection.vendor == "postgresql":
        return stage_percentiles_postgres(start=start)
    return stage_percentiles_bounded(start=start)


def stage_percentiles_postgres(*, start: datetime) -> list[dict]:
    """One query: ``percentile_cont`` per stage and percentile, plus the count of each stage."""
    aggregates = {}
    for stage in STAGES:
        aggregates[f"{stage}__n"] = Count(_stage_value(stage))
        for p in PERCENTILES:
            aggregates[f"{stage}__p{round(p * 100)}"] = PercentileCont(_stage_value(stage), p)
    result = tasks_since(start).aggregate(**aggregates)
    return [
        {
            "stage": stage,
            "count": result[f"{stage}__n"],
            **{f"p{round(p * 100)}": result[f"{stage}__p{round(p * 100)}"] for p in PERCENTILES},
        }
        for stage in STAGES
    ]


def stage_percentiles_bounded(*, start: datetime) -> list[dict]:
    """The portable fallback (SQLite): the same continuous percentile (linear interpolation between
    the two nearest ranks), read as at most two ordered values per stage and percentile. One count
    query, then 2 x 5 small queries: a fixed number whatever the row count."""
    base = tasks_since(start)
    counts = base.aggregate(**{stage: Count(_stage_value(stage)) for stage in STAGES})
    out = []
    for stage in STAGES:
        n = counts[stage]
        entry = {"stage": stage, "count": n}
        values = base.annotate(v=_stage_value(stage)).filter(v__isnull=False).order_by("v")
        for p in PERCENTILES:
            key = f"p{round(p * 100)}"
            if not n:
                entry[key] = None
                continue
            rank = p * (n - 1)
            low = math.floor(rank)
            pair = list(values.values_list("v", flat=True)[low : low + 2])
            entry[key] = pair[0] + (rank - low) * ((pair[1] if len(pair) > 1 else pair[0]) - pair[0])
        out.append(entry)
    return out


def revenue_per_day(*, start: datetime, now: datetime) -> dict:
    """Delivered images, billed tasks and revenue per day and currency from the ledger (the
    ``UsageRecord`` rows written in the transaction that finished each task; ``day`` is the day it
    finished). One query.

    The ledger is billing's, which the console does not import (billing and console are siblings
    above generation: docs/architecture.md): it is read by model name, like ``top_tenants`` reads
    it through the task's ``usage`` relation."""
    ledger = apps.get_model("billing", "UsageRecord")
    rows = (
        ledger.unscoped_objects.filter(day__gte=start.date(), day__lte=now.date())
        .values("day", "currency")
        .annotate(tasks=Count("pk"), images=Sum("images"), amount=MoneySum("amount"))
        .order_by("day", "currency")
    )
    by_key = {(row["day"], row["currency"]): row for row in rows}
    currencies = sorted({currency for _, currency in by_key}) or ["USD"]
    days = [day.date() for day in _days(start, now)]
    table = []
    for day in days:
        for currency in currencies:
            row = by_key.get((day, currency), {})
            table.append(
                {
                    "day": day,
                    "currency": currency,
                    "tasks": row.get("tasks", 0),
                    "images": row.get("images", 0),
                    "amount": row.get("amount") or Decimal("0"),
                }
            )
    totals = {
        currency: {
            "images": sum(r["images"] for r in table if r["currency"] == currency),
            "amount": sum((r["amount"] for r in table if r["currency"] == currency), Decimal("0")),
        }
        for currency in currencies
    }
    return {"days": days, "currencies": currencies, "rows": table, "totals": totals}


def top_tenants(*, start: datetime, limit: int = TOP_TENANTS) -> list[dict]:
    """The tenants with the most tasks in the window, with their failures, delivered images and
    revenue (the ledger rows of those tasks; a tenant bills in one currency). One query."""
    rows = (
        tasks_since(start)
        .values("tenant_id", "tenant__name", "tenant__status")
        .annotate(
            tasks=Count("pk"),
            failed=Count("pk", filter=Q(state=State.FAILED)),
            images=Sum("images_delivered"),
            revenue=MoneySum("usage__amount"),
            currency=Max("usage__currency"),
        )
        .order_by("-tasks", "tenant__name")[:limit]
    )
    return [
        {
            "tenant_id": row["tenant_id"],
            "name": row["tenant__name"],
            "status": row["tenant__status"],
            "tasks": row["tasks"],
            "failed": row["failed"],
            "images": row["images"] or 0,
            "revenue": row["revenue"] or Decimal("0"),
            "currency": row["currency"] or "",
        }
        for row in rows
    ]


def failure_groups(*, start: datetime, now: datetime, examples: int = EXAMPLES_PER_CODE) -> dict:
    """Failed tasks grouped by error code: count, share of the failures, failure rate, last seen, a
    per-day trend, and the latest examples of each code. Three queries."""
    summary = state_totals_and_failures(start=start)
    failed = tasks_since(start).filter(state=State.FAILED)
    days = [day for day in _days(start, now)]
    trend_rows = (
        failed.annotate(day=TruncDay("created_at")).values("error_code", "day").annotate(n=Count("pk")).order_by()
    )
    trend: dict[str, dict] = {}
    for row in trend_rows:
        trend.setdefault(row["error_code"] or "(none)", {})[row["day"]] = row["n"]
    latest = (
        failed.annotate(
            rank=Over(RowNumber(), partition_by=[F("error_code")], order_by=[F("created_at").desc(), F("pk").desc()])
        )
        .filter(rank__lte=examples)
        .values(
            "pk", "error_code", "error_detail", "created_at", "finished_at", "tenant__name", "project__name", "model"
        )
        .order_by("error_code", "-created_at", "-pk")
    )
    by_code: dict[str, list] = {}
    for row in latest:
        by_code.setdefault(row["error_code"] or "(none)", []).append(row)
    groups = []
    for entry in summary["failures"]:
        code = entry["code"]
        groups.append(
            {
                **entry,
                "trend": [trend.get(code, {}).get(day, 0) for day in days],
                "examples": by_code.get(code, []),
            }
        )
    return {"days": days, "groups": groups, "summary": summary}


def dashboard(*, window: Window, now: datetime | None = None) -> dict:
    """Everything the dashboard shows from the database (rq is read separately)."""
    now = now or timezone.now()
    start = now - window.span
    hourly_start = now - min(window.span, MAX_HOURLY_SPAN)
    return {
        "window": window,
        "start": start,
        "now": now,
        "hourly": tasks_by_state(start=hourly_start, now=now, unit="hour"),
        "daily": tasks_by_state(start=start, now=now, unit="day"),
        "summary": state_totals_and_failures(start=start),
        "moderation": moderation_blocks(start=start),
        "moderation_rules": moderation_rules(start=start),
        "timings": stage_percentiles(start=start),
        "revenue": revenue_per_day(start=start, now=now),
        "tenants": top_tenants(start=start),
    }

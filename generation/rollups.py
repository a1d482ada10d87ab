"""Hourly rollups of tasks, so the operator's pages (console/metrics.py) read a few thousand rows
for any window instead of every task in it.

What is rolled up: the tasks *created* in one hour (UTC), once every one of them has ended, per
tenant, model, state and error code (count, images delivered, charge, queue waits, last end), the
stage times of :data:`STAGES` as log-bucket histograms (8 buckets per doubling), and moderation
blocks (prompt categories and rules, flagged image labels). An hour that is written is ``done``
(:class:`RollupHour`); a window is then read as: the rollups of its done hours, plus the tasks
themselves for everything else (the partial hour at its start, the current hour, and any hour
that still has a queued or running task). Counts, images, charges, failures, moderation blocks
and queue waits are therefore exact; stage percentiles are read from the histograms, within half a
bucket (about 4.5%) of the exact value.

An hour is written by :func:`rollup_job` (the scheduler, every ``ROLLUP_INTERVAL`` seconds, and
``manage.py rollup_tasks``, which also back-fills) when it closed at least ``CLOSE_AFTER`` ago,
after every database transaction that began before then has ended (PostgreSQL: pg_stat_activity),
and none of its tasks is queued or running. Its rows and its ``done`` mark commit together, under a
lock on its RollupHour row. The only way back from an ended state is an operator's retry
(generation.services.task_retry): it calls :func:`reopen` in its transaction, which takes the same
lock, marks the hour pending and deletes its rows; the next run writes it again once the retried
task has ended. Task ends themselves never touch the rollups (a done hour has no task left to end).
"""

from __future__ import annotations

import contextlib
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    Max,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Floor, Ln, TruncDay, TruncHour
from django.utils import timezone

from generation.models import Image, ModerationRollup, RollupHour, Span, StageRollup, Task, TaskRollup

State = Task.State
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
ROLLUPS = (TaskRollup, StageRollup, ModerationRollup)
STAGES = ["queue_wait", "generation", "moderation", "storage", "total"]
RATIO = 2 ** (1 / 8)  # bucket b >= 1 holds [RATIO^(b-1), RATIO^b) ms; bucket 0 [0, 1) ms
CLOSE_AFTER = timedelta(minutes=5)
HOURS_PER_RUN = 7 * 24
NOT_ENDED = (State.QUEUED, State.RUNNING)
MONEY = Decimal("0.00001")


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def floor_day(moment: datetime) -> datetime:
    return floor_hour(moment).replace(hour=0)


def bucket_bounds(bucket: int) -> tuple[float, float]:
    return (0.0, 1.0) if bucket == 0 else (RATIO ** (bucket - 1), RATIO**bucket)


def spans_of(hours: list[datetime]) -> list[tuple[datetime, datetime]]:
    """Sorted hours as contiguous [start, end) spans."""
    spans: list[tuple[datetime, datetime]] = []
    for hour in sorted(hours):
        if spans and spans[-1][1] == hour:
            spans[-1] = (spans[-1][0], hour + HOUR)
        else:
            spans.append((hour, hour + HOUR))
    return spans


def created_in(spans, field: str = "created_at") -> Q:
    """Rows whose ``field`` (a task's creation) falls in any of ``spans`` ([start, end); an end of
    None is open)."""
    found = Q(pk__in=[])
    for start, end in spans:
        found |= Q(**{f"{field}__gte": start}) & (Q(**{f"{field}__lt": end}) if end is not None else Q())
    return found


def _hour(name: str = "created_at"):
    return TruncHour(name, tzinfo=UTC)


# --- Aggregates of the tasks created in some spans, by hour -------------------------------------
def task_rows(spans) -> list[dict]:
    """TaskRollup's columns for the tasks created in ``spans``, one row per hour and key."""
    wait = ExpressionWrapper(F("started_at") - F("created_at"), output_field=DurationField())
    rows = (
        Task.unscoped_objects.filter(created_in(spans))
        .annotate(hour=_hour())
        .values("hour", "tenant_id", "model", "state", "error_code")
        .annotate(
            tasks=Count("pk"),
            images=Sum("images_delivered"),
            charge=Sum("charge"),
            started=Count("started_at"),
            wait=Sum(wait),
            wait_max=Max(wait),
            last_finished_at=Max("finished_at"),
        )  # fmt: skip
        .order_by()
    )
    out = []
    for row in rows:
        wait, wait_max = row.pop("wait"), row.pop("wait_max")
        charge = Decimal(row.pop("charge") or 0).quantize(MONEY)
        out.append({**row, "images": row["images"] or 0, "charge": charge, "wait_ms": _ms(wait) or 0.0,
                    "wait_ms_max": _ms(wait_max)})  # fmt: skip
    return out


def _ms(duration: timedelta | None) -> float | None:
    return None if duration is None else duration.total_seconds() * 1000


def _bucket(value: str):
    log_bucket = Cast(Floor(Ln(F(value)) / Value(math.log(RATIO))), IntegerField()) + 1
    return Case(When(**{f"{value}__lt": 1}, then=Value(0)), default=log_bucket, output_field=IntegerField())


def stage_rows(spans) -> list[dict]:
    """StageRollup's columns: per hour, stage and bucket, the tasks whose time fell in it (one
    query: a UNION ALL over the stages, bucketed in the database)."""
    tasks = Task.unscoped_objects.filter(created_in(spans)).annotate(hour=_hour())
    parts = [
        tasks.annotate(v=Cast(KeyTextTransform(stage, "timings_ms"), FloatField()))
        .filter(v__isnull=False)
        .annotate(stage=Value(stage), bucket=_bucket("v"))
        .values("hour", "stage", "bucket")
        .annotate(count=Count("pk"))
        .order_by()
        for stage in STAGES
    ]
    return list(parts[0].union(*parts[1:], all=True))


def moderation_rows(spans) -> list[dict]:
    """ModerationRollup's columns: blocked prompts' categories and rules, flagged images' labels
    (tasks counted once per name)."""
    tasks: dict[tuple, set] = defaultdict(set)
    images: dict[tuple, int] = defaultdict(int)
    prompt = KeyTransform("prompt", "moderation_report")
    blocked = (
        Task.unscoped_objects.filter(created_in(spans), error_code="moderation_blocked_prompt")
        .annotate(hour=_hour(), categories=KeyTransform("categories", prompt), rules=KeyTransform("rules", prompt))
        .values_list("hour", "pk", "categories", "rules")
    )
    for hour, pk, categories, rules in blocked:
        for kind, names in (("prompt", categories), ("rule", rules)):
            for name in _names(names):
                tasks[(hour, kind, name)].add(pk)
    flagged = (
        Image.unscoped_objects.filter(created_in(spans, "task__created_at"), flagged=True)
        .annotate(hour=_hour("task__created_at"), labels=KeyTransform("flagged", "moderation"))
        .values_list("hour", "task_id", "labels")
        .order_by()
    )
    for hour, task_id, labels in flagged:
        for name in _names(labels):
            tasks[(hour, "image", name)].add(task_id)
            images[(hour, "image", name)] += 1
    return [
        {"hour": hour, "kind": kind, "name": name, "tasks": len(ids), "images": images.get((hour, kind, name), 0)}
        for (hour, kind, name), ids in tasks.items()
    ]


def _names(value) -> set[str]:
    return {str(name)[:200] for name in value} if isinstance(value, list) else set()


# --- Writing done hours -------------------------------------------------------------------------
def closed_before(now: datetime) -> datetime:
    """Hours before this one are closed: ended CLOSE_AFTER ago, and no open transaction began
    before that (one could still be inserting a task created then)."""
    horizon = now
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT min(xact_start) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
            )
            oldest = cursor.fetchone()[0]
        if oldest is not None:
            horizon = min(horizon, oldest)
    return floor_hour(horizon - CLOSE_AFTER)


def materialise(hours: list[datetime], *, now: datetime | None = None) -> list[datetime]:
    """Write the rollups of those ``hours`` that are pending and whose every task has ended, and
    mark them done, in one transaction holding their RollupHour rows. Returns the hours written."""
    now = now or timezone.now()
    hours = sorted(set(hours))
    if not hours:
        return []
    with transaction.atomic():
        _one_run_at_a_time()
        RollupHour.objects.bulk_create([RollupHour(hour=hour) for hour in hours], ignore_conflicts=True)
        pending = RollupHour.objects.select_for_update().filter(hour__in=hours, done=False).order_by("hour")
        todo = [row.hour for row in pending]
        busy = set(
            Task.unscoped_objects.filter(created_in(spans_of(todo)), state__in=NOT_ENDED)
            .annotate(hour=_hour())
            .values_list("hour", flat=True)
            .distinct()
        )
        ready = [hour for hour in todo if hour not in busy]
        if ready:
            _write(ready)
            RollupHour.objects.filter(hour__in=ready).update(done=True)
            _write_days(sorted({floor_day(hour) for hour in ready}))
        RollupHour.objects.filter(hour__in=todo).update(checked_at=now)
    return ready


def _one_run_at_a_time() -> None:
    """Runs write one after another (PostgreSQL: a transaction-scoped advisory lock), so a day's
    rows are added up from all its hours (SQLite writes one transaction at a time anyway)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('generation.rollups'))")


def _write(hours: list[datetime]) -> None:
    spans = spans_of(hours)
    for model in ROLLUPS:
        model.objects.filter(span=Span.HOUR, hour__in=hours).delete()
    TaskRollup.objects.bulk_create([TaskRollup(**row) for row in task_rows(spans)], batch_size=2000)
    StageRollup.objects.bulk_create([StageRollup(**row) for row in stage_rows(spans)], batch_size=2000)
    ModerationRollup.objects.bulk_create([ModerationRollup(**row) for row in moderation_rows(spans)], batch_size=2000)


# What a day row adds up, per rollup table: (its key columns, {column: aggregate}).
DAY_SUMS = {
    TaskRollup: (
        ("tenant_id", "model", "state", "error_code"),
        {"tasks": Sum("tasks"), "images": Sum("images"), "charge": Sum("charge"), "started": Sum("started"),
         "wait_ms": Sum("wait_ms"), "wait_ms_max": Max("wait_ms_max"), "last_finished_at": Max("last_finished_at")},
    ),
    StageRollup: (("stage", "bucket"), {"count": Sum("count")}),
    ModerationRollup: (("kind", "name"), {"tasks": Sum("tasks"), "images": Sum("images")}),
}  # fmt: skip


def _write_days(days: list[datetime]) -> None:
    """The day rows of ``days`` whose 24 hours are all done: their hour rows added up (a page reads
    a month as 30 day rows, not 720 hours). A day with an hour pending has none."""
    for day in days:
        hours = {"hour__gte": day, "hour__lt": day + DAY}
        complete = RollupHour.objects.filter(done=True, **hours).count() == 24
        for model, (keys, sums) in DAY_SUMS.items():
            model.objects.filter(span=Span.DAY, hour=day).delete()
            if complete:
                rows = (
                    model.objects.filter(span=Span.HOUR, **hours)
                    .values(*keys)
                    .annotate(**{f"day_{k}": v for k, v in sums.items()})
                )
                model.objects.bulk_create(
                    [
                        model(hour=day, span=Span.DAY, **{k.removeprefix("day_"): v for k, v in row.items()})
                        for row in rows.order_by()
                    ],
                    batch_size=2000,
                )


def reopen(created_at: datetime) -> None:
    """Inside the transaction that takes a task created at ``created_at`` out of an ended state
    (an operator's retry): its hour is read from the tasks again until a run writes it anew. The
    update takes the hour's row lock whether the hour is done or pending, so it is ordered against a
    run writing the hour: that run either finishes first (and its rows are deleted here) or waits
    for this commit and sees the task queued."""
    hour = floor_hour(created_at)
    RollupHour.objects.bulk_create([RollupHour(hour=hour)], ignore_conflicts=True)
    RollupHour.objects.filter(hour=hour).update(done=False)
    for model in ROLLUPS:
        model.objects.filter(span=Span.HOUR, hour=hour).delete()  # its day's row is unused until it is done


def rollup_job(*, now: datetime | None = None, limit: int = HOURS_PER_RUN) -> dict:
    """The periodic run: the hours closed since the last run (at most ``limit``, oldest first, so a
    back-fill goes on run after run) and the pending ones that can be written now."""
    now = now or timezone.now()
    closed = closed_before(now)
    checked = RollupHour.objects.filter(checked_at__isnull=False)
    newest = checked.order_by("-hour").values_list("hour", flat=True).first()
    first = Task.unscoped_objects.order_by("created_at").values_list("created_at", flat=True).first()
    start = newest + HOUR if newest else (floor_hour(first) if first else closed)
    new = [start + HOUR * i for i in range(min(limit, max(0, int((closed - start) / HOUR))))]
    waiting = RollupHour.objects.filter(done=False, hour__lt=min(start, closed)).order_by("hour")
    old = list(waiting.values_list("hour", flat=True)[:limit])
    written = materialise(new + old, now=now)
    left = max(0, int((closed - start) / HOUR) - len(new))
    return {"written": len(written), "new": len(new), "retried": len(old), "hours_left": left}


def rebuild(*, since: datetime | None = None) -> None:
    """Forget the rollups (from ``since``); the next runs write them again from the tasks."""
    with transaction.atomic():
        for model in (*ROLLUPS, RollupHour):
            rows = model.objects.all() if since is None else model.objects.filter(hour__gte=floor_hour(since))
            rows.delete()


# --- Reading a window ---------------------------------------------------------------------------
@dataclass
class Totals:
    """The tasks created in a window, added up: ``states`` (hour or day, state, error code) ->
    tasks; ``last`` (state, error code) -> the latest end; ``tenants`` -> tasks, failed, images,
    charge, started, wait_ms, wait_ms_max; ``stages`` -> bucket -> tasks; ``moderation`` (kind,
    name) -> tasks, images."""

    states: dict[tuple, int] = field(default_factory=dict)
    last: dict[tuple, datetime] = field(default_factory=dict)
    tenants: dict[int, dict] = field(default_factory=dict)
    stages: dict[str, dict[int, int]] = field(default_factory=lambda: {stage: {} for stage in STAGES})
    moderation: dict[tuple, dict] = field(default_factory=dict)

    def add_state(self, hour, state, error_code, tasks) -> None:
        self.states[(hour, state, error_code)] = self.states.get((hour, state, error_code), 0) + tasks

    def add_last(self, state, error_code, last) -> None:
        if last is not None and (self.last.get((state, error_code)) is None or last > self.last[(state, error_code)]):
            self.last[(state, error_code)] = last

    def add_tenant(self, tenant_id: int, row: dict) -> None:
        entry = self.tenants.setdefault(
            tenant_id,
            {
                "tasks": 0,
                "failed": 0,
                "images": 0,
                "charge": Decimal(0),
                "started": 0,
                "wait_ms": 0.0,
                "wait_ms_max": None,
            },  # fmt: skip
        )
        for key in ("tasks", "failed", "images", "charge", "started", "wait_ms"):
            entry[key] += row[key] or 0
        if row["wait_ms_max"] is not None:
            entry["wait_ms_max"] = max(entry["wait_ms_max"] or 0.0, row["wait_ms_max"])

    def add_stage(self, stage: str, bucket: int, count: int) -> None:
        self.stages[stage][bucket] = self.stages[stage].get(bucket, 0) + count

    def add_moderation(self, kind: str, name: str, tasks: int, images: int) -> None:
        entry = self.moderation.setdefault((kind, name), {"tasks": 0, "images": 0})
        entry["tasks"] += tasks
        entry["images"] += images


@contextlib.contextmanager
def _snapshot():
    """One snapshot for every read of a window (PostgreSQL, outside a transaction: REPEATABLE
    READ), so an hour written meanwhile is counted once, from its rows or from its tasks. Its reads
    are small (a few thousand rows): no parallel workers, whose start-up cost 20-50 ms a query on a
    busy two-core host for 2 ms of work."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        yield


def totals(
    *, start: datetime, now: datetime, states_only: bool = False, hourly_since: datetime | None = None
) -> Totals:
    """Everything created from ``start`` on: done hours from their rollups, the rest from tasks.
    ``states_only``: the counts per hour, state and code alone (tenants too for the tasks read).
    ``hourly_since``: the days before this one's are read from day rows where they have one and
    counted per day (keyed by the day's start), for pages that chart them by day."""
    out = Totals()
    first_full, current = floor_hour(start) + (HOUR if start != floor_hour(start) else timedelta()), floor_hour(now)
    with _snapshot():
        if first_full >= current:
            _add_tasks(out, [(start, None)], states_only)
            return out
        done = set(
            RollupHour.objects.filter(done=True, hour__gte=first_full, hour__lt=current).values_list("hour", flat=True)
        )
        hours = [first_full + HOUR * i for i in range(int((current - first_full) / HOUR))]
        live = ([(start, first_full)] if start < first_full else []) + spans_of([h for h in hours if h not in done])
        if done:
            split = max(first_full, floor_day(hourly_since or start))
            days = [day for day in {floor_day(h) for h in hours} if day + DAY <= split and _whole(day, done)]
            rows = Q(span=Span.DAY, hour__in=days) | Q(
                created_in(spans_of([h for h in hours if floor_day(h) not in days]), "hour"), span=Span.HOUR
            )
            _add_rollups(out, rows, states_only, by_day_before=split)
        _add_tasks(out, [*live, (current, None)], states_only)
    return out


def _whole(day: datetime, done: set) -> bool:
    return all(day + HOUR * i in done for i in range(24))


def _add_rollups(out: Totals, stored: Q, states_only: bool, *, by_day_before: datetime) -> None:
    """Adds the rollup rows ``stored`` selects: per hour (per day before ``by_day_before``), state
    and code; per tenant; stage histograms; moderation blocks."""
    rows = TaskRollup.objects.filter(stored)
    bucket = Case(When(hour__lt=by_day_before, then=TruncDay("hour", tzinfo=UTC)), default=F("hour"))
    by_state = rows.annotate(bucket=bucket).values("bucket", "state", "error_code")
    for row in by_state.annotate(n=Sum("tasks")).order_by():
        out.add_state(row["bucket"], row["state"], row["error_code"], row["n"])
    for row in rows.values("state", "error_code").annotate(last=Max("last_finished_at")).order_by():
        out.add_last(row["state"], row["error_code"], row["last"])
    if states_only:
        return
    sums = {key: Sum(key) for key in ("tasks", "images", "charge", "started", "wait_ms")}
    by_tenant = rows.values("tenant_id").annotate(
        **{f"sum_{key}": total for key, total in sums.items()},
        sum_failed=Sum("tasks", filter=Q(state=State.FAILED)),
        sum_wait_ms_max=Max("wait_ms_max"),
    )
    for row in by_tenant.order_by():
        entry = {key.removeprefix("sum_"): value for key, value in row.items()}
        out.add_tenant(row["tenant_id"], {**entry, "charge": Decimal(entry["charge"] or 0).quantize(MONEY)})
    for row in StageRollup.objects.filter(stored).values("stage", "bucket").annotate(n=Sum("count")).order_by():
        out.add_stage(row["stage"], row["bucket"], row["n"])
    moderation = ModerationRollup.objects.filter(stored).values("kind", "name")
    for row in moderation.annotate(n_tasks=Sum("tasks"), n_images=Sum("images")).order_by():
        out.add_moderation(row["kind"], row["name"], row["n_tasks"], row["n_images"])


def _add_tasks(out: Totals, spans, states_only: bool) -> None:
    for row in task_rows(spans):
        out.add_state(row["hour"], row["state"], row["error_code"], row["tasks"])
        out.add_last(row["state"], row["error_code"], row["last_finished_at"])
        out.add_tenant(row["tenant_id"], {**row, "failed": row["tasks"] if row["state"] == State.FAILED else 0})
    if states_only:
        return
    for row in stage_rows(spans):
        if row["stage"] in out.stages:
            out.add_stage(row["stage"], row["bucket"], row["count"])
    for row in moderation_rows(spans):
        out.add_moderation(row["kind"], row["name"], row["tasks"], row["images"])


def percentile(histogram: dict[int, int], fraction: float) -> float | None:
    """The ``fraction`` percentile as PostgreSQL's percentile_cont has it (the values at ranks
    floor and ceil of fraction x (n - 1), interpolated), each value estimated from its bucket: the
    k-th of a bucket's c values at (k + 1/2) / c of the way through it on a log scale. Within
    half a bucket (about 4.4%) of the exact value."""
    n = sum(histogram.values())
    if not n:
        return None
    rank = fraction * (n - 1)
    low = math.floor(rank)
    below, above = _value_at(histogram, low), _value_at(histogram, min(low + 1, n - 1))
    return below + (rank - low) * (above - below)


def _value_at(histogram: dict[int, int], k: int) -> float:
    seen = 0
    for bucket in sorted(histogram):
        count = histogram[bucket]
        if k < seen + count:
            share = (k - seen + 0.5) / count
            low, high = bucket_bounds(bucket)
            return low + (high - low) * share if bucket == 0 else low * (high / low) ** share
        seen += count
    return bucket_bounds(max(histogram))[1]

"""The dashboard's numbers, computed in the database, checked against a small service whose
every number is known; its cost in queries; and what it shows with no data or no Redis."""

from __future__ import annotations

import math
import random
import re
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import django_rq
import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rq import Worker

from billing.models import UsageRecord
from console import metrics
from generation import rollups
from generation.models import Task
from tests.conftest import queues_for
from tests.console.conftest import write_rollups
from tests.factories import ProjectFactory
from tests.reliability.conftest import OwnRedis

WEEK = metrics.WINDOWS["7d"]
DAY = metrics.WINDOWS["24h"]


def data_for(service, window=WEEK):
    return metrics.dashboard(window=window, now=service.now)


def test_tasks_by_state_count_every_task_of_the_window(service):
    data = data_for(service)
    assert data["summary"]["by_state"] == {"queued": 1, "running": 1, "succeeded": 5, "failed": 5, "cancelled": 1}
    assert data["summary"]["total"] == 13  # the task of 40 days ago is in no window
    assert data_for(service, DAY)["summary"]["total"] == 12  # nor the one of three days ago


def test_tasks_per_day_and_per_hour_match_the_rows(service):
    data = data_for(service)
    in_window = [t for t in service.tasks if t.created_at >= service.now - WEEK.span]
    expected = Counter((t.created_at.date(), t.state) for t in in_window)
    states = data["daily"]["states"]
    got = {
        (row["bucket"].date(), state): n
        for row in data["daily"]["rows"]
        for state, n in zip(states, row["counts"], strict=True)
        if n
    }
    assert got == dict(expected)
    assert len(data["daily"]["rows"]) == 8  # seven days back, and today
    hourly = data["hourly"]
    assert len(hourly["rows"]) == 7 * 24 + 1
    assert sum(row["total"] for row in hourly["rows"]) == 13
    hour = (service.now - timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    assert next(row for row in hourly["rows"] if row["bucket"] == hour)["counts"][states.index("succeeded")] >= 1


def test_failure_rate_by_error_code_is_a_share_of_the_ended_tasks(service):
    summary = data_for(service)["summary"]
    assert summary["ended"] == 11 and summary["failed"] == 5
    rows = {f["code"]: (f["count"], f["rate_pct"], f["share_pct"]) for f in summary["failures"]}
    assert rows == {
        "moderation_blocked_prompt": (2, 18.18, 40.0),
        "generation_failed": (1, 9.09, 20.0),
        "moderation_blocked_image": (1, 9.09, 20.0),
        "service_unavailable": (1, 9.09, 20.0),
    }
    assert summary["failures"][0]["code"] == "moderation_blocked_prompt"  # most frequent first


def test_moderation_blocks_by_category(service):
    rows = {(m["stage"], m["category"]): (m["tasks"], m["images"]) for m in data_for(service)["moderation"]}
    assert rows == {
        ("prompt", "sexual"): (2, 0),
        ("prompt", "minors"): (1, 0),
        ("image", "FEMALE_BREAST_EXPOSED"): (1, 2),  # two images of one strict task
        ("image", "BUTTOCKS_EXPOSED"): (2, 2),  # one of the strict task, one withheld from a partial one
    }


def test_stage_percentiles_interpolate_like_percentile_cont(service):
    rows = {t["stage"]: t for t in data_for(service)["timings"]}
    # generation: 100 200 250 300 400 500 -> p50 between 250 and 300, p95 at 4.75 of 5 ranks; the
    # values come from log-bucket histograms (generation/rollups.py): within half a bucket
    assert rows["generation"]["count"] == 6
    assert rows["generation"]["p50"] == pytest.approx(275.0, rel=0.045)
    assert rows["generation"]["p95"] == pytest.approx(475.0, rel=0.045)
    # queue wait also counts the running task (1.5 s)
    assert rows["queue_wait"]["count"] == 7
    assert rows["queue_wait"]["p50"] == pytest.approx(30.0, rel=0.045)
    assert rows["queue_wait"]["p95"] == pytest.approx(50 + 0.7 * 1450, rel=0.045)


def exact_percentile(values: list[float], fraction: float) -> float:
    """PostgreSQL's percentile_cont."""
    values = sorted(values)
    rank = fraction * (len(values) - 1)
    low = int(rank)
    high = min(low + 1, len(values) - 1)
    return values[low] + (rank - low) * (values[high] - values[low])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_percentiles_from_the_histograms_are_within_half_a_bucket_of_percentile_cont(seed):
    rng = random.Random(seed)
    values = [rng.lognormvariate(6.5, 1.2) for _ in range(2000)] + [0.4, 0.7]
    histogram = Counter(0 if v < 1 else 1 + math.floor(math.log(v) / math.log(rollups.RATIO)) for v in values)
    for fraction in (0.05, 0.5, 0.95, 0.99):
        assert rollups.percentile(histogram, fraction) == pytest.approx(exact_percentile(values, fraction), rel=0.045)
    assert rollups.percentile({}, 0.5) is None


def test_images_and_revenue_per_day_come_from_the_ledger(service):
    revenue = data_for(service)["revenue"]
    assert revenue["currencies"] == ["USD"]
    assert revenue["totals"] == {"USD": {"images": 8, "amount": Decimal("0.04000")}}
    in_window = UsageRecord.unscoped_objects.filter(day__gte=(service.now - WEEK.span).date())
    by_day = {}
    for record in in_window:
        by_day[record.day] = by_day.get(record.day, 0) + record.images
    assert {r["day"]: r["images"] for r in revenue["rows"] if r["images"]} == by_day


def test_top_tenants_by_tasks_with_failures_images_and_revenue(service):
    tenants = [(t["name"], t["tasks"], t["failed"], t["images"], t["revenue"]) for t in data_for(service)["tenants"]]
    assert tenants == [
        ("Alpha Studio", 5, 1, 7, Decimal("0.03500")),
        ("Beta Labs", 4, 3, 1, Decimal("0.00500")),
        ("Gamma Co", 4, 1, 0, Decimal("0")),
    ]


def test_the_page_shows_the_numbers_and_the_chart_data(staff_client, service):
    response = staff_client.get("/admin/console/?window=7d")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<span class="value" id="summary-total">13</span>' in html
    assert re.search(r'data-code="moderation_blocked_prompt">.*?<td class="num">2</td><td class="num">18.18</td>', html)
    assert "/admin/generation/task/?error_code__exact=moderation_blocked_prompt" in html
    p50 = re.search(
        r'data-stage="generation"><td>generation</td><td class="num">6</td><td class="num">([\d.]+)</td>', html
    )
    assert float(p50.group(1)) == pytest.approx(275.0, rel=0.045)
    assert re.search(r'data-total="USD">.*?<td class="num">8</td><td class="num">0.04000</td>', html)
    assert 'src="/static/console/vendor/chartjs/chart.umd.min.js"' in html
    assert "<script>" not in html.replace('<script id="console-charts" type="application/json">', "")
    charts = {c["id"]: c for c in response.context["charts"]}
    assert set(charts) == {
        "tasks-hourly",
        "tasks-daily",
        "failures",
        "moderation",
        "timings",
        "images",
        "revenue",
        "tenants",
    }
    assert charts["failures"]["labels"][0] == "moderation_blocked_prompt"
    assert charts["timings"]["datasets"][0]["data"][1] == float(p50.group(1))


def test_the_window_is_chosen_and_a_bad_one_is_the_default(staff_client, service):
    assert staff_client.get("/admin/console/?window=24h").context["data"]["summary"]["total"] == 12
    response = staff_client.get("/admin/console/?window=nonsense")
    assert response.status_code == 200
    assert response.context["data"]["window"] == WEEK


def test_an_empty_service_renders_with_zeros(staff_client, db):
    response = staff_client.get("/admin/console/")
    assert response.status_code == 200
    assert response.context["data"]["summary"]["total"] == 0
    assert all(t["p50"] is None for t in response.context["data"]["timings"])
    assert "No failed tasks in this window." in response.content.decode()
    failures = staff_client.get("/admin/console/failures/")
    assert failures.status_code == 200


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def bulk_tasks(n: int) -> None:
    """``n`` more tasks over the last week across ten tenants, every state and code, with ledger rows."""
    projects = [ProjectFactory() for _ in range(10)]
    now = timezone.now()
    codes = ["generation_failed", "moderation_blocked_prompt", "moderation_blocked_image", "service_unavailable"]
    states = ["succeeded", "failed", "cancelled", "queued", "running"]
    tasks = [
        Task(
            tenant_id=projects[i % 10].tenant_id,
            project=projects[i % 10],
            text_data="x",
            num_images=1,
            seed=i,
            model="tiny",
            state=states[i % 5],
            error_code=codes[i % 4] if states[i % 5] == "failed" else "",
            created_at=now - timedelta(minutes=47 * i),
            finished_at=now - timedelta(minutes=47 * i - 1),
            timings_ms={"queue_wait": i, "generation": 10 * i, "moderation": 2, "storage": 1, "total": 11 * i + 3},
            moderation_report={"prompt": {"categories": ["violence"] if i % 4 == 1 else []}},
            images_delivered=1 if states[i % 5] == "succeeded" else 0,
        )
        for i in range(n)
    ]
    Task.unscoped_objects.bulk_create(tasks)
    from billing.models import Plan

    plan = Plan.objects.get(is_default=True)
    UsageRecord.unscoped_objects.bulk_create(
        UsageRecord(
            tenant_id=t.tenant_id,
            task=t,
            project=t.project,
            plan=plan,
            currency="USD",
            period=t.finished_at.date().replace(day=1),
            day=t.finished_at.date(),
            images=1,
            unit_price=Decimal("0.005"),
            tier=1,
            amount=Decimal("0.005"),
        )
        for t in tasks
        if t.state == "succeeded"
    )


# Session, user, then the page: the window's done hours; their rollups (per hour, state and code;
# the last end per state and code; per tenant; stage histograms; moderation blocks); the tasks of
# the other hours (per hour, state, code and tenant; stage histograms, one UNION; blocked prompts;
# flagged images); the tenants; billing's daily usage; currencies (the default plan, the tenants'
# plans); tasks queued now.
DASHBOARD_QUERIES = 17
# Session, user, done hours, their rollups per hour, state and code and their last ends, the other
# hours' tasks, the latest examples of every failure code (one UNION ALL of an indexed read per code).
FAILURES_QUERIES = 7


@pytest.mark.parametrize("rolled_up", [False, True], ids=["from tasks", "from rollups"])
@pytest.mark.parametrize(
    "url, most", [("/admin/console/", DASHBOARD_QUERIES), ("/admin/console/failures/", FAILURES_QUERIES)]
)
def test_pages_cost_a_fixed_number_of_queries_whatever_the_row_count(
    staff_client, db, url, most, rolled_up, django_assert_max_num_queries
):
    bulk_tasks(5)
    if rolled_up:
        write_rollups()
    few = _queries(staff_client, url)
    bulk_tasks(200)
    if rolled_up:
        rollups.rebuild()  # the older hours had no task when they were written
        write_rollups()
    with django_assert_max_num_queries(most):
        staff_client.get(url)
    assert _queries(staff_client, url) == few
    assert Task.unscoped_objects.count() == 205


def test_queues_and_workers_come_from_rq(staff_client, db):
    queue = django_rq.get_queue(settings.MODEL_REGISTRY["tiny"].queue)
    queue.enqueue("generation.jobs.run_generation", "not-a-task")
    queue.enqueue("generation.jobs.run_generation", "not-a-task-either")
    worker = Worker([queue], connection=queue.connection, name="gpu-0")
    worker.register_birth()
    worker.heartbeat()
    try:
        response = staff_client.get("/admin/console/")
    finally:
        worker.register_death()
    rq = response.context["rq"]
    assert rq["available"]
    depth = {q["name"]: q["queued"] for q in rq["queues"]}
    assert depth[queue.name] == 2 and depth["callbacks"] == 0
    assert [(w["name"], w["live"], w["generation"]) for w in rq["workers"]] == [("gpu-0", True, True)]
    assert rq["live_generation_workers"] == 1
    html = response.content.decode()
    index = next(q["index"] for q in rq["queues"] if q["name"] == queue.name)
    assert f'href="/admin/rq/queues/{index}/"' in html
    assert 'data-worker="gpu-0"' in html


def test_redis_down_the_dashboard_still_renders(staff_client, service, redis_down):
    response = staff_client.get("/admin/console/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="rq-unavailable"' in html and "Redis is unavailable (ConnectionError)" in html
    assert '<span class="value" id="summary-total">13</span>' in html  # the database part is all there
    assert '<span class="value" id="summary-workers">unknown</span>' in html


def test_a_hung_redis_costs_the_dashboard_its_read_timeout_not_forever(staff_client, service, tmp_path, settings):
    server = OwnRedis(tmp_path)
    server.start()
    settings.RQ_QUEUES = queues_for(server.url)
    settings.REDIS_SOCKET_TIMEOUT = 0.5
    server.freeze()  # connections are accepted, nothing answers
    try:
        started = time.monotonic()
        response = staff_client.get("/admin/console/")
        assert time.monotonic() - started < 3
    finally:
        server.thaw()
        server.stop()
    assert response.status_code == 200
    assert "Redis is unavailable (TimeoutError)" in response.content.decode()


def test_the_dashboard_shows_queue_wait_per_tenant(staff_client, db):
    now = timezone.now()
    waited, waiting = ProjectFactory(), ProjectFactory()
    common = {"text_data": "x", "num_images": 1, "seed": 1, "model": "tiny"}
    Task.unscoped_objects.create(
        tenant=waited.tenant, project=waited, state="succeeded", created_at=now - timedelta(seconds=10),
        started_at=now - timedelta(seconds=4), finished_at=now, **common,
    )  # fmt: skip
    Task.unscoped_objects.create(
        tenant=waiting.tenant, project=waiting, state="queued", created_at=now - timedelta(seconds=30), **common
    )
    response = staff_client.get("/admin/console/?window=24h")
    rows = {row["tenant_id"]: row for row in response.context["queue_waits"]}
    assert rows[waited.tenant_id]["started"] == 1 and rows[waited.tenant_id]["max_wait_ms"] == 6000.0
    assert rows[waiting.tenant_id]["queued"] == 1 and rows[waiting.tenant_id]["oldest_wait_ms"] >= 30000
    html = response.content.decode()
    assert 'id="table-queue-wait"' in html and waiting.tenant.name in html

"""Per-tenant task limits: queued (at submit, 429), running (at start: the task waits, the worker
moves on), concurrent /task/sync waits (beyond: 202 at once)."""

import contextlib
import re
import threading
import time
from datetime import UTC, datetime

import django_rq
import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rq.registry import ScheduledJobRegistry

from accounts.authentication import ApiClient
from accounts.models import ApiKey
from generation import limits, services
from generation.models import Task
from tests.conftest import at_once, poll, problem, submit
from tests.factories import ProjectFactory, TenantFactory, make_key

BODY = {"text_data": "a quiet harbour at dawn"}


def client_for(tenant) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_key(ProjectFactory(tenant=tenant))}")
    return client


def api_client(tenant) -> ApiClient:
    make_key(ProjectFactory(tenant=tenant))
    key = ApiKey.unscoped_objects.select_related("tenant", "project").filter(tenant=tenant).last()
    return ApiClient(api_key=key, tenant=key.tenant, project=key.project)


# --- Queued ------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)  # /sync's DRF half runs on another thread: committed rows
def test_submits_over_the_queued_limit_are_429_and_write_nothing():
    tenant = TenantFactory(max_queued_tasks=2)
    api, other = client_for(tenant), client_for(TenantFactory())
    first, _ = submit(api, BODY), submit(api, BODY)
    refused = api.post("/api/v2/task/async", BODY, format="json")
    assert refused.status_code == 429
    body = problem(refused)
    assert body["code"] == "rate_limited" and body["rate_limit"] == "queued_tasks" and body["limit"] == "2"
    assert int(refused["Retry-After"]) >= 1 and refused["RateLimit"]
    assert Task.objects.for_tenant(tenant).count() == 2
    assert api.post("/api/v2/task/sync", BODY, format="json").status_code == 429
    submit(other, BODY)  # another tenant is not affected
    # A slot frees when a task leaves the queue.
    assert api.post(f"/api/v2/task/{first['id']}/cancel").status_code == 200
    submit(api, BODY)


@pytest.mark.django_db(transaction=True)
def test_concurrent_submits_at_the_limit_cannot_both_pass():
    tenant = TenantFactory(max_queued_tasks=1)
    client = api_client(tenant)

    def submit_one():
        services.task_submit(client=client, data=services.TaskInput(text_data="a red door"))
        return "ok"

    outcomes = [getattr(result, "code", result) for result in at_once([submit_one] * 6)]
    assert sorted(outcomes) == ["ok"] + ["rate_limited"] * 5
    assert Task.objects.for_tenant(tenant).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_submit_holds_the_tenant_lock_for_a_bounded_count_and_commits_once():
    # Issue 16: the queued COUNT under the tenant's row lock grew with the backlog, and the job id
    # was written in a second commit after the enqueue.
    tenant = TenantFactory(max_queued_tasks=3)
    client = api_client(tenant)
    with CaptureQueriesContext(connection) as queries:
        task = services.task_submit(client=client, data=services.TaskInput(text_data="a red door"))
    sql = [q["sql"] for q in queries.captured_queries]
    assert sum(statement.upper().startswith("COMMIT") for statement in sql) == 1, sql
    assert not any(statement.upper().startswith("UPDATE") for statement in sql), sql
    counts = [statement for statement in sql if "COUNT(" in statement.upper()]
    assert len(counts) == 1 and "LIMIT 3" in counts[0], counts  # at most the limit's rows are read
    task.refresh_from_db()
    assert task.job_id == f"gen-{task.pk}-0" and django_rq.get_queue("generation-tiny").fetch_job(task.job_id)


# --- Running -----------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_two_starts_cannot_both_take_the_last_running_slot():
    tenant = TenantFactory(max_running_tasks=1)
    client = api_client(tenant)
    first, second = (services.task_submit(client=client, data=services.TaskInput(text_data="x")) for _ in range(2))
    holding = threading.Event()

    def start_first():
        with limits.running_slot(first) as admitted:
            assert admitted
            services.task_start(task=first, worker_name="w1", run_info={})
            holding.set()
            time.sleep(0.5)  # the start is not committed yet
        connections.close_all()

    thread = threading.Thread(target=start_first)
    thread.start()
    holding.wait(10)
    began = time.monotonic()
    with limits.running_slot(second) as admitted:
        waited = time.monotonic() - began
    thread.join()
    assert waited > 0.3  # it waited for the first start's commit ...
    assert not admitted  # ... and then counted it


@pytest.mark.django_db(transaction=True)
def test_a_task_over_the_running_limit_waits_queued_and_the_worker_moves_on(run_worker, settings):
    settings.TENANT_RUNNING_RETRY_SECONDS = 2
    busy = TenantFactory(max_running_tasks=1)
    api, other = client_for(busy), client_for(TenantFactory())
    running = Task.unscoped_objects.get(pk=submit(api, BODY)["id"])
    services.task_start(task=running, worker_name="another-worker", run_info={})  # on another worker
    waiting, others = submit(api, BODY), submit(other, BODY)

    began = datetime.now(UTC)
    run_worker()  # (the job of `running` is skipped: it runs elsewhere)
    ended = datetime.now(UTC)
    assert poll(other, others["id"])["state"] == "succeeded"  # the same worker went on at once
    task = Task.unscoped_objects.get(pk=waiting["id"])
    assert task.state == "queued" and task.attempts == 0 and "-w" in task.job_id
    # Its job is back on the queue, due in about TENANT_RUNNING_RETRY_SECONDS (+-25%).
    registry = ScheduledJobRegistry(queue=django_rq.get_queue("generation-tiny"))
    assert registry.get_job_ids() == [task.job_id]
    due = registry.get_scheduled_time(task.job_id).replace(tzinfo=UTC)
    # (rq keeps the due time in whole seconds, so it can read up to 1 s early.)
    assert (due - began).total_seconds() >= 0.5 and (due - ended).total_seconds() <= 2.6


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_waiting_task_runs_once_a_slot_frees(start_worker):
    """A real worker process (with rq's scheduler) keeps the task waiting while the tenant is at its
    limit, runs another tenant's task meanwhile, and runs the waiting one when the slot frees."""
    worker = start_worker(TENANT_RUNNING_RETRY_SECONDS="0.3")
    busy = TenantFactory(max_running_tasks=1)
    api, other = client_for(busy), client_for(TenantFactory())
    blocker = Task.unscoped_objects.get(pk=submit(api, BODY)["id"])
    Task.unscoped_objects.filter(pk=blocker.pk).update(state="running", worker_name="another-worker")
    waiting = submit(api, BODY)
    others = submit(other, BODY)

    deadline = time.monotonic() + 30
    while poll(other, others["id"])["state"] != "succeeded":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    time.sleep(1.0)
    assert poll(api, waiting["id"])["state"] == "queued"
    # Its job ran and was put back (a new job id each time), rather than running or blocking.
    assert re.search(rf"gen-{waiting['id']}-0-w[0-9a-f]{{8}}", worker.log_path.read_text())

    services.task_fail(task=blocker, code="generation_failed", detail="its worker gave up")
    deadline = time.monotonic() + 30
    while poll(api, waiting["id"])["state"] != "succeeded":
        assert time.monotonic() < deadline
        time.sleep(0.2)


# --- Sync waits ----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_sync_wait_slots_are_limited_per_tenant():
    tenant, other = TenantFactory(max_sync_waits=2), TenantFactory(max_sync_waits=2)
    with limits.sync_wait_slot(tenant=tenant, seconds=30) as a, limits.sync_wait_slot(tenant=tenant, seconds=30) as b:
        with limits.sync_wait_slot(tenant=tenant, seconds=30) as c:
            assert (a, b, c) == (30, 30, 0)
        with limits.sync_wait_slot(tenant=other, seconds=30) as d:
            assert d == 30
    with limits.sync_wait_slot(tenant=tenant, seconds=30) as e:
        assert e == 30  # released on the way out


@pytest.mark.django_db
def test_a_dead_waiters_slot_expires(monkeypatch):
    monkeypatch.setattr(limits, "SYNC_WAIT_MARGIN_SECONDS", 0.0)
    tenant = TenantFactory(max_sync_waits=1)
    dead = limits.sync_wait_slot(tenant=tenant, seconds=0.3)
    assert dead.__enter__() == 0.3  # and never leaves: its web process died
    with limits.sync_wait_slot(tenant=tenant, seconds=0.3) as wait:
        assert wait == 0
    time.sleep(0.4)
    with limits.sync_wait_slot(tenant=tenant, seconds=0.3) as wait:
        assert wait == 0.3


@pytest.mark.django_db(transaction=True)
def test_sync_over_the_tenants_waits_answers_202_at_once(settings):
    settings.SYNC_WAIT_SECONDS = 30
    tenant = TenantFactory(max_sync_waits=1)
    api = client_for(tenant)
    with limits.sync_wait_slot(tenant=tenant, seconds=30):  # another /sync of this tenant waits
        began = time.monotonic()
        response = api.post("/api/v2/task/sync", BODY, format="json")
        assert time.monotonic() - began < 5
    assert response.status_code == 202
    assert response["Location"] == f"/api/v2/task/{response.json()['id']}"


@pytest.mark.django_db(transaction=True)
def test_a_client_gone_while_its_tenant_slot_was_being_taken_gives_the_slot_back(redis_conn, monkeypatch):
    import asyncio

    tenant = TenantFactory(max_sync_waits=5)
    taking = threading.Event()
    real_acquire = limits.sync_wait_acquire

    def slow_acquire(**kwargs):
        taking.set()
        time.sleep(0.5)  # the client leaves meanwhile
        return real_acquire(**kwargs)

    monkeypatch.setattr(limits, "sync_wait_acquire", slow_acquire)

    async def view():
        async with limits.async_sync_wait_slot(tenant=tenant, seconds=30):
            await asyncio.sleep(30)

    async def client_leaves():
        waiting = asyncio.ensure_future(view())
        await asyncio.get_running_loop().run_in_executor(None, taking.wait)
        waiting.cancel()  # as the server does when the client disconnects
        with contextlib.suppress(asyncio.CancelledError):
            await waiting

    asyncio.run(client_leaves())
    assert redis_conn.zcard(limits.SYNC_WAITS_KEY.format(tenant_id=tenant.pk)) == 0
    assert limits._process_waits == 0


@pytest.mark.django_db(transaction=True)
def test_a_wait_that_ends_gives_its_slot_back_on_the_loop_not_on_the_sync_pool(redis_conn, monkeypatch):
    # A thousand waits ending together queued their releases on the sync pool, ahead of their own
    # answers: the slot goes back through redis.asyncio instead.
    import asyncio

    tenant = TenantFactory(max_sync_waits=5)
    key = limits.SYNC_WAITS_KEY.format(tenant_id=tenant.pk)
    calls = []
    real_run_sync = limits.run_sync

    async def counted(func, *args, **kwargs):
        calls.append(func.__name__)
        return await real_run_sync(func, *args, **kwargs)

    monkeypatch.setattr(limits, "run_sync", counted)

    async def view():
        async with limits.async_sync_wait_slot(tenant=tenant, seconds=30) as wait:
            assert wait == 30 and redis_conn.zcard(key) == 1

    asyncio.run(view())
    assert redis_conn.zcard(key) == 0
    assert calls == ["sync_wait_acquire"]

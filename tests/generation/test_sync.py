"""/task/sync against a real worker process: it waits (blocking on Redis, not polling the
database) and answers with the finished task, or 202 when the bounded wait runs out."""

import threading
import time
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.defaults import ensure_default_plan
from billing.models import Plan, PriceTier
from generation import queues
from generation.models import Task
from tests.conftest import SEED_REQUEST, problem

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_sync_returns_the_finished_task(api, worker_process, settings):
    settings.SYNC_WAIT_SECONDS = 60
    ensure_default_plan(Plan, PriceTier)  # as migrated (a transactional test before may have flushed it)
    with CaptureQueriesContext(connection) as queries:
        response = api.post("/api/v2/task/sync", SEED_REQUEST, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "succeeded"
    assert len(body["status"][0]["response"]["output"][0]["images"]) == 3
    # The wait itself reads nothing (a polling wait would add a query per poll): auth, the tenant's
    # queued limit (row lock, count), the billing admission (account lock, plan, month's usage,
    # caps), insert, job id, one read of the result.
    assert len(queries.captured_queries) <= 18


def test_sync_answers_202_with_the_task_when_the_wait_runs_out(api, settings):
    settings.SYNC_WAIT_SECONDS = 0.5
    started = time.monotonic()
    response = api.post("/api/v2/task/sync", SEED_REQUEST, format="json")
    assert 0.4 < time.monotonic() - started < 5
    assert response.status_code == 202
    body = response.json()
    assert body["state"] == "queued"
    assert response["Location"] == f"/api/v2/task/{body['id']}"
    assert Task.unscoped_objects.get(pk=body["id"]).sync


def test_sync_failure_answers_the_problem_with_the_task(api, start_worker, settings, unwritable_dir):
    start_worker(MEDIA_ROOT=unwritable_dir)  # a worker whose storage cannot be written
    settings.SYNC_WAIT_SECONDS = 60
    response = api.post("/api/v2/task/sync", SEED_REQUEST, format="json")
    assert response.status_code == 500
    body = problem(response)
    assert body["code"] == "generation_failed"
    assert body["task"]["id"] == body["task_id"] and body["task"]["state"] == "failed"
    assert "Traceback" not in response.content.decode()


def test_a_wait_longer_than_the_redis_read_timeout_still_gets_the_answer(settings, redis_conn):
    """A sync wait is longer than Redis clients' read timeout; the wait's client allows for it."""
    settings.REDIS_SOCKET_TIMEOUT = 0.4
    task_id = uuid.uuid4()
    threading.Timer(1.0, queues.notify_finished, args=(task_id, "succeeded")).start()
    started = time.monotonic()
    assert queues.wait_finished(task_id, timeout=5)
    assert 0.9 < time.monotonic() - started < 2
    started = time.monotonic()
    assert not queues.wait_finished(uuid.uuid4(), timeout=1.0)
    assert 0.9 < time.monotonic() - started < 1.5

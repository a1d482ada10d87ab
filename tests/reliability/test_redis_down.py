"""Redis unreachable: submissions answer 503 (fast, nothing left queued, nothing charged), while
polling, the task list and the admin answer from the database as usual."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import User
from imgplatform import redisconn

from callbacks.models import CallbackDelivery
from generation.models import Task
from tests.conftest import TEST_REDIS_URL, free_port, problem, queues_for, submit

pytestmark = pytest.mark.django_db(transaction=True)

BODY = {"text_data": "a lighthouse", "callback_url": "https://example.com/hook"}


def test_the_platform_redis_client_is_pooled_with_timeouts(settings):
    first, second = redisconn.connection(), redisconn.connection("callbacks")
    assert first.connection_pool is second.connection_pool  # one pool per Redis, not a client per call
    kwargs = first.connection_pool.connection_kwargs
    assert kwargs["socket_connect_timeout"] == settings.REDIS_CONNECT_TIMEOUT
    assert kwargs["socket_timeout"] == settings.REDIS_SOCKET_TIMEOUT
    assert first.ping() and first.connection_pool.connection_kwargs["db"] == int(TEST_REDIS_URL.rsplit("/", 1)[1])


def test_submit_with_redis_down_is_a_fast_503_and_the_task_ends_at_once(api, project, settings):
    settings.RQ_QUEUES = queues_for(f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    response = api.post("/api/v2/task/async", BODY, format="json")
    assert time.monotonic() - started < 2
    assert response.status_code == 503 and response["Retry-After"]
    body = problem(response)
    task = Task.unscoped_objects.get(pk=body["task_id"])
    assert (task.state, task.error_code, task.charge) == ("failed", "service_unavailable", 0)
    # Its callback is not lost: the delivery row waits for the callback worker's sweep.
    delivery = CallbackDelivery.unscoped_objects.get(task=task)
    assert (delivery.status, delivery.attempts_count) == ("pending", 0)
    sync = api.post("/api/v2/task/sync", BODY, format="json")
    assert sync.status_code == 503 and problem(sync)["code"] == "service_unavailable"


def test_polling_the_list_and_the_admin_work_with_redis_down(api, project, client, settings):
    queued = submit(api, BODY)
    settings.RQ_QUEUES = queues_for(f"redis://127.0.0.1:{free_port()}/0")
    assert api.get(f"/api/v2/task/{queued['id']}").json()["state"] == "queued"
    listed = api.get("/api/v2/tasks")
    assert listed.status_code == 200 and [t["id"] for t in listed.json()["results"]] == [queued["id"]]
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw"))
    for url in ("/admin/", "/admin/generation/task/", f"/admin/generation/task/{queued['id']}/change/"):
        assert client.get(url).status_code == 200, url
    cancelled = api.post(f"/api/v2/task/{queued['id']}/cancel")  # the row decides; the job is skipped later
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"


def test_readyz_reports_both_kinds_of_worker_and_leaves_the_shared_pool_fast(client, settings):
    """Registered rq workers (as a running worker registers itself) make /readyz ready; reading
    them must not let rq widen the read timeout of the platform's shared pool (rq does that to any
    pool a Worker is built on)."""
    import redis
    from rq import Queue, Worker

    conn = redis.Redis.from_url(TEST_REDIS_URL)
    generation = Worker([Queue("generation-tiny", connection=conn)], connection=conn, name="gen-probe")
    callbacks = Worker([Queue("callbacks", connection=conn)], connection=conn, name="cb-probe")
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["checks"]["callback_workers"].startswith("none live")
    for worker in (generation, callbacks):
        worker.register_birth()
        worker.heartbeat()
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {
        "database": "ok",
        "redis": "ok",
        "workers": "1 live",
        "callback_workers": "1 live",
    }
    assert redisconn.connection().connection_pool.connection_kwargs["socket_timeout"] == settings.REDIS_SOCKET_TIMEOUT


def test_an_idempotent_retry_after_a_503_runs_the_task_once(api, project, settings, run_worker):
    """Stripe's rule: a request that failed on the server's side may be retried with the same
    Idempotency-Key, and the retry runs (instead of replaying the failure)."""
    headers = {"HTTP_IDEMPOTENCY_KEY": "order-42"}
    real_queues = settings.RQ_QUEUES
    settings.RQ_QUEUES = queues_for(f"redis://127.0.0.1:{free_port()}/0")  # Redis gone for this process
    refused = api.post("/api/v2/task/async", BODY, format="json", **headers)
    assert refused.status_code == 503 and problem(refused)["code"] == "service_unavailable"
    settings.RQ_QUEUES = real_queues  # Redis is back
    retry = api.post("/api/v2/task/async", BODY, format="json", **headers)
    assert retry.status_code == 200 and "Idempotent-Replayed" not in retry
    assert retry.json()["id"] != problem(refused)["task_id"]
    run_worker()
    replay = api.post("/api/v2/task/async", BODY, format="json", **headers)
    assert replay.status_code == 200 and replay["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == retry.json()["id"] and replay.json()["status"][0]["status"]["message"] == "SUCCESS"
    ran = Task.unscoped_objects.filter(started_at__isnull=False)
    assert [str(task.id) for task in ran] == [retry.json()["id"]] and ran.get().attempts == 1
    assert Task.unscoped_objects.get(pk=problem(refused)["task_id"]).state == "failed"  # kept, for the record


def test_a_key_left_pointing_at_a_task_that_never_ran_counts_as_released(api, project, settings):
    """The process died between the 503's commit and the release: the retry still runs."""
    from generation import idempotency
    from generation.models import IdempotencyKey

    settings.RQ_QUEUES = queues_for(f"redis://127.0.0.1:{free_port()}/0")
    failed = Task.unscoped_objects.get(pk=problem(api.post("/api/v2/task/async", BODY, format="json"))["task_id"])
    IdempotencyKey.unscoped_objects.create(tenant=failed.tenant, key="order-43", request_hash="h", task=failed)
    assert idempotency.idempotent_task(tenant=failed.tenant, key="order-43", body_hash="h") is None
    assert not IdempotencyKey.unscoped_objects.filter(key="order-43").exists()


def test_a_4xx_outcome_still_replays(api, project):
    """A task that ended for the customer's reasons (a blocked prompt) is the answer to its key."""
    headers = {"HTTP_IDEMPOTENCY_KEY": "order-44"}
    body = {"text_data": "a naked child"}
    first = api.post("/api/v2/task/async", body, format="json", **headers)
    again = api.post("/api/v2/task/async", body, format="json", **headers)
    assert first.json()["status"][0]["status"]["code"] == "422"
    assert again["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]

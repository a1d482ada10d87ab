"""/task/sync against a real worker process: it waits (woken through the process's Redis
subscription, generation/waiters.py, not polling the database) and answers with the finished task,
or 202 when the bounded wait runs out."""

import asyncio
import contextlib
import threading
import time
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from imgplatform.offloop import run_sync

from billing.defaults import ensure_default_plan
from billing.models import Plan, PriceTier
from generation import api, events, selectors, waiters
from generation.models import Task
from tests.conftest import SEED_REQUEST, free_port, problem, queues_for, submit

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
    assert response.status_code == 503
    body = problem(response)
    assert body["code"] == "storage_failed"
    assert body["task"]["id"] == body["task_id"] and body["task"]["state"] == "failed"
    assert "Traceback" not in response.content.decode()


async def _not_final() -> bool:
    return False


def in_loop(coroutine_function):
    """Run ``coroutine_function()`` in a fresh event loop, closing that loop's hub after it."""

    async def run():
        try:
            return await coroutine_function()
        finally:
            await waiters.hub().aclose()

    return asyncio.run(run())


def test_a_wait_is_woken_by_done_on_the_channel_and_otherwise_ends_at_its_timeout(settings):
    """Longer than Redis clients' read timeout: the subscription has no read timeout to outlast."""
    settings.REDIS_SOCKET_TIMEOUT = 0.4
    task_id = uuid.uuid4()

    async def woken():
        loop = asyncio.get_running_loop()
        loop.call_later(1.0, lambda: threading.Thread(target=events.publish, args=(task_id, "done")).start())
        started = time.monotonic()
        await waiters.wait_for_end(task_id, 5, is_final=_not_final)
        return time.monotonic() - started

    assert 0.9 < in_loop(woken) < 2

    async def not_woken():
        started = time.monotonic()
        events.publish(uuid.uuid4(), "done")  # another task's end
        await waiters.wait_for_end(task_id, 1.0, is_final=_not_final)
        return time.monotonic() - started

    assert 0.9 < in_loop(not_woken) < 1.5


def test_a_task_that_ended_before_the_waiter_subscribed_is_seen_in_the_row():
    calls = []

    async def final() -> bool:
        calls.append(waiters.hub().waiting)  # read while subscribed
        return True

    async def wait():
        started = time.monotonic()
        await waiters.wait_for_end(uuid.uuid4(), 5, is_final=final)
        return time.monotonic() - started

    assert in_loop(wait) < 1 and calls == [1]


def test_with_redis_away_a_wait_answers_from_the_row_at_once(settings):
    settings.RQ_QUEUES = queues_for(f"redis://127.0.0.1:{free_port()}/0")
    settings.REDIS_CONNECT_TIMEOUT = 0.3

    async def wait():
        started = time.monotonic()
        await waiters.wait_for_end(uuid.uuid4(), 10, is_final=_not_final)
        return time.monotonic() - started

    assert in_loop(wait) < 1


def test_the_subscription_comes_back_after_redis_drops_it_and_waiters_reread_the_row(redis_conn):
    task_id = uuid.uuid4()

    async def scenario():
        hub = waiters.hub()
        async with hub.listen(task_id) as listener:
            assert listener.available and hub.connects == 1
            db = redis_conn.connection_pool.connection_kwargs["db"]  # this test's only: Redis is shared
            for client in redis_conn.client_list(_type="pubsub"):
                if client["name"] == waiters.CLIENT_NAME and int(client["db"]) == db:
                    redis_conn.client_kill_filter(_id=client["id"])  # what a Redis restart does to it
            assert (await listener.get(5))["event"] == "unavailable"
            assert (await listener.get(5))["event"] == "resync"  # back: read the row again
            assert listener.available and hub.connects == 2
            await asyncio.to_thread(events.publish, task_id, "done", state="succeeded")
            return await listener.get(5)

    assert in_loop(scenario) == {"id": str(task_id), "event": "done", "state": "succeeded"}


def test_the_sweep_reads_every_waited_task_in_one_query_with_their_queue_positions(api, django_assert_num_queries):
    ids = [submit(api, {"text_data": f"a red door {i}"})["id"] for i in range(30)]
    Task.unscoped_objects.filter(pk=ids[0]).update(state=Task.State.CANCELLED)  # ended, `done` never published
    Task.unscoped_objects.filter(pk=ids[1]).update(state=Task.State.RUNNING)
    with django_assert_num_queries(1):
        found = selectors.waited_task_states([*ids, str(uuid.uuid4()), "not-a-task"])
    assert found[ids[0]] == {"event": "resync"}
    assert found[ids[1]] == {"event": "running"}
    # The others wait in the model's queue in the order they came: 1 is next (the first two's jobs are
    # still in the queue too: their rows changed behind rq's back here).
    assert [found[i] for i in ids[2:]] == [{"event": "position", "queue_position": n} for n in range(3, 31)]
    assert len(found) == 30


def test_one_sweep_per_interval_wakes_the_waiters_of_a_task_that_ended_unannounced(api, settings):
    """An end whose `done` was never published (Redis failed in that request) still wakes its
    waiters within EVENTS_KEEPALIVE_SECONDS: the process's sweep reads all the waited-on rows at
    once, not one read per waiter."""
    settings.EVENTS_KEEPALIVE_SECONDS = 0.3
    ids = [submit(api, {"text_data": f"a red door {i}"})["id"] for i in range(20)]
    calls = []
    real = waiters._sweep

    async def counting(task_ids):
        calls.append(len(task_ids))
        return await real(task_ids)

    async def scenario():
        async with contextlib.AsyncExitStack() as stack:
            listeners = [await stack.enter_async_context(waiters.hub().listen(i)) for i in ids for _ in range(3)]
            await run_sync(Task.unscoped_objects.filter(pk=ids[0]).update, state=Task.State.CANCELLED)
            woken = [await listener.get(5) for listener in listeners[:3]]
            other = await listeners[3].get(5)
            return woken, other

    waiters.set_sweep(counting)
    try:
        woken, other = in_loop(scenario)
    finally:
        waiters.set_sweep(real)
    assert woken == [{"id": ids[0], "event": "resync"}] * 3  # every waiter of the task
    assert other == {"id": ids[1], "event": "position", "queue_position": 2}
    assert calls and set(calls) == {20}  # each sweep: one call for the 20 tasks of 60 waiters


def test_a_stream_sends_its_keep_alive_on_time_however_many_silent_messages_come(settings):
    """The sweep tells a queued stream its (unchanged) position at the keep-alive interval; a message
    that sends nothing must not put the comment off, or an idle stream would go quiet for good and
    proxies (and clients' read timeouts) would close it."""
    settings.EVENTS_KEEPALIVE_SECONDS = 0.5
    task_id = str(uuid.uuid4())

    async def scenario():
        stream = api._event_stream(task_id, lambda: {"state": "queued", "queue_position": 1})
        first = await anext(stream)

        async def chatter():
            while True:
                await asyncio.sleep(0.1)
                waiters.hub()._dispatch({"id": task_id, "event": "position", "queue_position": 1})

        chatty = asyncio.create_task(chatter())
        started = time.monotonic()
        try:
            second = await asyncio.wait_for(anext(stream), timeout=3)
        finally:
            chatty.cancel()
            await stream.aclose()
        return first, second, time.monotonic() - started

    first, second, after = in_loop(scenario)
    assert first.startswith(b"event: queued") and second == b": keep-alive\n\n"
    assert after < 1.5


def test_a_stream_does_not_tell_a_queued_task_out_of_the_queue_before_it_runs():
    """The sweep may read a task's row as queued just after a worker took its job from the queue
    (no position): the stream sends nothing for that, and `running` comes next."""
    state = api._StreamState("t")
    assert state.on_snapshot({"state": "queued", "queue_position": 1})[0].startswith(b"event: queued")
    assert state.on_message({"id": "t", "event": "position", "queue_position": None}) == []
    assert state.on_message({"id": "t", "event": "position", "queue_position": 1}) == []  # unchanged
    moved = state.on_message({"id": "t", "event": "position", "queue_position": 2})
    assert moved == [api.sse("queued", {"id": "t", "state": "queued", "queue_position": 2})]
    assert state.on_message({"id": "t", "event": "running"}) == [api.sse("running", {"id": "t", "state": "running"})]


def test_every_waiter_of_a_task_is_woken_by_its_one_end():
    """Several /sync replays (and event streams) of one task wait on it at once: the one `done` the
    worker publishes wakes each of them, not only the first."""
    task_id = uuid.uuid4()

    async def many():
        waits = [asyncio.create_task(waiters.wait_for_end(task_id, 60, is_final=_not_final)) for _ in range(5)]
        while waiters.hub().waiting < 5 or not waiters.hub()._connected.is_set():
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # each has read the row (is_final) and is waiting on its queue
        await asyncio.to_thread(events.publish, task_id, "done")
        done, pending = await asyncio.wait(waits, timeout=30)
        for waiting in pending:
            waiting.cancel()
        return len(done), len(pending)

    assert in_loop(many) == (5, 0)


def test_an_idempotent_replay_of_a_finished_sync_task_answers_at_once(api, settings):
    """No worker runs here: the first /sync runs out its short wait (202); the task then finishes
    (written as a worker would), and a replay with the same Idempotency-Key answers 200 with it
    at once instead of waiting SYNC_WAIT_SECONDS."""
    settings.SYNC_WAIT_SECONDS = 0.3
    body = {"text_data": "a red door"}
    first = api.post("/api/v2/task/sync", body, format="json", HTTP_IDEMPOTENCY_KEY="sync-1")
    assert first.status_code == 202
    Task.unscoped_objects.filter(pk=first.json()["id"]).update(state=Task.State.SUCCEEDED, finished_at=timezone.now())
    settings.SYNC_WAIT_SECONDS = 120
    started = time.monotonic()
    replay = api.post("/api/v2/task/sync", body, format="json", HTTP_IDEMPOTENCY_KEY="sync-1")
    assert time.monotonic() - started < 60  # far below the wait it would otherwise sit out
    assert replay.status_code == 200 and replay["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first.json()["id"] and replay.json()["state"] == "succeeded"
    assert Task.unscoped_objects.count() == 1

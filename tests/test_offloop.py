"""Sync code of the async views runs on a pool of threads, not on the event loop and not all on one
thread (``thread_sensitive=True`` would serialise every request of a process)."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
import time

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core.signals import request_started
from django.db import close_old_connections, reset_queries
from imgplatform import offloop
from imgplatform.offloop import run_sync

from generation.models import Task
from tests.factories import ProjectFactory, make_key

# The pool's threads are shared with earlier tests: one that ran a query holds a connection object,
# which run_sync's close_old_connections() looks at after each call.
pytestmark = pytest.mark.django_db(transaction=True)


def test_sync_calls_run_side_by_side_on_pool_threads_while_the_loop_goes_on():
    # Four calls meet at a barrier: only calls running side by side get through it (one after
    # another, the first would wait for the others until the barrier's timeout breaks it).
    barrier = threading.Barrier(4, timeout=30)

    def slow() -> int:
        barrier.wait()
        time.sleep(0.2)  # a slow query, say: the event loop must go on meanwhile
        return threading.get_ident()

    async def scenario():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        clock = asyncio.create_task(ticker())
        threads = await asyncio.gather(*(run_sync(slow) for _ in range(4)))
        clock.cancel()
        return threads, ticks

    threads, ticks = asyncio.run(scenario())
    assert len(set(threads)) == 4 and threading.get_ident() not in threads
    assert ticks > 0  # the event loop was not held while the calls ran


# --- Lanes: a request already under way goes before a new one ------------------------------------
def test_the_pool_takes_admitted_calls_before_new_ones_and_each_lane_in_order():
    pool = offloop.PriorityPool(1, "lanes")
    gate, order = threading.Event(), []
    try:
        blocker = pool.submit(offloop.NEW, gate.wait, 30)  # holds the one thread
        futures = [
            pool.submit(offloop.NEW, order.append, "new 1"),
            pool.submit(offloop.NEW, order.append, "new 2"),
            pool.submit(offloop.ADMITTED, order.append, "admitted 1"),
            pool.submit(offloop.ADMITTED, order.append, "admitted 2"),
        ]
        gate.set()
        for future in [blocker, *futures]:
            future.result(timeout=30)
        assert order == ["admitted 1", "admitted 2", "new 1", "new 2"]
        failing = pool.submit(offloop.NEW, int, "not a number")
        with pytest.raises(ValueError):
            failing.result(timeout=30)  # the caller gets the exception; the thread goes on
        assert pool.submit(offloop.NEW, int, "7").result(timeout=30) == 7
    finally:
        pool.shutdown()
    with pytest.raises(RuntimeError):
        pool.submit(offloop.NEW, int, "1")


@pytest.fixture
def own_pool():
    """run_sync's pool made anew for this test, and shut down after it (its threads close their
    database connections as they end: the test database can be dropped)."""
    earlier, offloop._pool = offloop._pool, None
    yield
    if offloop._pool is not None:
        offloop._pool.shutdown()
    offloop._pool = earlier


@pytest.fixture
def one_pool_thread(settings, own_pool):
    settings.WEB_SYNC_THREADS = 1


def test_a_requests_later_calls_go_before_the_first_calls_of_requests_that_came_after(one_pool_thread):
    # The scenario of a burst: request A is under way (its submit done); new requests queue their
    # submits while the pool is busy; then A's next step (its wait's slot, its answer) is queued. It
    # must not wait behind them.
    order: list[str] = []

    async def scenario():
        gate = threading.Event()

        async def busy():  # another request's long call: the pool's one thread is taken
            await run_sync(gate.wait, 30)

        await run_sync(order.append, "a: submit")
        holder = asyncio.create_task(busy())
        await asyncio.sleep(0.1)
        others = [  # each in a context of its own, as the server starts each request
            asyncio.create_task(run_sync(order.append, f"r{i}: {step}"), context=contextvars.Context())
            for i, step in enumerate(["submit"] * 3)
        ]
        await asyncio.sleep(0.1)  # their first calls are queued
        answer = asyncio.create_task(run_sync(order.append, "a: answer"))  # A's context: admitted
        await asyncio.sleep(0.1)
        gate.set()
        await asyncio.gather(holder, answer, *others)

    asyncio.run(scenario())
    assert order == ["a: submit", "a: answer", "r0: submit", "r1: submit", "r2: submit"]


# --- Requests through the web process's ASGI handler -------------------------------------------
def asgi_scope(path: str, headers: dict[str, str]) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in {"host": "testserver", **headers}.items()],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }


async def asgi_get(app, path: str, headers: dict[str, str]) -> int:
    communicator = ApplicationCommunicator(app, asgi_scope(path, headers))
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(30)
    while (await communicator.receive_output(30)).get("more_body"):
        pass
    await communicator.wait(30)  # the handler's end too (response.close, request_finished)
    return start["status"]


def _called(fn, args) -> str:
    """The function a call handed to the pool runs, under asgiref's and run_sync's wrappers."""
    while True:
        if fn is offloop._closing:
            fn, args = args[0], args[1:]
        elif isinstance(fn, functools.partial) and fn.func.__name__ == "thread_handler":
            child = fn.args[-1]  # thread_handler(loop, exc_info, task_context, func, child)
            fn, args = child.func, child.args
        else:
            return fn.__qualname__


@pytest.fixture
def no_request_started_receivers():
    """As in the web process (imgplatform.asgi): request_started has no receivers to hand a thread."""
    receivers = [close_old_connections, reset_queries]
    for receiver in receivers:
        request_started.disconnect(receiver)
    yield
    for receiver in receivers:
        request_started.connect(receiver)


def test_a_sync_views_request_is_one_call_on_the_pool_and_an_async_views_middleware_stays_on_the_loop(
    monkeypatch, settings, own_pool, no_request_started_receivers
):
    # Django's handler starts a thread per request (asgiref's ThreadSensitiveContext) and joins it
    # at the end, on the event loop, and its middleware hands a dozen hooks per request to that
    # thread. Here no thread is started: a sync view's request (middleware, view, render,
    # response.close) is one call on the pool; an async view's middleware runs on the loop, and its
    # sync code goes to the pool in its own calls.
    project = ProjectFactory()
    task = Task.unscoped_objects.create(
        tenant=project.tenant, project=project, text_data="a lighthouse", num_images=1, seed=1, model="tiny"
    )
    key = make_key(project)
    app = offloop.PooledASGIHandler()
    headers = {"authorization": f"Token {key}"}
    settings.WEB_SYNC_THREADS = 2  # started by the first requests below; the pool starts no more
    missing = "00000000-0000-0000-0000-000000000000"
    sync_paths = [f"/api/v2/task/{task.id}", f"/api/v2/task/{missing}", "/no/such/page"]
    # Async views: the probe, and the event stream's (404 before it streams).
    async_paths = ["/healthz", f"/api/v2/task/{missing}/events"]

    started, handed = [], []
    real_start, real_submit = threading.Thread.start, offloop.PriorityPool.submit

    def start(thread):
        started.append(thread.name)
        real_start(thread)

    def submit(pool, lane, fn, *args, **kwargs):
        handed.append((lane, _called(fn, args)))
        return real_submit(pool, lane, fn, *args, **kwargs)

    async def scenario() -> dict[str, list]:
        # The pool's threads, and the loop's default executor (Django logs a 404 through it), start
        # on first use: once per process, not per request.
        for path in [*sync_paths, *async_paths]:
            await asgi_get(app, path, headers)
        calls = {}
        with monkeypatch.context() as spies:
            spies.setattr(threading.Thread, "start", start)
            spies.setattr(offloop.PriorityPool, "submit", submit)
            for path in [*sync_paths, *async_paths] * 5:
                handed.clear()
                status = await asgi_get(app, path, headers)
                calls.setdefault(path, []).append((status, list(handed)))
        return calls

    calls = asyncio.run(scenario())
    assert started == []
    one_call = [(offloop.NEW, "PooledASGIHandler._respond")]
    assert calls[sync_paths[0]] == [(200, one_call)] * 5
    assert calls[sync_paths[1]] == calls[sync_paths[2]] == [(404, one_call)] * 5
    # Async views: their sync code in calls of its own (the DRF view and its rendering in one),
    # then Django's response.close() (made outside the view's task, after the answer has gone: it
    # queues with new requests); no middleware hook leaves the loop.
    assert calls["/healthz"] == [(200, [(offloop.NEW, "HttpResponseBase.close")])] * 5
    view_and_close = [(offloop.NEW, "_rendered_unless_pending"), (offloop.NEW, "HttpResponseBase.close")]
    assert calls[async_paths[1]] == [(404, view_and_close)] * 5


def test_a_requests_thread_sensitive_calls_queue_in_its_lane(monkeypatch, own_pool):
    # A sync view (Django hands it to REQUEST_THREADS) is the first call of its request: NEW, like
    # a run_sync first call; what follows in the same request (response.close) is ADMITTED.
    lanes = []
    real_submit = offloop.PriorityPool.submit
    monkeypatch.setattr(
        offloop.PriorityPool,
        "submit",
        lambda pool, lane, fn, *a, **kw: (lanes.append(lane), real_submit(pool, lane, fn, *a, **kw))[1],
    )
    request = contextvars.Context()  # each request runs in a context of its own
    view, close = request.run(
        lambda: [offloop.REQUEST_THREADS.submit(int, "1"), offloop.REQUEST_THREADS.submit(int, "2")]
    )
    another = contextvars.Context().run(offloop.REQUEST_THREADS.submit, int, "3")
    assert [f.result(timeout=30) for f in (view, close, another)] == [1, 2, 3]
    assert lanes == [offloop.NEW, offloop.ADMITTED, offloop.NEW]

"""Running synchronous Django code (the ORM, DRF views) from async views without blocking the event
loop and without funnelling requests through one thread.

:func:`run_sync` runs a function on a bounded pool of ``WEB_SYNC_THREADS`` threads
(``sync_to_async(thread_sensitive=False)`` with that executor) and closes the thread's database
connection when the function returns (unless ``CONN_MAX_AGE`` keeps it: then at most one per pool
thread stays open), so an awaiting view holds neither a thread nor a connection.

The pool serves requests already under way before new ones (:class:`PriorityPool`): a request's
first call waits behind the later calls of requests admitted before it (the /sync wait's slot, the
first read of its task, its answer). With one first-come queue, a burst of 1,000 submits put every
admitted request's next step behind the whole burst: no wait started, and no answer left, until
every submit had been made.

The web process's handler (:class:`PooledASGIHandler`) runs a request for a sync view (most routes)
as one call on the pool, and Django's async path (middleware on the loop) for async views.

:func:`rendered` turns a DRF response into a plain, already rendered ``HttpResponse`` (on the pool),
so Django's async handler does not hop to another thread to render what an async view returns.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import itertools
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

from asgiref.sync import SyncToAsync, iscoroutinefunction, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.db import close_old_connections, connections
from django.http import FileResponse, HttpResponse, HttpResponseBase
from django.template.response import SimpleTemplateResponse
from django.urls import Resolver404, get_resolver, set_script_prefix

T = TypeVar("T")

# Lanes of the pool, served in this order.
ADMITTED = 0  # a later call of a request (or background task) that already had one
NEW = 1  # the first call of a request


class PriorityPool:
    """``workers`` threads (started on first use) that take the oldest call of the most urgent
    lane (:meth:`submit` names the lane)."""

    def __init__(self, workers: int, name: str, *, on_exit: Callable[[], None] | None = None):
        self._workers = workers
        self._name = name
        self._on_exit = on_exit  # run by each thread when the pool shuts down
        self._queue: queue.PriorityQueue = queue.PriorityQueue()
        self._order = itertools.count()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, priority: int, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new calls after shutdown")
            self._queue.put((priority, next(self._order), future, fn, args, kwargs))
            if len(self._threads) < self._workers:
                thread = threading.Thread(target=self._work, name=f"{self._name}_{len(self._threads)}", daemon=True)
                thread.start()
                self._threads.append(thread)
        return future

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._queue.put((float("inf"), next(self._order), None, None, (), {}))
        if wait:
            for thread in threads:
                thread.join()

    def _work(self) -> None:
        while True:
            _, _, future, fn, args, kwargs = self._queue.get()
            if future is None:
                if self._on_exit is not None:
                    self._on_exit()
                return
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # handed to the awaiting coroutine, as ThreadPoolExecutor does
                future.set_exception(exc)
            else:
                future.set_result(result)


class _PoolLane(Executor):
    """A lane of run_sync's pool (:func:`pool`, made on first use)."""

    def __init__(self, priority: int):
        self._priority = priority

    def submit(self, fn, /, *args, **kwargs):
        return pool().submit(self._priority, fn, *args, **kwargs)


_pool: PriorityPool | None = None
_lock = threading.Lock()
# Set in a request's context (its asyncio task) by its first run_sync: later calls are ADMITTED.
_admitted: contextvars.ContextVar[bool] = contextvars.ContextVar("imagegen_sync_admitted", default=False)


def pool() -> PriorityPool:
    global _pool
    if _pool is None:
        with _lock:
            if _pool is None:
                _pool = PriorityPool(settings.WEB_SYNC_THREADS, "sync-orm", on_exit=connections.close_all)
    return _pool


def _dotted(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _next_lane() -> int:
    """NEW for the first call made in this request's context (its asyncio task), ADMITTED after."""
    if _admitted.get():
        return ADMITTED
    _admitted.set(True)
    return NEW


class _RequestThreads(Executor):
    """The executor of every request's thread-sensitive calls under ASGI (a sync view, a middleware
    hook that may do I/O, Django's ``response.close()`` at the end, which sends
    ``request_finished``): the pool, in the request's lane (:func:`_next_lane`), each call closing
    its database connection after, as :func:`run_sync` does. Django would start a thread for each
    request instead (asgiref's ``ThreadSensitiveContext``) and join it when the request ends, on
    the event loop: two waits for the GIL per request, for every client."""

    def submit(self, fn, /, *args, **kwargs):
        return pool().submit(_next_lane(), _closing, fn, *args, **kwargs)  # called in the request's context

    def shutdown(self, wait=True, *, cancel_futures=False):
        """A request's end: nothing to stop (the pool outlives it)."""


REQUEST_THREADS = _RequestThreads()


class PooledASGIHandler(ASGIHandler):
    """Django's ASGI handler (``imgplatform.asgi.application``). A request for a sync view runs as one
    call on the sync pool (:meth:`_handle_in_one_call`); one for an async view (the /sync wait, the
    event streams, the probes) takes Django's async path, whose chain runs Django's middleware as
    the subclasses of ``imgplatform.middleware.ON_THE_LOOP`` and whose thread-sensitive calls go
    to the sync pool too (:class:`_RequestThreads`)."""

    def load_middleware(self, is_async=False):
        from imgplatform.middleware import ON_THE_LOOP

        named = settings.MIDDLEWARE
        # Django's loader imports each dotted path of the setting: the setting names the
        # subclasses for the time of the load (at start-up, before any request), then Django's
        # classes again (its system checks look for those names).
        settings.MIDDLEWARE = [_dotted(ON_THE_LOOP[path]) if path in ON_THE_LOOP else path for path in named]
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = named

    def __init__(self):
        super().__init__()
        # The chain a sync view's request runs through in one call on the pool: Django's own
        # middleware in sync mode, as a WSGI thread runs it.
        self._in_one_call = BaseHandler()
        self._in_one_call.load_middleware(is_async=False)

    async def handle(self, scope, receive, send):
        context = SyncToAsync.thread_sensitive_context.get(None)  # entered by ASGIHandler.__call__
        executors = SyncToAsync.context_to_thread_executor
        if context is None or executors.setdefault(context, REQUEST_THREADS) is not REQUEST_THREADS:
            return await super().handle(scope, receive, send)
        try:
            if _async_view(scope):
                await super().handle(scope, receive, send)
            else:
                await self._handle_in_one_call(scope, receive, send)
        finally:
            # Taken out before the context exits: asgiref would start a thread to shut it down.
            if executors.get(context) is REQUEST_THREADS:
                del executors[context]

    async def _handle_in_one_call(self, scope, receive, send):
        """A request for a sync view (every API route but the /sync wait and the event stream; the
        admin; a 404): the body is read and the response written on the loop, and everything
        between (middleware, view, rendering, ``response.close()`` with ``request_finished``) runs
        in one call on the pool, as a WSGI thread would run it. Django's path would leave the loop
        for the view, come back for each middleware hook, and leave it again to close the
        response; a client's disconnect could not stop a sync view there either."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            set_script_prefix(get_script_prefix(scope))
            await signals.request_started.asend(sender=self.__class__, scope=scope)
            # (None, Django's 400 or 413) for a request it could not build
            request, refusal = self.create_request(scope, body_file)
            response = await run_sync(self._respond, request, refusal)
            await self.send_response(response, send)
            if response.streaming:  # closed once its body has gone out, as Django does
                await run_sync(response.close)
        finally:
            body_file.close()

    def _respond(self, request, refusal: HttpResponseBase | None) -> HttpResponseBase:
        response = refusal or self._in_one_call.get_response(request)
        response._handler_class = self.__class__
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size  # as ASGIHandler.run_get_response
        if not response.streaming:
            response.close()  # request_finished, on this thread, before the body is written
        return response


def _async_view(scope) -> bool:
    """Whether the request's route is an async view (Django's async path: its middleware hooks on the
    loop, the view awaited there). Unknown paths are not."""
    script_name = get_script_prefix(scope)
    path = scope["path"].removeprefix(script_name) if script_name else scope["path"]
    return _async_route(get_resolver(), path)  # ROOT_URLCONF's (middleware has not run yet)


@functools.lru_cache(maxsize=4096)  # a submit's path is always the same; a task's differs by its id
def _async_route(resolver, path: str) -> bool:
    try:
        match = resolver.resolve(path or "/")
    except Resolver404:
        return False
    return iscoroutinefunction(match.func)


def _closing(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    try:
        return func(*args, **kwargs)
    finally:
        close_old_connections()  # CONN_MAX_AGE=0: closed now; otherwise kept for this pool thread


# One asgiref wrapper per lane, made once (making one per call costs a signature inspection).
_RUNNERS = {lane: sync_to_async(_closing, thread_sensitive=False, executor=_PoolLane(lane)) for lane in (ADMITTED, NEW)}


async def run_sync(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``await run_sync(f, ...)``: ``f(...)`` on the sync pool, its database connection closed after.
    The first call in a request's context queues in the NEW lane, every later one in ADMITTED."""
    return await _RUNNERS[_next_lane()](func, *args, **kwargs)


async def release_request_thread() -> None:
    """Before a long wait in an async view: end the thread Django started for this request.

    Under ASGI, Django runs each request's sync steps (the ``process_request`` of its built-in
    middleware, ``request_started`` receivers) in a thread of the request's own
    (``ThreadSensitiveContext``), kept until the response is sent: an idle thread per waiting
    client. This closes that thread's database connections (in it), and lets it end; a sync step
    after the wait (``process_response``) gets a new thread for the context, as asgiref does for a
    context that has none. Uses asgiref's ``SyncToAsync.context_to_thread_executor`` (the
    per-context executors); ``tests/test_load_async.py`` counts the server's threads."""
    context = SyncToAsync.thread_sensitive_context.get(None)
    request_executor = SyncToAsync.context_to_thread_executor.get(context) if context else None
    if request_executor is None or request_executor is REQUEST_THREADS:
        return  # the request's calls go to the pool (PooledASGIHandler): no thread of its own
    del SyncToAsync.context_to_thread_executor[context]
    try:
        await asyncio.get_running_loop().run_in_executor(request_executor, connections.close_all)
    finally:
        request_executor.shutdown(wait=False)


def rendered(response: HttpResponse) -> HttpResponse:
    """A DRF (template) response rendered here, as a plain ``HttpResponse`` with the same status,
    headers and cookies. Call it on the sync pool."""
    if not isinstance(response, SimpleTemplateResponse):
        return response
    response.render()
    plain = HttpResponse(response.content, status=response.status_code)
    for name, value in response.items():
        plain[name] = value
    plain.cookies = response.cookies
    return plain

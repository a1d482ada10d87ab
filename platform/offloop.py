"""Running synchronous Django code (the ORM, DRF views) from async views without blocking the event
loop and without funnelling requests through one thread.

:func:`run_sync` runs a function on a bounded pool of ``WEB_SYNC_THREADS`` threads
(``sync_to_async(thread_sensitive=False)`` with that executor) and closes the thread's database
connection when the function returns (unless ``CONN_MAX_AGE`` keeps it: then at most one per pool
thread stays open), so an awaiting view holds neither a thread nor a connection.

:func:`rendered` turns a DRF response into a plain, already rendered ``HttpResponse`` (on the pool),
so Django's async handler does not hop to another thread to render it
(``generation.api._drf_async`` runs DRF views this way).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from asgiref.sync import SyncToAsync, sync_to_async
from django.conf import settings
from django.db import close_old_connections, connections
from django.http import HttpResponse
from django.template.response import SimpleTemplateResponse

T = TypeVar("T")
_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def executor() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        with _lock:
            if _executor is None:
                _executor = ThreadPoolExecutor(max_workers=settings.WEB_SYNC_THREADS, thread_name_prefix="sync-orm")
    return _executor


def _closing(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    try:
        return func(*args, **kwargs)
    finally:
        close_old_connections()  # CONN_MAX_AGE=0: closed now; otherwise kept for this pool thread


async def run_sync(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``await run_sync(f, ...)``: ``f(...)`` on the sync pool, its database connection closed after."""
    return await sync_to_async(_closing, thread_sensitive=False, executor=executor())(func, *args, **kwargs)


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
    request_executor = SyncToAsync.context_to_thread_executor.pop(context, None) if context else None
    if request_executor is None:
        return
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

"""The web side of task events: ONE Redis pub/sub subscription per web process (per event loop),
fanned out in-process to the clients waiting on each task (``/task/sync``, ``/task/<id>/events``).

A waiter calls :meth:`TaskEventHub.listen` *before* it reads the task's row: once ``listen`` has
returned with ``listener.available``, the subscription is confirmed by Redis, so an end published
after the read is delivered, and one published before it is in the row. Messages are those of
:mod:`generation.events`, plus two the hub makes itself:

- ``{"event": "unavailable"}``: the subscription was lost (Redis went away); messages may be lost
  until it is back, so a waiter answers from the row (``/sync``) or reads it again later (events);
- ``{"event": "resync"}``: the subscription is back, or the sweep found the task ended; anything
  published meanwhile was missed, so a waiter reads the row again;
- ``{"event": "position", "queue_position": n}``: the sweep's queue position of a queued task.

The sweep is the safety net for an end whose ``done`` was never published (Redis failed in that
request): every EVENTS_KEEPALIVE_SECONDS, while anyone waits, ONE call of the function given to
:func:`set_sweep` reads the state of every task this process's clients wait on (one query, not one
per client: a thousand streams opened together would otherwise read a thousand rows at every
keep-alive, all at once) and the hub passes on what it found.

The subscription starts lazily on the running loop and reconnects with backoff (0.1 s doubling to
5 s) while Redis is away. It needs no Django database access; settings give it Redis's URL and
timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable

import redis.asyncio as aioredis
from django.conf import settings
from redis.exceptions import RedisError

from generation.events import channel

log = logging.getLogger(__name__)

# Per waiter: messages beyond this are dropped oldest first (a slow reader loses progress, and a
# "done" it needs is always the newest message).
QUEUE_SIZE = 64
# ``sweep(task_ids)`` -> ``{task_id: message}``: what the rows of the waited-on tasks say (set by the
# generation app, which has the database; this module has none).
Sweep = Callable[[list[str]], Awaitable[dict[str, dict]]]
_sweep: Sweep | None = None


def set_sweep(sweep: Sweep | None) -> None:
    global _sweep
    _sweep = sweep


BACKOFF_MIN, BACKOFF_MAX = 0.1, 5.0
CLIENT_NAME = "imagegen-task-events"


class Listener:
    """One waiter's messages for one task."""

    def __init__(self, task_id: str, available: bool):
        self.task_id = task_id
        self.available = available
        self.queue: asyncio.Queue[dict] = asyncio.Queue(maxsize=QUEUE_SIZE)

    def put(self, message: dict) -> None:
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(message)

    async def get(self, timeout: float) -> dict | None:
        """The next message, or None when ``timeout`` seconds pass without one."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout=max(timeout, 0))
        except TimeoutError:
            return None


class TaskEventHub:
    def __init__(self) -> None:
        self._listeners: dict[str, set[Listener]] = defaultdict(set)
        self._connected = asyncio.Event()
        self._runner: asyncio.Task | None = None
        self._sweeper: asyncio.Task | None = None
        self.connects = 0  # subscriptions made (tests and benchmarks read it)

    @property
    def waiting(self) -> int:
        return sum(len(listeners) for listeners in self._listeners.values())

    def _start(self) -> None:
        if self._runner is None or self._runner.done():
            self._runner = asyncio.get_running_loop().create_task(self._run(), name="task-events")
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_loop(), name="task-sweep")

    @contextlib.asynccontextmanager
    async def listen(self, task_id) -> AsyncIterator[Listener]:
        """Register a waiter for ``task_id`` and wait (at most REDIS_CONNECT_TIMEOUT) until the
        process's subscription is confirmed; ``listener.available`` is False when it is not (Redis
        away: answer from the row)."""
        self._start()
        listener = Listener(str(task_id), available=False)
        self._listeners[listener.task_id].add(listener)
        try:
            if not self._connected.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._connected.wait(), timeout=settings.REDIS_CONNECT_TIMEOUT)
            listener.available = self._connected.is_set()
            yield listener
        finally:
            listeners = self._listeners.get(listener.task_id)
            if listeners is not None:
                listeners.discard(listener)
                if not listeners:
                    del self._listeners[listener.task_id]

    def _dispatch(self, message: dict) -> None:
        for listener in list(self._listeners.get(str(message.get("id")), ())):
            listener.put(message)

    def _broadcast(self, event: str) -> None:
        for listeners in list(self._listeners.values()):
            for listener in list(listeners):
                listener.available = event != "unavailable"
                listener.put({"id": listener.task_id, "event": event})

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(settings.EVENTS_KEEPALIVE_SECONDS)
            task_ids = list(self._listeners)
            if not task_ids or _sweep is None:
                continue
            try:
                found = await _sweep(task_ids)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database away: the next sweep tries again
                log.warning("task sweep failed", exc_info=True)
                continue
            for task_id, message in found.items():
                self._dispatch({**message, "id": task_id})

    async def _run(self) -> None:
        backoff = BACKOFF_MIN
        url = settings.RQ_QUEUES["default"]["URL"]
        while True:
            client = aioredis.Redis.from_url(
                url,
                socket_connect_timeout=settings.REDIS_CONNECT_TIMEOUT,
                socket_keepalive=True,
                health_check_interval=10,
                client_name=CLIENT_NAME,  # CLIENT LIST shows each web process's one subscription
            )
            pubsub = client.pubsub(ignore_subscribe_messages=False)
            try:
                await pubsub.subscribe(channel())
                # Confirmed by Redis: from here on every publish reaches this process.
                confirm_within = settings.REDIS_CONNECT_TIMEOUT + settings.REDIS_SOCKET_TIMEOUT
                if await pubsub.get_message(timeout=confirm_within) is None:
                    raise TimeoutError("Redis did not confirm the subscription")
                self.connects += 1
                self._connected.set()
                backoff = BACKOFF_MIN
                if self.connects > 1:
                    self._broadcast("resync")
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is None or message.get("type") != "message":
                        continue
                    try:
                        data = json.loads(message["data"])
                    except (TypeError, ValueError):
                        log.warning("ignored a malformed task event")
                        continue
                    if isinstance(data, dict):
                        self._dispatch(data)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:  # OSError includes TimeoutError
                if self._connected.is_set():
                    log.warning("task events subscription lost (%s); reconnecting", type(exc).__name__)
                    self._connected.clear()
                    self._broadcast("unavailable")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def aclose(self) -> None:
        for runner in (self._runner, self._sweeper):
            if runner is not None:
                runner.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await runner
        self._runner = self._sweeper = None
        self._connected.clear()


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, TaskEventHub] = weakref.WeakKeyDictionary()


def hub() -> TaskEventHub:
    """This event loop's hub (one per web process under uvicorn; one per test's loop in tests)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = TaskEventHub()
    return found


async def wait_for_end(task_id, timeout: float, *, is_final: Callable[[], Awaitable[bool]]) -> None:
    """Wait (holding no thread) until ``task_id`` ends, ``timeout`` runs out, or the subscription is
    lost; the caller then reads the row. ``is_final`` reads the row (on the sync pool): it is
    called once after subscribing, and again after a reconnect."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with hub().listen(task_id) as listener:
        if not listener.available or await is_final():
            return
        while (remaining := deadline - loop.time()) > 0:
            message = await listener.get(remaining)
            if message is None or message["event"] in ("done", "unavailable"):
                return
            if message["event"] == "resync" and await is_final():
                return

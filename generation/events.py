"""Task events on Redis pub/sub: what a worker (or a service) says about a task as it happens.

One channel for every task, so a web process needs one subscription, whatever number of clients
wait in it (``/task/sync`` and ``/task/<id>/events`` fan the messages out in-process). Each
message is JSON ``{"id": "<task id>", "event": "<name>", ...}`` with ``event`` one of:

- ``running``: a worker started the task;
- ``progress``: ``step`` and ``steps`` of the pipeline (throttled by the publisher);
- ``done``: the task reached a final state (``state``); listeners read the row for the rest;
- ``partial_image``: ``partial_image_index`` of a partial image (a PNG decoded from intermediate
  latents, kept in the hash ``imagegen:task-partials:<id>``) for a task that asked for partial
  images (the OpenAI-compatible stream).

Pub/sub keeps nothing: a listener subscribes first, then reads the row, so an end published
before it listened is still seen. The row is always the truth; a lost message costs a waiter its
wake-up, never a wrong answer.

The latest progress of a running task is also kept, for a listener that comes late: the hash
``imagegen:task-progress:<id>`` (:data:`PROGRESS_KEY`, expiring after :data:`PROGRESS_TTL`) holds
``step``, ``steps`` and ``attempt`` (the run it belongs to: compare it with the row's ``attempts``,
so a retried task never shows its earlier run's progress); :func:`latest_progress` reads it. The
worker writes it and publishes ``progress`` in one Lua call (generation/progress.py), which also
reads the task's cancel flag: no ``progress`` is published once a cancel has been asked for.
"""

from __future__ import annotations

import json
from functools import cache

from django.conf import settings
from redis.connection import parse_url

from generation import queues

CHANNEL_PREFIX = "imagegen:task-events"
EVENTS = ("running", "progress", "done", "partial_image")
PROGRESS_KEY = "imagegen:task-progress:{task_id}"
PROGRESS_TTL = 3600  # seconds; longer than GENERATION_JOB_TIMEOUT's default, the longest run


def channel() -> str:
    """This deployment's events channel: the prefix and the number of its Redis database. Pub/sub
    ignores database numbers (a message reaches every subscriber on the server), so without the
    number two deployments, or two test sessions, sharing a Redis server would hear each other."""
    return _channel(settings.RQ_QUEUES["default"]["URL"])


@cache
def _channel(url: str) -> str:
    return f"{CHANNEL_PREFIX}:{parse_url(url).get('db', 0)}"


def message(task_id, event: str, **data) -> str:
    """The JSON text of one event on :func:`channel`."""
    if event not in EVENTS:
        raise ValueError(f"unknown task event {event!r}")
    return json.dumps({"id": str(task_id), "event": event, **data})


def publish(task_id, event: str, **data) -> None:
    """Tell every listening web process about ``task_id``. Raises RedisError when Redis is away:
    callers after a commit log it and go on (the row is the truth)."""
    queues.connection().publish(channel(), message(task_id, event, **data))


PARTIALS_KEY = "imagegen:task-partials:{task_id}"


def partial_image_add(task_id, *, index: int, b64: str) -> None:
    """Keep a partial image (a stream that subscribes late still gets it) and announce it."""
    conn = queues.connection()
    key = PARTIALS_KEY.format(task_id=task_id)
    with conn.pipeline() as pipe:
        pipe.hset(key, str(index), b64)
        pipe.expire(key, PROGRESS_TTL)
        pipe.execute()
    publish(task_id, "partial_image", partial_image_index=index)


def partial_images(task_id) -> dict[int, str]:
    """The partial images kept for ``task_id``: index -> base64 PNG."""
    found = queues.connection().hgetall(PARTIALS_KEY.format(task_id=task_id))
    return {int(key): value.decode() for key, value in found.items()}


def latest_progress(task_id) -> dict[str, int] | None:
    """``{"step", "steps", "attempt"}`` last recorded for ``task_id``, or None. Raises RedisError
    when Redis is away."""
    found = queues.connection().hgetall(PROGRESS_KEY.format(task_id=task_id))
    if not found:
        return None
    return {key.decode(): int(value) for key, value in found.items() if key.decode() in ("step", "steps", "attempt")}

"""Task events on Redis pub/sub: what a worker (or a service) says about a task as it happens.

One channel for every task, so a web process needs one subscription, whatever number of clients
wait in it (``/task/sync`` and ``/task/<id>/events`` fan the messages out in-process). Each
message is JSON ``{"id": "<task id>", "event": "<name>", ...}`` with ``event`` one of:

- ``running``: a worker started the task;
- ``progress``: ``step`` and ``steps`` of the pipeline (throttled by the publisher);
- ``done``: the task reached a final state (``state``); listeners read the row for the rest.

Pub/sub keeps nothing: a listener subscribes first, then reads the row, so an end published
before it listened is still seen. The row is always the truth; a lost message costs a waiter its
wake-up, never a wrong answer.
"""

from __future__ import annotations

import json

from generation import queues

CHANNEL = "imagegen:task-events"
EVENTS = ("running", "progress", "done")


def publish(task_id, event: str, **data) -> None:
    """Tell every listening web process about ``task_id``. Raises RedisError when Redis is away:
    callers after a commit log it and go on (the row is the truth)."""
    if event not in EVENTS:
        raise ValueError(f"unknown task event {event!r}")
    queues.connection().publish(CHANNEL, json.dumps({"id": str(task_id), "event": event, **data}))

"""The worker's step hook (generation/progress.py) against the test Redis: throttled progress on
the events channel, the latest progress kept for late listeners, the cancel flag read every step,
the lease thread's event, and a Redis that is away."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest

from generation import events, progress
from generation.engine import GenerationCancelled
from generation.progress import StepReporter


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Listener:
    """A subscriber to the events channel, keeping this task's messages (the channel is shared by
    every Redis database, so other test runs' messages are dropped)."""

    def __init__(self, redis_conn, task_id):
        self.task_id = str(task_id)
        self.pubsub = redis_conn.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(events.channel())
        self.pubsub.get_message(timeout=1)  # the subscription is in place

    def messages(self, settle: float = 0.3) -> list[dict]:
        out, deadline = [], time.monotonic() + settle
        while time.monotonic() < deadline:
            message = self.pubsub.get_message(timeout=0.05)
            if message and message["type"] == "message":
                body = json.loads(message["data"])
                if body["id"] == self.task_id:
                    out.append(body)
        return out

    def close(self):
        self.pubsub.close()


@pytest.fixture
def listen(redis_conn):
    listeners = []

    def make(task_id) -> Listener:
        listeners.append(Listener(redis_conn, task_id))
        return listeners[-1]

    yield make
    for listener in listeners:
        listener.close()


def test_progress_is_throttled_to_the_interval_and_always_sends_the_last_step(listen, redis_conn):
    task_id, clock = uuid.uuid4(), Clock()
    listener = listen(task_id)
    reporter = StepReporter(task_id=task_id, attempt=1, interval=0.25, clock=clock)
    for step in range(1, 13):  # a step every 0.1 s
        reporter(step, 12)
        clock.now += 0.1
    # Sent: the first step, then one whenever 0.25 s have passed since the last one sent, and the last.
    assert reporter.sent == [1, 4, 7, 10, 12]
    received = listener.messages()
    assert received == [{"id": str(task_id), "event": "progress", "step": s, "steps": 12} for s in reporter.sent]
    assert events.latest_progress(task_id) == {"step": 12, "steps": 12, "attempt": 1}
    assert 0 < redis_conn.ttl(events.PROGRESS_KEY.format(task_id=task_id)) <= events.PROGRESS_TTL
    assert reporter.redis_calls == 12  # one round trip per step: the cancel check rides with the progress


def test_interval_zero_sends_every_step(settings):
    settings.GENERATION_PROGRESS_INTERVAL = 0
    reporter = StepReporter(task_id=uuid.uuid4(), attempt=1, clock=Clock())  # the clock never moves
    for step in range(1, 6):
        reporter(step, 5)
    assert reporter.sent == [1, 2, 3, 4, 5]


def test_a_set_cancel_flag_stops_at_the_next_step_and_nothing_is_published_after_it(listen):
    task_id, clock = uuid.uuid4(), Clock()
    listener = listen(task_id)
    reporter = StepReporter(task_id=task_id, attempt=2, interval=0, clock=clock)
    reporter(1, 10)
    reporter(2, 10)
    assert not reporter.cancel_requested()
    progress.cancel_flag_set(task_id)
    assert reporter.cancel_requested()
    with pytest.raises(GenerationCancelled, match="stopped after step 3 of 10: the task was cancelled"):
        reporter(3, 10)
    assert reporter.stopped_at == (3, 10)
    assert [m["step"] for m in listener.messages()] == [1, 2]  # step 3 saw the flag and published nothing
    assert events.latest_progress(task_id)["step"] == 2


def test_the_flag_expires_after_the_longest_run(redis_conn, settings):
    settings.GENERATION_JOB_TIMEOUT, settings.GENERATION_LEASE_SECONDS = 600, 60
    task_id = uuid.uuid4()
    progress.cancel_flag_set(task_id)
    assert redis_conn.ttl(progress.CANCEL_KEY.format(task_id=task_id)) == 720


def test_the_lease_threads_event_stops_the_run_without_asking_redis(redis_down):
    lost = threading.Event()
    reporter = StepReporter(task_id=uuid.uuid4(), attempt=1, lost=lost, clock=Clock())
    lost.set()
    with pytest.raises(GenerationCancelled, match="no longer holds the task"):
        reporter(1, 4)
    assert reporter.redis_calls == 0 and reporter.cancel_requested()


def test_redis_away_never_fails_the_run_and_is_not_asked_every_step(redis_down):
    clock = Clock()
    reporter = StepReporter(task_id=uuid.uuid4(), attempt=1, interval=0, clock=clock)
    started = time.monotonic()
    for step in range(1, 51):  # 5 s of steps, 0.1 s each
        reporter(step, 50)
        assert not reporter.cancel_requested()
        clock.now += 0.1
    # Tried at 0 s, then backed off 1 s, 2 s: at 1 s and 3 s; not again before 7 s.
    assert reporter.redis_calls == 3 and reporter.failures == 3 and reporter.sent == []
    assert time.monotonic() - started < 3 * 1.5  # three refused connections, not fifty


def test_the_events_channel_names_the_redis_database(settings):
    # Pub/sub ignores database numbers: two deployments on one Redis server must not share a channel.
    assert events._channel("redis://127.0.0.1:6379/3") == "imagegen:task-events:3"
    assert events._channel("redis://127.0.0.1:6379") == "imagegen:task-events:0"
    settings.RQ_QUEUES = {**settings.RQ_QUEUES, "default": {**settings.RQ_QUEUES["default"], "URL": "redis://h/7"}}
    assert events.channel() == "imagegen:task-events:7"

"""Progress from the pipeline and cancelling a running task, with real rq workers: `run_worker`
processes running the tiny model with slow steps (GENERATION_MODELS' ``step_delay``), or a burst
worker in this process where a hook around a real function places the cancel at an exact point.

Whatever the timing, a task has one outcome: cancelled (charge 0, hold released, no image rows, no
files, one callback) or, if the cancel came after the end, succeeded and billed with the cancel
answered 409. Never both."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from rq.job import Job

from billing.models import BillingAccount, CreditEntry, UsageRecord
from billing.reconcile import reconcile as reconcile_billing
from callbacks.models import CallbackDelivery
from generation import events
from generation.models import Image, Task
from generation.reconcile import reconcile
from tests.conftest import problem, queues_for

pytestmark = [pytest.mark.long, pytest.mark.django_db(transaction=True)]

SLOW = {"tiny": {"steps": 10, "step_delay": 0.3}}  # about 3 s a task, a step every 0.3 s


class Listener:
    """A subscriber to the task events channel (shared by every Redis database: messages are kept
    by task id)."""

    def __init__(self, redis_conn):
        self.pubsub = redis_conn.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(events.channel())
        self.pubsub.get_message(timeout=1)
        self.received: list[dict] = []

    def drain(self, timeout: float = 0.05) -> None:
        while message := self.pubsub.get_message(timeout=timeout):
            if message["type"] == "message":
                self.received.append(json.loads(message["data"]))

    def of(self, task_id: str, event: str = "progress") -> list[dict]:
        return [m for m in self.received if m["id"] == task_id and m["event"] == event]

    def wait(self, predicate, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"timed out; received {self.received}"
            self.drain()


@pytest.fixture
def listener(redis_conn):
    listening = Listener(redis_conn)
    yield listening
    listening.pubsub.close()


def wait_for(predicate, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def submit(api, callback_url: str = "", **options) -> str:
    body = {"text_data": "a lighthouse", "options": {"num_images": 1, **options}}
    if callback_url:
        body["callback_url"] = callback_url
    response = api.post("/api/v2/task/async", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["id"]


def task(task_id: str) -> Task:
    return Task.unscoped_objects.get(pk=task_id)


def finished_job(task_id: str, redis_conn, *, timeout: float = 60) -> Job:
    job_id = task(task_id).job_id
    wait_for(
        lambda: Job.fetch(job_id, connection=redis_conn).get_status() in ("finished", "failed"),
        timeout=timeout,
        what=f"job {job_id}",
    )
    return Job.fetch(job_id, connection=redis_conn)


def stored_files(task_id: str) -> list[str]:
    folder = Path(settings.STORAGES["images"]["OPTIONS"]["location"]) / "image_generation" / task_id
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def assert_cancelled_and_free(task_id: str) -> None:
    cancelled = task(task_id)
    assert cancelled.state == Task.State.CANCELLED and cancelled.charge == 0
    assert not Image.unscoped_objects.filter(task_id=task_id).exists()
    assert stored_files(task_id) == []
    assert not UsageRecord.unscoped_objects.filter(task_id=task_id).exists()
    kinds = sorted(CreditEntry.unscoped_objects.filter(task_id=task_id).values_list("kind", flat=True))
    assert kinds in ([], ["hold", "release"])  # postpaid holds nothing; prepaid holds and releases once


def assert_books_clean(project) -> None:
    assert reconcile_billing() == []
    assert BillingAccount.unscoped_objects.get(tenant=project.tenant).credit_held == 0


# --- Progress ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_worker_process_publishes_progress_in_order_throttled_with_the_last_step(
    api, listener, start_worker, redis_conn
):
    start_worker(
        GENERATION_MODELS=json.dumps({"tiny": {"steps": 15, "step_delay": 0.1}}), GENERATION_PROGRESS_INTERVAL="1.0"
    )
    started = time.monotonic()
    task_id = submit(api)
    listener.wait(lambda: any(m["step"] == 15 for m in listener.of(task_id)), timeout=60)
    elapsed = time.monotonic() - started
    steps = [(m["step"], m["steps"]) for m in listener.of(task_id)]
    assert all(total == 15 for _, total in steps) and steps[-1] == (15, 15)
    numbers = [step for step, _ in steps]
    assert numbers == sorted(set(numbers)) and numbers[0] == 1
    # At most one event a second, plus the last step: far fewer than the 15 steps of about 0.1 s
    # each (the exact spacing is checked with a clock of the test's own in
    # tests/generation/test_progress.py; here the machine may be loaded and steps slower).
    assert len(numbers) <= elapsed / 1.0 + 2, (numbers, elapsed)
    assert events.latest_progress(task_id) == {"step": 15, "steps": 15, "attempt": 1}
    wait_for(lambda: task(task_id).state == Task.State.SUCCEEDED, timeout=30, what="the task to succeed")


# --- Cancel while running --------------------------------------------------------------------------
@pytest.mark.slow
def test_cancel_while_running_stops_within_one_step_free_with_one_callback_and_the_worker_goes_on(
    prepaid_api, prepaid_project, receiver, callback_settings, run_callback_worker, start_worker, listener, redis_conn
):
    start_worker(GENERATION_MODELS=json.dumps(SLOW), GENERATION_PROGRESS_INTERVAL="0")  # every step published
    task_id = submit(prepaid_api, receiver.url)
    listener.wait(lambda: len(listener.of(task_id)) >= 2, timeout=60)

    response = prepaid_api.post(f"/api/v2/task/{task_id}/cancel")
    cancelled_at = time.time()
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "cancelled" and body["status"][0]["response"]["input"]["charge"] == "0.00000"

    job = finished_job(task_id, redis_conn)
    result = job.return_value()
    stopped = re.fullmatch(r"stopped after step (\d+) of 10: task is cancelled", result)
    assert stopped, result
    step = int(stopped.group(1))
    listener.drain(timeout=0.3)
    published = [m["step"] for m in listener.of(task_id)]
    # Every step up to the one that saw the flag was published; that step saw it, so the flag was set
    # while it ran: one step at most ran after the cancel, and none began after it.
    assert published == list(range(1, step)) and step < 10
    assert job.ended_at.timestamp() - cancelled_at < 0.3 + 2.0  # one step, plus a loaded machine's slack

    assert_cancelled_and_free(task_id)
    assert_books_clean(prepaid_project)
    run_callback_worker()
    calls = [json.loads(r.body) for r in receiver.requests]
    assert [(c["id"], c["state"]) for c in calls] == [(task_id, "cancelled")]
    assert list(CallbackDelivery.unscoped_objects.values_list("event_type", flat=True)) == ["task.cancelled"]

    again = prepaid_api.post(f"/api/v2/task/{task_id}/cancel")
    assert again.status_code == 409 and problem(again)["code"] == "task_not_cancellable"
    # The same worker takes the next job and finishes it.
    following = submit(prepaid_api)
    wait_for(lambda: task(following).state == Task.State.SUCCEEDED, timeout=60, what="the next task")
    assert task(following).charge > 0 and len(stored_files(following)) == 1
    assert_books_clean(prepaid_project)


@pytest.mark.slow
def test_cancels_racing_the_end_of_tasks_each_give_one_outcome(prepaid_api, prepaid_project, start_worker, redis_conn):
    """One task at a time, cancelled at a growing delay after it started: mid-run, about the end
    of its steps, during moderation and storage, after the end. Each has exactly one outcome."""
    start_worker(GENERATION_MODELS=json.dumps({"tiny": {"steps": 3, "step_delay": 0.1}}))
    answers = {}
    for delay in (0, 0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.8, 3.0):
        task_id = submit(prepaid_api)
        wait_for(lambda task_id=task_id: task(task_id).state != Task.State.QUEUED, timeout=60, what="the task to start")
        time.sleep(delay)
        answers[task_id] = prepaid_api.post(f"/api/v2/task/{task_id}/cancel").status_code
        finished_job(task_id, redis_conn)  # the worker is done with it before the next one
    for task_id, answer in answers.items():
        if answer == 200:
            assert_cancelled_and_free(task_id)
        else:
            assert answer == 409
            done = task(task_id)
            assert done.state == Task.State.SUCCEEDED and done.charge > 0
            assert UsageRecord.unscoped_objects.filter(task_id=task_id).count() == 1
            assert len(stored_files(task_id)) == 1
    assert 200 in answers.values() and 409 in answers.values(), answers
    assert_books_clean(prepaid_project)


# --- The exact moments, placed by a hook around the real function -----------------------------
def cancel_through_the_api(api, task_id) -> int:
    return api.post(f"/api/v2/task/{task_id}/cancel").status_code


def test_a_cancel_after_the_last_step_and_before_the_finish_wins_and_nothing_is_kept(
    prepaid_api, prepaid_project, run_worker, monkeypatch
):
    from generation import services

    real, answers = services.task_succeed, []

    def cancel_first(**kwargs):
        answers.append(cancel_through_the_api(prepaid_api, str(kwargs["task"].pk)))
        return real(**kwargs)

    monkeypatch.setattr(services, "task_succeed", cancel_first)
    task_id = submit(prepaid_api, num_images=2)
    run_worker()
    assert answers == [200]
    assert_cancelled_and_free(task_id)  # the images it had stored are gone again
    assert_books_clean(prepaid_project)


def test_a_cancel_just_after_the_finish_is_409_and_the_task_stays_succeeded_and_billed(
    prepaid_api, prepaid_project, run_worker, monkeypatch
):
    from generation import services

    real, answers = services.task_succeed, []

    def cancel_after(**kwargs):
        finished = real(**kwargs)
        answers.append(cancel_through_the_api(prepaid_api, str(kwargs["task"].pk)))
        return finished

    monkeypatch.setattr(services, "task_succeed", cancel_after)
    task_id = submit(prepaid_api, num_images=2)
    run_worker()
    assert answers == [409]
    done = task(task_id)
    assert done.state == Task.State.SUCCEEDED and done.charge > 0 and len(stored_files(task_id)) == 2
    assert Image.unscoped_objects.filter(task_id=task_id).count() == 2
    assert_books_clean(prepaid_project)


def test_a_cancel_during_image_moderation_stores_nothing(prepaid_api, prepaid_project, run_worker, monkeypatch):
    from generation import jobs, storage

    real_loader, saved, answers = jobs.load_image_moderator, [], []

    class CancellingModerator:
        def __init__(self, inner):
            self.inner = inner

        def describe(self):
            return self.inner.describe()

        def moderate(self, images, policy):
            answers.append(cancel_through_the_api(prepaid_api, task_id))
            return self.inner.moderate(images, policy)

    monkeypatch.setattr(jobs, "load_image_moderator", lambda: CancellingModerator(real_loader()))
    real_save = storage.save_image
    monkeypatch.setattr(storage, "save_image", lambda path, data: saved.append(path) or real_save(path, data))
    task_id = submit(prepaid_api, num_images=2)
    run_worker()
    assert answers == [200] and saved == []  # the check before storing saw the flag
    assert_cancelled_and_free(task_id)
    assert_books_clean(prepaid_project)


def test_a_cancel_during_storage_removes_what_the_run_stored(prepaid_api, prepaid_project, run_worker, monkeypatch):
    from generation import storage

    real_save, saved, answers = storage.save_image, [], []

    def save_then_cancel(path, data):
        stored = real_save(path, data)
        saved.append(path)
        if len(saved) == 1:  # the first of three images is on disk
            answers.append(cancel_through_the_api(prepaid_api, task_id))
        return stored

    monkeypatch.setattr(storage, "save_image", save_then_cancel)
    task_id = submit(prepaid_api, num_images=3)
    run_worker()
    assert answers == [200] and len(saved) == 3  # storing went on; the finish was refused
    assert_cancelled_and_free(task_id)
    assert_books_clean(prepaid_project)


# --- Redis away, a worker killed ----------------------------------------------------------------
def point_web_at_a_dead_redis(settings) -> None:
    from tests.conftest import free_port

    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings.REDIS_URL, settings.RQ_QUEUES = dead, queues_for(dead)


@pytest.mark.slow
def test_cancel_with_redis_down_holds_and_the_late_finish_is_refused_and_discarded(
    prepaid_api, prepaid_project, start_worker, redis_conn, settings
):
    # A long lease: the worker's renewal does not come round before the run ends.
    start_worker(GENERATION_MODELS=json.dumps({"tiny": {"steps": 6, "step_delay": 0.3}}))
    task_id = submit(prepaid_api, num_images=2)
    wait_for(lambda: task(task_id).state == Task.State.RUNNING, timeout=60, what="the task to start")
    point_web_at_a_dead_redis(settings)
    response = prepaid_api.post(f"/api/v2/task/{task_id}/cancel")
    assert response.status_code == 200 and response.json()["state"] == "cancelled"

    job = finished_job(task_id, redis_conn)
    assert job.return_value() == "not finished here: task is cancelled"  # ran to the end, refused
    assert_cancelled_and_free(task_id)  # and removed the two images it had stored
    assert_books_clean(prepaid_project)


@pytest.mark.slow
def test_cancel_with_redis_down_reaches_the_worker_through_its_lease_renewal(
    prepaid_api, prepaid_project, start_worker, redis_conn, settings
):
    start_worker(GENERATION_MODELS=json.dumps(SLOW), GENERATION_LEASE_SECONDS="1.5")  # renewed every 0.5 s
    task_id = submit(prepaid_api)
    wait_for(lambda: task(task_id).state == Task.State.RUNNING, timeout=60, what="the task to start")
    point_web_at_a_dead_redis(settings)
    assert prepaid_api.post(f"/api/v2/task/{task_id}/cancel").status_code == 200

    result = finished_job(task_id, redis_conn).return_value()
    stopped = re.fullmatch(r"stopped after step (\d+) of 10: task is cancelled", result)
    assert stopped and int(stopped.group(1)) < 10, result
    assert_cancelled_and_free(task_id)
    assert_books_clean(prepaid_project)


@pytest.mark.slow
def test_a_worker_killed_after_a_cancel_leaves_the_task_cancelled_and_the_reconciler_does_not_revive_it(
    prepaid_api, prepaid_project, receiver, callback_settings, start_worker, redis_conn
):
    worker = start_worker(GENERATION_MODELS=json.dumps(SLOW))
    task_id = submit(prepaid_api, receiver.url)
    wait_for(lambda: task(task_id).state == Task.State.RUNNING, timeout=60, what="the task to start")
    os.kill(worker.pid, signal.SIGSTOP)  # frozen mid-step: it cannot see the flag
    try:
        assert prepaid_api.post(f"/api/v2/task/{task_id}/cancel").status_code == 200
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)

    report = reconcile(now=timezone.now() + timedelta(seconds=10 * settings.GENERATION_LEASE_SECONDS))
    assert str(task_id) not in report.recovered + report.worker_lost + report.requeued
    assert task(task_id).attempts == 1
    assert_cancelled_and_free(task_id)
    assert_books_clean(prepaid_project)
    assert CallbackDelivery.unscoped_objects.filter(task_id=task_id).count() == 1
    queue_name = settings.MODEL_REGISTRY["tiny"].queue
    assert redis_conn.llen(f"rq:queue:{queue_name}") == 0  # no job put back


def test_a_hung_redis_costs_a_cancel_one_read_timeout_and_its_callback_waits_for_the_sweep(
    prepaid_api, prepaid_project, own_redis, receiver, callback_settings, settings
):
    from generation import services

    settings.REDIS_SOCKET_TIMEOUT = 1.0
    task_id = submit(prepaid_api, receiver.url)
    assert services.task_start(task=task(task_id), worker_name="test", run_info={})
    own_redis.freeze()  # accepts connections, never answers
    started = time.monotonic()
    response = prepaid_api.post(f"/api/v2/task/{task_id}/cancel")
    elapsed = time.monotonic() - started
    # The rate limiter's read timeout, which lets the request through; the cancel knows Redis did
    # not answer and neither sets the flag nor enqueues the callback (two more timeouts).
    assert response.status_code == 200 and elapsed < 1.0 + 0.9, elapsed
    assert_cancelled_and_free(task_id)
    assert_books_clean(prepaid_project)
    delivery = CallbackDelivery.unscoped_objects.get(task_id=task_id)
    assert delivery.event_type == "task.cancelled" and delivery.status == CallbackDelivery.Status.PENDING

"""`manage.py run_callback_worker` as a real process: the retry schedule survives a restart
(it lives in Redis, moved by rq's scheduler), and a worker that starts after Redis lost
everything puts the overdue attempt back from the database."""

import subprocess
import time

import pytest
from django.utils import timezone

from callbacks import services
from callbacks.models import CallbackAttempt, CallbackDelivery
from generation.models import Task
from tests.callbacks.conftest import Reply
from tests.factories import ProjectFactory

pytestmark = [pytest.mark.slow, pytest.mark.long, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def start_callback_worker(start_process):
    def start(**env: str) -> subprocess.Popen:
        settings_env = {
            "CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8",
            "CALLBACK_RETRY_SCHEDULE": "0,2,2",
            "CALLBACK_RETRY_JITTER": "0",
            "PUBLIC_BASE_URL": "http://testserver",
            **env,
        }
        return start_process(["run_callback_worker"], "callback-worker", **settings_env)

    return start


def stop(proc) -> None:
    proc.terminate()
    proc.wait(timeout=15)


def wait_for(predicate, timeout=20.0, what=""):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def finished_task(receiver) -> Task:
    project = ProjectFactory()
    return Task.unscoped_objects.create(
        tenant=project.tenant,
        project=project,
        text_data="a",
        num_images=1,
        seed=1,
        model="tiny",
        callback_url=receiver.url,
        state=Task.State.SUCCEEDED,
        finished_at=timezone.now(),
    )


def test_a_scheduled_retry_survives_a_worker_restart(receiver, start_callback_worker):
    receiver.reply(Reply(500), Reply(200))
    first = start_callback_worker()
    delivery = services.callback_schedule(task_id=finished_task(receiver).pk)
    wait_for(lambda: len(receiver.requests) == 1, what="the first attempt")
    stop(first)  # the retry is due in 2 s; nobody is running
    time.sleep(2.5)
    assert len(receiver.requests) == 1
    start_callback_worker()
    wait_for(lambda: len(receiver.requests) == 2, what="the retry after the restart")
    assert receiver.requests[1].headers["webhook-id"] == delivery.webhook_id
    wait_for(lambda: CallbackDelivery.unscoped_objects.get(pk=delivery.pk).status == "succeeded", what="success")
    assert CallbackAttempt.unscoped_objects.filter(delivery=delivery).count() == 2


def test_a_worker_starting_after_redis_lost_everything_recovers_from_the_database(
    receiver, start_callback_worker, redis_conn
):
    receiver.reply(Reply(500), Reply(200))
    first = start_callback_worker()
    delivery = services.callback_schedule(task_id=finished_task(receiver).pk)
    wait_for(lambda: len(receiver.requests) == 1, what="the first attempt")
    stop(first)
    redis_conn.flushdb()  # the scheduled retry is lost with everything else
    time.sleep(4.5)  # due at +2 s, and overdue past the sweep's grace
    start_callback_worker()  # sweeps at start
    wait_for(lambda: len(receiver.requests) == 2, what="the recovered retry")
    assert receiver.requests[1].headers["webhook-id"] == delivery.webhook_id
    wait_for(lambda: CallbackDelivery.unscoped_objects.get(pk=delivery.pk).status == "succeeded", what="success")
    triggers = list(
        CallbackAttempt.unscoped_objects.filter(delivery=delivery).order_by("number").values_list("trigger", flat=True)
    )
    assert triggers == ["schedule", "recovered"]


def test_a_running_worker_sweeps_on_its_own(receiver, start_callback_worker, redis_conn):
    """No restart: the worker's sweep, every CALLBACK_RECOVER_INTERVAL seconds, puts the job back."""
    receiver.reply(Reply(500), Reply(200))
    start_callback_worker(CALLBACK_RETRY_SCHEDULE="0,3", CALLBACK_RECOVER_INTERVAL="1")
    delivery = services.callback_schedule(task_id=finished_task(receiver).pk)
    wait_for(lambda: len(receiver.requests) == 1, what="the first attempt")
    wait_for(lambda: redis_conn.keys(f"rq:job:cb-{delivery.pk}-2"), what="the scheduled retry")
    redis_conn.delete(f"rq:job:cb-{delivery.pk}-2", *redis_conn.keys("rq:scheduled:*"))  # Redis lost it
    wait_for(lambda: len(receiver.requests) == 2, timeout=20, what="the swept retry")
    assert receiver.requests[1].headers["webhook-id"] == delivery.webhook_id
    wait_for(lambda: CallbackAttempt.unscoped_objects.filter(delivery=delivery, number=2).exists(), what="the log")
    assert CallbackAttempt.unscoped_objects.get(delivery=delivery, number=2).trigger == "recovered"

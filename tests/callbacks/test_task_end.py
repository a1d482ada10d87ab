"""A task that ends with a callback_url is delivered once, signed, whichever way it ended:
through the API, the real generation worker and the real callback worker."""

from datetime import timedelta

import pytest
from django.db import transaction
from standardwebhooks.webhooks import Webhook

from callbacks import services as callback_services
from callbacks.models import CallbackDelivery
from generation import services
from generation.models import Task
from tests.conftest import free_port, queues_for

pytestmark = pytest.mark.django_db(transaction=True)


def submit(api, receiver, **extra) -> str:
    body = {"text_data": "a lighthouse", "options": {"num_images": 2}, "callback_url": receiver.url, **extra}
    response = api.post("/api/v2/task/async", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["id"]


def secret(api) -> str:
    return api.get("/api/v2/webhook-secret").json()["secret"]


def delivered(receiver, api) -> dict[str, dict]:
    """The bodies the receiver got, by task id, each verified with the project's secret."""
    out = {}
    for request in receiver.requests:
        body = Webhook(secret(api)).verify(request.body, request.headers)
        assert body["id"] not in out, "delivered twice"
        out[body["id"]] = body
    return out


def test_succeeded_failed_blocked_and_cancelled_tasks_each_deliver_once(
    api, anon, callback_settings, receiver, run_worker, run_callback_worker, unwritable_dir
):
    succeeded = submit(api, receiver)
    run_worker()

    images = callback_settings.STORAGES["images"]
    callback_settings.STORAGES = {
        **callback_settings.STORAGES,
        "images": {**images, "OPTIONS": {"location": unwritable_dir}},
    }
    failed = submit(api, receiver)
    run_worker()
    callback_settings.STORAGES = {**callback_settings.STORAGES, "images": images}

    blocked = submit(api, receiver, text_data="a decapitated body")  # prompt moderation blocks it at submit
    cancelled = submit(api, receiver)
    assert api.post(f"/api/v2/task/{cancelled}/cancel").status_code == 200
    no_callback = api.post("/api/v2/task/async", {"text_data": "x"}, format="json").json()["id"]

    run_callback_worker()
    run_worker()
    run_callback_worker()  # nothing more to send
    bodies = delivered(receiver, api)
    assert set(bodies) == {succeeded, failed, blocked, cancelled}
    assert not CallbackDelivery.unscoped_objects.filter(task_id=no_callback).exists()

    assert bodies[succeeded]["state"] == "succeeded"
    links = [image["url"] for image in bodies[succeeded]["status"][0]["response"]["output"][0]["images"]]
    assert len(links) == 2 and all(link.startswith("http://testserver/api/v2/image/") for link in links)
    assert anon.get(links[0].removeprefix("http://testserver")).status_code == 200  # the links work
    assert bodies[failed]["state"] == "failed" and bodies[failed]["error"]["code"] == "storage_failed"
    assert bodies[blocked]["state"] == "failed" and bodies[blocked]["error"]["code"] == "moderation_blocked_prompt"
    assert bodies[cancelled]["state"] == "cancelled"
    for task_id, body in bodies.items():  # the body is the task object the API shows
        polled = api.get(f"/api/v2/task/{task_id}").json()
        assert {k: v for k, v in body.items() if k != "status"} == {k: v for k, v in polled.items() if k != "status"}
    events = dict(CallbackDelivery.unscoped_objects.values_list("task_id", "event_type"))
    assert {str(k): v for k, v in events.items()} == {
        succeeded: "task.succeeded",
        failed: "task.failed",
        blocked: "task.blocked",
        cancelled: "task.cancelled",
    }


def test_the_delivery_commits_with_the_end_and_is_enqueued_only_after_the_commit(api, callback_settings, receiver):
    from callbacks import queues

    task = Task.unscoped_objects.get(pk=submit(api, receiver))
    with pytest.raises(RuntimeError), transaction.atomic():
        services.task_fail(task=task, code="generation_failed", detail="x")
        delivery = CallbackDelivery.unscoped_objects.get(task=task)  # written in the end's transaction
        assert not queues.attempt_job_is_live(delivery.pk, 1)  # nothing sent before the commit
        raise RuntimeError("rolled back")
    assert not CallbackDelivery.unscoped_objects.filter(task=task).exists()  # rolled back with the end
    services.task_fail(task=task, code="generation_failed", detail="x")
    delivery = CallbackDelivery.unscoped_objects.get(task=task)
    assert queues.attempt_job_is_live(delivery.pk, 1)


def test_a_worker_killed_right_after_a_tasks_end_commits_loses_no_callback(
    api, callback_settings, receiver, run_callback_worker, monkeypatch
):
    """A worker killed after the end's commit, before any after-commit work ran (a CI run of
    2026-12-07 lost a succeeded task's callback so, when the delivery row was written after the
    commit), leaves the delivery due; the callback worker's recovery sweep sends it."""
    task = Task.unscoped_objects.get(pk=submit(api, receiver))
    assert services.task_start(task=task, worker_name="test", run_info={})
    monkeypatch.setattr(services, "_notify", lambda end, **kwargs: None)  # the process died here
    assert services.task_fail(task=task, code="generation_failed", detail="x")
    delivery = CallbackDelivery.unscoped_objects.get(task=task)
    assert delivery.status == "pending" and delivery.task_finished_at == task.finished_at
    # The sweep leaves an attempt due for less than RECOVER_GRACE to its own enqueue: no waiting here.
    monkeypatch.setattr(callback_services, "RECOVER_GRACE", timedelta(0))
    run_callback_worker()  # its recovery sweep enqueues the attempt nobody enqueued
    assert set(delivered(receiver, api)) == {str(task.id)}


def test_redis_down_when_a_task_ends_does_not_break_it(api, callback_settings, receiver):
    task_id = submit(api, receiver)
    callback_settings.RQ_QUEUES = queues_for(f"redis://127.0.0.1:{free_port()}/0")
    response = api.post(f"/api/v2/task/{task_id}/cancel")
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    delivery = CallbackDelivery.unscoped_objects.get(task_id=task_id)  # the sweep will enqueue it
    assert delivery.status == "pending" and delivery.attempts_count == 0

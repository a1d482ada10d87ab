"""Deliveries through the real callback worker (rq, burst, with its scheduler) to a real receiver
on loopback, every one verified with the ``standardwebhooks`` verifier."""

import json
from datetime import timedelta
from functools import partial

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rq.registry import ScheduledJobRegistry
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from callbacks import queues, selectors, services
from callbacks.models import CallbackAttempt, CallbackDelivery, CallbackEndpoint, WebhookSecretRotation
from generation.models import Task
from tests.callbacks.conftest import Reply
from tests.conftest import TEST_REDIS_URL, at_once, free_port, queues_for
from tests.factories import ProjectFactory, make_key

pytestmark = pytest.mark.django_db(transaction=True)
Status = CallbackDelivery.Status


def finished_task(project, url, *, state=Task.State.SUCCEEDED, error_code="") -> Task:
    """A task in a final state, as the generation worker or a cancel leaves it."""
    return Task.unscoped_objects.create(
        tenant=project.tenant,
        project=project,
        text_data="a lighthouse",
        num_images=1,
        seed=1,
        model="tiny",
        callback_url=url,
        state=state,
        error_code=error_code,
        error_detail="blocked" if error_code else "",
        finished_at=timezone.now(),
    )


def secret_of(project) -> str:
    project.refresh_from_db()
    return selectors.webhook_secret_get(project=project).secret


def verified(request, secret) -> dict:
    return Webhook(secret).verify(request.body, request.headers)


def attempts_of(delivery) -> list[CallbackAttempt]:
    return list(CallbackAttempt.unscoped_objects.filter(delivery=delivery).order_by("number"))


def delivery_of(task) -> CallbackDelivery:
    return CallbackDelivery.unscoped_objects.get(task=task)


@pytest.fixture
def project():
    return ProjectFactory()


def test_success_delivers_once_signed(callback_settings, receiver, project, run_callback_worker):
    task = finished_task(project, receiver.url)
    delivery = services.callback_schedule(task_id=task.pk)
    assert delivery.webhook_id.startswith("msg_") and delivery.event_type == "task.succeeded"
    run_callback_worker()
    (request,) = receiver.requests
    body = verified(request, secret_of(project))
    assert body["id"] == str(task.id) and body["state"] == "succeeded"
    assert request.headers["webhook-id"] == delivery.webhook_id
    assert request.headers["content-type"] == "application/json"
    delivery.refresh_from_db()
    assert delivery.status == Status.SUCCEEDED and delivery.attempts_count == 1 and delivery.finished_at
    assert json.loads(delivery.body) == body
    (attempt,) = attempts_of(delivery)
    assert attempt.status_code == 200 and attempt.error == "" and attempt.latency_ms > 0
    assert attempt.response_excerpt == "ok" and attempt.next_attempt_at is None and attempt.address == "127.0.0.1"
    # Once: scheduling again, sweeping and running the worker again send nothing more.
    assert services.callback_schedule(task_id=task.pk) == delivery
    services.callbacks_recover(now=timezone.now() + timedelta(days=4))
    run_callback_worker()
    assert len(receiver.requests) == 1


@pytest.mark.slow  # waits for three real retries
def test_fails_three_times_then_succeeds_with_one_webhook_id(callback_settings, receiver, project, run_callback_worker):
    callback_settings.CALLBACK_RETRY_SCHEDULE = [0, 1, 1, 1, 1]
    receiver.reply(Reply(500), Reply(502), Reply(503, body=b"busy"), Reply(200))
    task = finished_task(project, receiver.url)
    delivery = services.callback_schedule(task_id=task.pk)
    run_callback_worker(timeout=30)

    assert len(receiver.requests) == 4
    secret = secret_of(project)
    assert {r.headers["webhook-id"] for r in receiver.requests} == {delivery.webhook_id}
    for request in receiver.requests:
        assert verified(request, secret)["id"] == str(task.id)
    gaps = [b.at - a.at for a, b in zip(receiver.requests, receiver.requests[1:], strict=False)]
    assert all(gap >= 0.9 for gap in gaps), gaps  # the schedule, kept by rq's scheduler
    attempts = attempts_of(delivery)
    assert [a.status_code for a in attempts] == [500, 502, 503, 200]
    assert [a.error for a in attempts] == ["HTTP 500", "HTTP 502", "HTTP 503", ""]
    assert attempts[2].response_excerpt == "busy"
    assert all(a.next_attempt_at for a in attempts[:3]) and attempts[3].next_attempt_at is None
    delivery.refresh_from_db()
    assert delivery.status == Status.SUCCEEDED and delivery.attempts_count == 4
    # The customer sees the same log.
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {make_key(project)}")
    (shown,) = api.get(f"/api/v2/task/{task.id}/callbacks").json()["deliveries"]
    assert shown["webhook_id"] == delivery.webhook_id and shown["status"] == "succeeded"
    assert [a["status_code"] for a in shown["attempts"]] == [500, 502, 503, 200]


def test_gives_up_when_the_schedule_is_used_up(callback_settings, receiver, project, run_callback_worker):
    callback_settings.CALLBACK_RETRY_SCHEDULE = [0, 1]
    receiver.default = Reply(500)
    delivery = services.callback_schedule(task_id=finished_task(project, receiver.url).pk)
    run_callback_worker()
    delivery.refresh_from_db()
    assert delivery.status == Status.GAVE_UP and delivery.finished_at and delivery.next_attempt_at is None
    assert [a.status_code for a in attempts_of(delivery)] == [500, 500]
    assert len(receiver.requests) == 2


def test_410_stops_retries_and_marks_the_endpoint(callback_settings, receiver, project, run_callback_worker):
    callback_settings.CALLBACK_RETRY_SCHEDULE = [0, 1, 1]
    receiver.reply(Reply(410, body=b"gone"))
    first = services.callback_schedule(task_id=finished_task(project, receiver.url).pk)
    run_callback_worker()
    services.callbacks_recover(now=timezone.now() + timedelta(days=4))
    run_callback_worker()
    assert len(receiver.requests) == 1
    first.refresh_from_db()
    assert first.status == Status.ENDPOINT_GONE and first.next_attempt_at is None
    (attempt,) = attempts_of(first)
    assert attempt.status_code == 410 and "410 Gone" in attempt.error and attempt.next_attempt_at is None
    endpoint = CallbackEndpoint.unscoped_objects.get(project=project)
    assert endpoint.gone_at and endpoint.gone_webhook_id == first.webhook_id and endpoint.url == receiver.url

    # Later tasks to the same URL are not sent, and say why.
    second = services.callback_schedule(task_id=finished_task(project, receiver.url).pk)
    run_callback_worker()
    second.refresh_from_db()
    assert len(receiver.requests) == 1
    assert second.status == Status.ENDPOINT_GONE and second.attempts_count == 0
    assert "410 Gone" in second.last_error and first.webhook_id in second.last_error
    # Another project's URL of the same address is not affected.
    other = services.callback_schedule(task_id=finished_task(ProjectFactory(), receiver.url).pk)
    run_callback_worker()
    other.refresh_from_db()
    assert other.status == Status.SUCCEEDED and len(receiver.requests) == 2

    # Cleared by an operator: redelivery works again.
    assert services.callback_redeliver(delivery=second)[0] is False
    services.endpoint_clear_gone(endpoint=endpoint)
    assert services.callback_redeliver(delivery=second)[0] is True
    run_callback_worker()
    second.refresh_from_db()
    assert second.status == Status.SUCCEEDED and len(receiver.requests) == 3


def scheduled_at(delivery_id: int, number: int) -> float | None:
    registry = ScheduledJobRegistry(queue=queues.get_queue())
    return registry.connection.zscore(registry.key, queues.attempt_job_id(delivery_id, number))


def test_retry_after_is_honoured(callback_settings, receiver, project, run_callback_worker):
    receiver.reply(Reply(503, headers={"Retry-After": "120"}))
    delivery = services.callback_schedule(task_id=finished_task(project, receiver.url).pk)
    run_callback_worker()
    (attempt,) = attempts_of(delivery)
    wait = (attempt.next_attempt_at - attempt.started_at).total_seconds()
    assert 119 <= wait <= 125  # the schedule alone says 5 s
    assert "Retry-After: 120" in attempt.error
    # The retry is scheduled in Redis for then, not earlier.
    assert scheduled_at(delivery.pk, 2) >= attempt.next_attempt_at.timestamp()
    delivery.refresh_from_db()
    assert delivery.status == Status.PENDING and len(receiver.requests) == 1


def test_receiver_down_is_a_failed_attempt_that_is_retried(callback_settings, project, run_callback_worker):
    delivery = services.callback_schedule(task_id=finished_task(project, f"http://127.0.0.1:{free_port()}/x").pk)
    run_callback_worker()
    (attempt,) = attempts_of(delivery)
    assert attempt.status_code is None and attempt.error == "connection refused"
    assert 4 <= (attempt.next_attempt_at - attempt.started_at).total_seconds() <= 7  # 5 s: the second step
    delivery.refresh_from_db()
    assert delivery.status == Status.PENDING and delivery.next_attempt_at == attempt.next_attempt_at
    assert scheduled_at(delivery.pk, 2) is not None


def test_slow_receiver_times_out_and_is_retried(callback_settings, receiver, project, run_callback_worker):
    callback_settings.CALLBACK_TIMEOUT = 0.5
    receiver.reply(Reply(200, delay=3))
    delivery = services.callback_schedule(task_id=finished_task(project, receiver.url).pk)
    run_callback_worker(horizon=0)
    (attempt,) = attempts_of(delivery)
    assert attempt.error == "timed out after 0.5 s" and attempt.status_code is None
    assert 450 <= attempt.latency_ms < 1500
    delivery.refresh_from_db()
    assert delivery.status == Status.PENDING


def test_redirect_to_loopback_is_not_followed(
    callback_settings, receiver, other_receiver, project, run_callback_worker
):
    receiver.reply(Reply(302, headers={"Location": other_receiver.url}))
    delivery = services.callback_schedule(task_id=finished_task(project, receiver.url).pk)
    run_callback_worker(horizon=0)
    (attempt,) = attempts_of(delivery)
    assert attempt.status_code == 302
    assert attempt.error == f"redirect not followed (HTTP 302 to {other_receiver.url})"
    assert other_receiver.requests == []
    delivery.refresh_from_db()
    assert delivery.status == Status.PENDING  # a 3xx is a failure like any other


def test_unsafe_url_is_refused_at_delivery_and_nothing_is_sent(receiver, project, run_callback_worker, settings):
    """Whatever let the URL in (an older deployment setting, a DNS change), the check right before
    connecting refuses it: here the deployment allows no private network."""
    settings.CALLBACK_ALLOWED_NETWORKS = []
    delivery = services.callback_schedule(task_id=finished_task(project, receiver.url).pk)
    run_callback_worker()
    assert receiver.requests == []
    delivery.refresh_from_db()
    assert delivery.status == Status.REFUSED and delivery.finished_at
    (attempt,) = attempts_of(delivery)
    assert attempt.error == "refused, nothing sent: 127.0.0.1 is a loopback address (127.0.0.0/8)"


def test_response_body_is_read_only_to_the_bound(callback_settings, receiver, project, run_callback_worker):
    receiver.reply(Reply(200, body=b"z" * 1_000_000))
    delivery = services.callback_schedule(task_id=finished_task(project, receiver.url).pk)
    run_callback_worker()
    (attempt,) = attempts_of(delivery)
    assert attempt.response_excerpt == "z" * callback_settings.CALLBACK_RESPONSE_MAX_BYTES


def test_a_redis_flush_loses_no_retry(callback_settings, receiver, project, run_callback_worker, redis_conn):
    callback_settings.CALLBACK_RETRY_SCHEDULE = [0, 3600]
    receiver.reply(Reply(500), Reply(200))
    delivery = services.callback_schedule(task_id=finished_task(project, receiver.url).pk)
    run_callback_worker()
    assert len(receiver.requests) == 1 and scheduled_at(delivery.pk, 2) is not None
    redis_conn.flushdb()  # the scheduled retry is gone from Redis
    assert scheduled_at(delivery.pk, 2) is None
    assert services.callbacks_recover(now=timezone.now() + timedelta(minutes=30)) == {"requeued": 0, "interrupted": 0}
    assert services.callbacks_recover(now=timezone.now() + timedelta(hours=2)) == {"requeued": 1, "interrupted": 0}
    assert services.callbacks_recover(now=timezone.now() + timedelta(hours=2))["requeued"] == 0  # its job is back
    run_callback_worker()
    assert len(receiver.requests) == 2
    assert receiver.requests[1].headers["webhook-id"] == delivery.webhook_id
    attempts = attempts_of(delivery)
    assert [(a.number, a.trigger, a.status_code) for a in attempts] == [(1, "schedule", 500), (2, "recovered", 200)]


def test_redis_down_when_the_task_ends_loses_nothing(callback_settings, receiver, project, run_callback_worker):
    callback_settings.RQ_QUEUES = queues_for(f"redis://127.0.0.1:{free_port()}/0")
    delivery = services.callback_schedule(task_id=finished_task(project, receiver.url).pk)  # does not raise
    assert delivery.status == Status.PENDING
    callback_settings.RQ_QUEUES = queues_for(TEST_REDIS_URL)
    assert services.callbacks_recover(now=timezone.now() + timedelta(minutes=1))["requeued"] == 1
    run_callback_worker()
    delivery.refresh_from_db()
    assert delivery.status == Status.SUCCEEDED and len(receiver.requests) == 1


def test_two_workers_on_one_attempt_send_it_once(callback_settings, receiver, project):
    receiver.reply(Reply(200, delay=0.3))
    delivery = services.callback_schedule(task_id=finished_task(project, receiver.url).pk)
    results = at_once([partial(services.callback_attempt_run, delivery_id=delivery.pk, number=1)] * 3)
    assert sorted(r.split(":")[0] for r in results) == ["skipped", "skipped", "succeeded"]
    assert len(receiver.requests) == 1
    assert services.callback_attempt_run(delivery_id=delivery.pk, number=1).startswith("skipped")  # a replay
    assert len(attempts_of(delivery)) == 1


def test_an_attempt_whose_worker_died_is_logged_and_retried(callback_settings, receiver, project, run_callback_worker):
    callback_settings.CALLBACK_RETRY_SCHEDULE = [0, 1]
    task = finished_task(project, receiver.url)
    delivery = services.callback_schedule(task_id=task.pk)
    queues.get_queue().empty()
    # A worker claimed attempt 1 and died before recording anything.
    claimed = timezone.now() - timedelta(minutes=10)
    CallbackDelivery.unscoped_objects.filter(pk=delivery.pk).update(
        status=Status.DELIVERING, attempts_count=1, claimed_at=claimed
    )
    assert services.callbacks_recover() == {"requeued": 0, "interrupted": 1}
    run_callback_worker()
    attempts = attempts_of(delivery)
    assert [(a.number, a.trigger, a.status_code) for a in attempts] == [(1, "recovered", None), (2, "schedule", 200)]
    assert attempts[0].error.startswith("interrupted: the worker was lost")
    assert len(receiver.requests) == 1


def test_during_a_rotation_both_secrets_sign(callback_settings, receiver, project, run_callback_worker):
    old = secret_of(project)
    new = services.webhook_secret_rotate(project=project)
    assert new != old and secret_of(project) == new
    services.callback_schedule(task_id=finished_task(project, receiver.url).pk)
    run_callback_worker()
    request = receiver.requests[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verified(request, old) and verified(request, new)

    # After the grace period only the new secret signs.
    WebhookSecretRotation.unscoped_objects.filter(project=project).update(
        previous_expires_at=timezone.now() - timedelta(seconds=1)
    )
    services.callback_schedule(task_id=finished_task(project, receiver.url).pk)
    run_callback_worker()
    request = receiver.requests[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    assert verified(request, new)
    with pytest.raises(WebhookVerificationError):
        verified(request, old)


def test_a_legacy_base64url_secret_verifies_in_its_shown_form(callback_settings, receiver, run_callback_worker):
    legacy = "whsec_-_-_" + "A" * 39  # as token_urlsafe makes them; the reference library mangles it
    project = ProjectFactory(webhook_secret=legacy)
    services.callback_schedule(task_id=finished_task(project, receiver.url).pk)
    run_callback_worker()
    shown = secret_of(project)
    assert shown != legacy and verified(receiver.requests[0], shown)


def test_redelivery_keeps_the_webhook_id(callback_settings, receiver, project, run_callback_worker):
    callback_settings.CALLBACK_RETRY_SCHEDULE = [0, 1]
    delivery = services.callback_schedule(task_id=finished_task(project, receiver.url).pk)
    run_callback_worker()
    assert services.callback_redeliver(delivery=delivery) == (True, f"{delivery.webhook_id}: attempt 2 queued")
    run_callback_worker()
    assert [r.headers["webhook-id"] for r in receiver.requests] == [delivery.webhook_id] * 2
    assert [a.trigger for a in attempts_of(delivery)] == ["schedule", "manual"]
    delivery.refresh_from_db()
    assert delivery.status == Status.SUCCEEDED

    # A redelivery of a finished delivery that fails is one attempt, not a new schedule.
    receiver.default = Reply(500)
    services.callback_redeliver(delivery=delivery)
    run_callback_worker()
    delivery.refresh_from_db()
    assert delivery.status == Status.GAVE_UP and delivery.attempts_count == 3 and len(receiver.requests) == 3


def test_redelivering_a_pending_delivery_makes_its_next_attempt_now(callback_settings, receiver, project):
    callback_settings.CALLBACK_RETRY_SCHEDULE = [0, 3600, 3600]
    receiver.reply(Reply(500))
    delivery = services.callback_schedule(task_id=finished_task(project, receiver.url).pk)
    services.callback_attempt_run(delivery_id=delivery.pk, number=1)
    delivery.refresh_from_db()
    assert delivery.status == Status.PENDING and delivery.next_attempt_at > timezone.now() + timedelta(minutes=59)
    services.callback_redeliver(delivery=delivery)
    job = queues.get_queue().fetch_job(queues.attempt_job_id(delivery.pk, 2))
    assert job.get_status() == "queued" and job.args == (delivery.pk, 2, "manual")
    assert services.callback_attempt_run(delivery_id=delivery.pk, number=2, trigger="manual") == Status.SUCCEEDED
    # The job still scheduled for the old time finds nothing to do.
    assert services.callback_attempt_run(delivery_id=delivery.pk, number=2).startswith("skipped")

"""The operator's pages for callbacks: deliveries with their attempts, redelivery of one or many,
endpoints marked gone, the project's webhook secret shown and rotated."""

import re

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from accounts.models import Project
from callbacks import services
from callbacks.models import CallbackAttempt, CallbackDelivery, CallbackEndpoint, WebhookSecretRotation
from callbacks.signing import canonical_secret
from generation.models import Task
from tests.callbacks.conftest import Reply
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw"))
    return client


def delivered(project, url, run_callback_worker) -> CallbackDelivery:
    task = Task.unscoped_objects.create(
        tenant=project.tenant,
        project=project,
        text_data="a",
        num_images=1,
        seed=1,
        model="tiny",
        callback_url=url,
        state="succeeded",
        finished_at=timezone.now(),
    )
    delivery = services.callback_schedule(task_id=task.pk)
    run_callback_worker()
    delivery.refresh_from_db()
    return delivery


def test_pages_show_deliveries_and_every_attempt(staff, callback_settings, receiver, run_callback_worker):
    callback_settings.CALLBACK_RETRY_SCHEDULE = [0, 1]
    receiver.reply(Reply(500, body=b"receiver says no"))
    delivery = delivered(ProjectFactory(), receiver.url, run_callback_worker)
    assert delivery.attempts_count == 2
    listing = staff.get("/admin/callbacks/callbackdelivery/").content.decode()
    assert delivery.webhook_id in listing
    assert (
        delivery.webhook_id in staff.get(f"/admin/callbacks/callbackdelivery/?q={delivery.webhook_id}").content.decode()
    )
    assert staff.get("/admin/callbacks/callbackdelivery/?status__exact=succeeded").status_code == 200
    page = staff.get(f"/admin/callbacks/callbackdelivery/{delivery.pk}/change/").content.decode()
    assert "receiver says no" in page and "HTTP 500" in page and page.count("127.0.0.1") >= 2
    task_page = staff.get(f"/admin/generation/task/{delivery.task_id}/change/").content.decode()
    assert delivery.webhook_id in task_page  # the task's callbacks, on its page
    assert staff.get("/admin/callbacks/callbackendpoint/").status_code == 200


def test_redeliver_many_from_the_admin(staff, callback_settings, receiver, run_callback_worker):
    project = ProjectFactory()
    deliveries = [delivered(project, receiver.url, run_callback_worker) for _ in range(2)]
    response = staff.post(
        "/admin/callbacks/callbackdelivery/",
        {"action": "redeliver_now", "_selected_action": [d.pk for d in deliveries]},
        follow=True,
    )
    assert response.status_code == 200 and response.content.decode().count("queued") == 2
    run_callback_worker()
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert sorted(ids) == sorted([d.webhook_id for d in deliveries] * 2)
    manual = CallbackAttempt.unscoped_objects.filter(trigger="manual", status_code=200)
    assert manual.count() == 2


def test_clear_an_endpoints_gone_mark(staff, callback_settings, receiver, run_callback_worker):
    receiver.reply(Reply(410))
    delivery = delivered(ProjectFactory(), receiver.url, run_callback_worker)
    endpoint = CallbackEndpoint.unscoped_objects.get()
    assert endpoint.gone_at and "gone" in staff.get("/admin/callbacks/callbackendpoint/").content.decode()
    refused = staff.post(
        "/admin/callbacks/callbackdelivery/",
        {"action": "redeliver_now", "_selected_action": [delivery.pk]},
        follow=True,
    )
    assert "clear the mark first" in refused.content.decode()
    staff.post("/admin/callbacks/callbackendpoint/", {"action": "clear_gone", "_selected_action": [endpoint.pk]})
    endpoint.refresh_from_db()
    assert endpoint.gone_at is None
    staff.post("/admin/callbacks/callbackdelivery/", {"action": "redeliver_now", "_selected_action": [delivery.pk]})
    run_callback_worker()
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and len(receiver.requests) == 2


def test_project_page_shows_the_secret_and_rotates_it(staff):
    project = ProjectFactory()
    shown = canonical_secret(project.webhook_secret)
    assert shown in staff.get(f"/admin/accounts/project/{project.pk}/change/").content.decode()
    response = staff.post(
        "/admin/accounts/project/", {"action": "rotate_webhook_secret", "_selected_action": [project.pk]}
    )
    # Shown once, on the page answering the action (not in a message: see tests/test_admin_disclosure.py).
    new = re.search(r'class="new-webhook-secret">(whsec_[A-Za-z0-9+/=]+)<', response.content.decode()).group(1)
    assert Project.unscoped_objects.get(pk=project.pk).webhook_secret == new != shown
    rotation = WebhookSecretRotation.unscoped_objects.get(project=project)
    assert rotation.previous_secret == shown
    page = staff.get(f"/admin/accounts/project/{project.pk}/change/").content.decode()
    assert new in page and "previous secret also signs until" in page
    assert 'name="webhook_secret"' not in page  # it cannot be typed in: it changes only by rotation

"""Suspending a tenant stops its queued work and its links (issue 19: 8 queued tasks still ran and
were billed after a suspension, and a link minted during it served the image): through one service
with an audit row, which the admin's action calls."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from accounts.models import Tenant, TenantStatusChange
from accounts.services import tenant_reactivate, tenant_suspend
from billing import services as billing
from billing.models import BillingAccount, UsageRecord
from billing.reconcile import reconcile as reconcile_billing
from callbacks.models import CallbackDelivery
from generation import services
from generation.models import Task
from generation.reconcile import reconcile
from generation.storage import image_url
from tests.billing.conftest import finish
from tests.factories import TenantFactory
from tests.generation.test_limits import api_client

pytestmark = pytest.mark.django_db(transaction=True)


def submit(client, callback_url: str = "") -> Task:
    data = services.TaskInput(text_data="a lighthouse", num_images=2, callback_url=callback_url)
    return services.task_submit(client=client, data=data)


@pytest.fixture
def prepaid_client():
    tenant = TenantFactory()
    client = api_client(tenant)
    BillingAccount.unscoped_objects.create(tenant=tenant, mode="prepaid")
    billing.credit_grant(tenant=tenant, amount=Decimal("10"))
    return client


def test_suspension_cancels_queued_tasks_free_with_one_callback_saying_why(
    prepaid_client, receiver, callback_settings, run_callback_worker, run_worker
):
    tenant = prepaid_client.tenant
    queued = [submit(prepaid_client, receiver.url) for _ in range(3)]
    outcome = tenant_suspend(tenant=tenant, actor=User.objects.create_user("ops"), reason="unpaid")
    assert outcome.changed and outcome.tasks_cancelled == 3
    run_worker()  # their jobs start nothing
    for task in queued:
        task.refresh_from_db()
        assert task.state == "cancelled" and task.charge == 0 and task.error_code == "tenant_suspended"
    assert not UsageRecord.unscoped_objects.filter(tenant=tenant).exists()
    account = BillingAccount.unscoped_objects.get(tenant=tenant)
    assert account.credit_held == 0 and account.credit_balance == Decimal("10")
    run_callback_worker()
    bodies = [json.loads(r.body) for r in receiver.requests]
    assert sorted(b["id"] for b in bodies) == sorted(str(t.pk) for t in queued)  # one each
    assert {b["error"]["code"] for b in bodies} == {"tenant_suspended"}
    assert all("suspended" in b["status"][0]["status"]["message"] for b in bodies)
    audit = TenantStatusChange.unscoped_objects.get(tenant=tenant)
    assert (audit.status, audit.actor, audit.reason, audit.tasks_cancelled) == ("suspended", "ops", "unpaid", 3)
    # Reactivated: nothing comes back, not through the reconciler, not through a worker.
    assert tenant_reactivate(tenant=tenant, actor=User.objects.get(username="ops"))
    reconcile(now=timezone.now() + timezone.timedelta(minutes=5))
    run_worker()
    assert set(Task.unscoped_objects.filter(tenant=tenant).values_list("state", flat=True)) == {"cancelled"}
    assert reconcile_billing() == []


def test_a_suspended_tenants_pending_callback_retries_stop(
    prepaid_client, receiver, callback_settings, run_callback_worker
):
    task = submit(prepaid_client, receiver.url)
    finish(task, delivered=2)
    delivery = CallbackDelivery.unscoped_objects.get(task=task)
    assert delivery.status == "pending"
    outcome = tenant_suspend(tenant=prepaid_client.tenant)
    assert outcome.callbacks_stopped == 1
    run_callback_worker()
    delivery.refresh_from_db()
    assert delivery.status == "gave_up" and "suspended" in delivery.last_error
    assert receiver.requests == []  # no signed link went out


def test_a_callback_of_a_task_that_ends_during_the_suspension_is_not_sent(
    prepaid_client, receiver, callback_settings, run_callback_worker
):
    task = submit(prepaid_client, receiver.url)
    assert services.task_start(task=task, worker_name="w", run_info={})  # running: it finishes
    tenant_suspend(tenant=prepaid_client.tenant)
    finish_running(task)
    run_callback_worker()
    assert receiver.requests == []
    assert CallbackDelivery.unscoped_objects.get(task=task).status == "gave_up"


def finish_running(task: Task) -> None:
    image = services.StoredImage(
        index=0, seed=1, width=64, height=64, storage_path=f"image_generation/{task.pk}/image0_64_64.png",
        sha256="0" * 64, size_bytes=1,
    )  # fmt: skip
    assert services.task_succeed(task=task, images=[image], timings_ms={}, run_info={})


def test_image_links_do_not_serve_while_suspended_nor_links_minted_during_it(client, prepaid_client, run_worker):
    task = submit(prepaid_client)
    run_worker()
    task.refresh_from_db()
    assert task.state == "succeeded"
    path = task.images.first().storage_path
    before = image_url(path, base_url="")
    assert client.get(before).status_code == 200
    tenant_suspend(tenant=prepaid_client.tenant)
    during = image_url(path, base_url="")
    assert client.get(before).status_code == 404
    assert client.get(during).status_code == 404
    tenant_reactivate(tenant=prepaid_client.tenant)
    assert client.get(before).status_code == 200  # minted before: valid again
    assert client.get(during).status_code == 404  # minted while suspended: never


def test_the_admin_suspend_action_goes_through_the_service(client, prepaid_client):
    submit(prepaid_client)
    client.force_login(User.objects.create_superuser("ops", "", "pw"))
    tenant = prepaid_client.tenant
    client.post("/admin/accounts/tenant/", {"action": "suspend", "_selected_action": [tenant.pk]})
    assert Tenant.objects.get(pk=tenant.pk).status == "suspended"
    assert set(Task.unscoped_objects.filter(tenant=tenant).values_list("state", flat=True)) == {"cancelled"}
    assert TenantStatusChange.unscoped_objects.get(tenant=tenant).actor == "ops"
    client.post(f"/admin/accounts/tenant/{tenant.pk}/do/reactivate/")
    assert Tenant.objects.get(pk=tenant.pk).status == "active"
    assert TenantStatusChange.unscoped_objects.filter(tenant=tenant).count() == 2

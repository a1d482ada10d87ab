from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from accounts.authentication import ApiClient
from accounts.services import api_key_create
from billing.models import BillingAccount, Plan, PriceTier
from billing.services import tenant_plan_assign
from generation import services
from generation.models import Task
from tests.factories import ProjectFactory


def make_plan(code="small", tiers=((3, "0.01000"), (None, "0.00500")), included=0, currency="USD", cap=None) -> Plan:
    plan = Plan.objects.create(
        code=code, name=code.title(), currency=currency, included_images=included, monthly_cap=cap
    )
    for up_to, price in tiers:
        PriceTier.objects.create(plan=plan, up_to=up_to, unit_price=Decimal(price))
    return plan


def client_for(project) -> ApiClient:
    return ApiClient(api_key=api_key_create(project=project).api_key, tenant=project.tenant, project=project)


def submit(client: ApiClient, *, num_images=1, end_user="", text="a lighthouse", key="") -> Task:
    data = services.TaskInput(text_data=text, num_images=num_images, end_user=end_user)
    return services.task_submit(client=client, data=data, idempotency_key=key)


def finish(task: Task, delivered: int) -> Task:
    """What the worker does once images are generated, moderated and stored: start, then succeed
    with ``delivered`` stored images (and the rest withheld)."""
    assert services.task_start(task=task, worker_name="test", run_info={})
    images = [
        services.StoredImage(
            index=i,
            seed=i,
            width=1024,
            height=1024,
            storage_path=f"image_generation/{task.id}/image{i}_1024_1024.png" if i < delivered else "",
            sha256="0" * 64,
            size_bytes=1,
            flagged=i >= delivered,
        )
        for i in range(task.num_images)
    ]
    assert services.task_succeed(task=task, images=images, timings_ms={}, run_info={})
    return task


@pytest.fixture
def project(db):
    return ProjectFactory()


@pytest.fixture
def client(project) -> ApiClient:
    return client_for(project)


@pytest.fixture
def prepaid(project) -> BillingAccount:
    account, _ = BillingAccount.unscoped_objects.get_or_create(tenant=project.tenant)
    account.mode = BillingAccount.Mode.PREPAID
    account.save()
    return account


@pytest.fixture
def small_plan(project) -> Plan:
    """3 images at 0.01, then 0.005; the project's tenant has been on it since 2020."""
    plan = make_plan()
    tenant_plan_assign(tenant=project.tenant, plan=plan, starts_at=datetime(2020, 1, 1, tzinfo=UTC))
    return plan

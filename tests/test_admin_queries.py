"""Every admin list answers in the same number of queries with 2 rows as with 30: no column, filter
or link may run a query per row (an N+1 shows up as a count that grows with the rows)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import ApiKey, Membership
from accounts.services import api_key_create
from billing.models import (
    BillingAccount,
    CreditEntry,
    DailyUsage,
    Invoice,
    InvoiceLine,
    MonthlyUsage,
    TenantPlan,
    UsageLine,
    UsageRecord,
)
from billing.services import period_of
from callbacks.models import CallbackAttempt, CallbackDelivery, CallbackEndpoint, WebhookSecretRotation
from generation.models import Image, Task
from tests.billing.conftest import make_plan
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db
OURS = ("accounts", "generation", "billing", "callbacks", "auth")
NOT_LISTS = {"django_rq.Dashboard"}  # a link to django-rq's own pages, not a changelist


def populate(start: int, stop: int) -> None:
    """Rows ``start..stop-1`` of every model the admin lists, each tenant with everything it can own."""
    now = timezone.now()
    for n in range(start, stop):
        project = ProjectFactory(monthly_spend_cap=Decimal("10"))
        tenant = project.tenant
        if n % 2:
            tenant.status = "suspended"
            tenant.save()
        user = User.objects.create_user(f"user{n}", is_staff=bool(n % 2))
        user.groups.add(Group.objects.create(name=f"group{n}"))
        Membership.unscoped_objects.create(tenant=tenant, user=user)
        key = api_key_create(project=project, name=f"key{n}").api_key
        if n % 3 == 0:
            ApiKey.unscoped_objects.filter(pk=key.pk).update(revoked_at=now)
        plan = make_plan(code=f"plan{n}")
        TenantPlan.unscoped_objects.create(tenant=tenant, plan=plan, starts_at=now - timedelta(days=1))
        BillingAccount.unscoped_objects.create(tenant=tenant, mode="prepaid" if n % 2 else "postpaid")
        task = Task.unscoped_objects.create(
            tenant=tenant, project=project, api_key=key, text_data=f"prompt {n}", num_images=2, seed=n,
            model="tiny", state="succeeded" if n % 2 else "failed", error_code="" if n % 2 else f"code_{n % 4}",
            started_at=now - timedelta(seconds=5), finished_at=now, callback_url="https://example.com/hook",
            images_delivered=1, charge=Decimal("0.01"),
        )  # fmt: skip
        for i in range(2):
            Image.unscoped_objects.create(
                tenant=tenant, task=task, index=i, seed=n + i, width=1024, height=1024, sha256="0" * 64,
                size_bytes=1, flagged=i == 1, storage_path="" if i else f"image_generation/{task.pk}/image0.png",
            )  # fmt: skip
        CreditEntry.unscoped_objects.create(tenant=tenant, kind="grant", amount=Decimal("1"))
        CreditEntry.unscoped_objects.create(tenant=tenant, kind="hold", amount=Decimal("0.02"), task=task)
        record = UsageRecord.unscoped_objects.create(
            tenant=tenant, task=task, project=project, plan=plan, currency="USD", period=period_of(now),
            day=now.date(), images=1, unit_price=Decimal("0.01"), tier=1, amount=Decimal("0.01"),
        )  # fmt: skip
        UsageLine.unscoped_objects.create(
            tenant=tenant, record=record, tier=1, images=1, unit_price=Decimal("0.01"), amount=Decimal("0.01")
        )
        MonthlyUsage.unscoped_objects.create(tenant=tenant, period=period_of(now), images=1, amount=Decimal("0.01"))
        DailyUsage.unscoped_objects.create(
            tenant=tenant, day=now.date(), project=project, tasks=1, images=1, amount=Decimal("0.01")
        )
        invoice = Invoice.unscoped_objects.create(
            tenant=tenant, number=f"INV-{n}", period=date(2026, 1, 1), currency="USD", billing_mode="postpaid"
        )
        InvoiceLine.unscoped_objects.create(
            tenant=tenant, invoice=invoice, project=project, tier=1, unit_price=Decimal("0.01"), images=1,
            amount=Decimal("0.01"),
        )  # fmt: skip
        delivery = CallbackDelivery.unscoped_objects.create(
            tenant=tenant, project=project, task=task, event_type="task.succeeded", url=task.callback_url
        )
        CallbackAttempt.unscoped_objects.create(tenant=tenant, delivery=delivery, number=1, started_at=now)
        CallbackEndpoint.unscoped_objects.create(tenant=tenant, project=project, url=f"https://example.com/{n}")
        WebhookSecretRotation.unscoped_objects.create(
            tenant=tenant, project=project, previous_secret="whsec_x", previous_expires_at=now
        )


def changelists():
    for model, model_admin in admin.site._registry.items():
        if model._meta.label not in NOT_LISTS:
            opts = model._meta
            yield opts.label, f"/admin/{opts.app_label}/{opts.model_name}/", model_admin


def counts(client) -> dict[str, tuple[int, int]]:
    """label -> (queries, rows shown) for every changelist."""
    out = {}
    for label, url, _ in changelists():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, (label, response.status_code)
        out[label] = (len(queries), response.context["cl"].result_count)
    return out


def test_every_admin_list_is_a_fixed_number_of_queries(client):
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw"))
    populate(0, 2)
    small = counts(client)
    populate(2, 30)
    large = counts(client)
    growing = []
    for label, (queries, rows) in small.items():
        if label.split(".")[0] in OURS:
            assert rows >= 2 and large[label][1] >= 28 + rows, (label, rows, large[label][1])
        if large[label][0] != queries:
            growing.append(f"{label}: {queries} queries for {rows} rows, {large[label][0]} for {large[label][1]}")
    assert not growing
    assert {"accounts.Tenant", "accounts.Project", "accounts.ApiKey", "generation.Task"} <= set(small)

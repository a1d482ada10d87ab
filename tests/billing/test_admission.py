"""Admission under the tenant's row lock (issue 16): the prices and the month's images are read
before the lock, the lock is held for the statements that must be ordered only, and a price read
before the lock never admits a task the prices applying at the lock would refuse."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from imgplatform.problems import Problem

import billing.services as billing
from billing.models import BillingAccount
from billing.reconcile import reconcile
from generation import limits
from tests.billing.conftest import finish, make_plan, submit
from tests.billing.test_admin import plan_form


@pytest.fixture
def operator(db):
    from django.contrib.auth.models import User
    from django.test import Client

    http = Client()
    http.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw"))
    return http


def statements_under_lock(monkeypatch, run) -> list[str]:
    """The SQL of ``run()`` from the tenant's row lock to the end of the submit's transaction (the
    release of its savepoint: tests run inside a transaction; a deployment commits there)."""
    locked_at: list[int] = []
    real_lock = limits.lock_tenant

    def lock(pk):
        locked_at.append(len(context.captured_queries))
        return real_lock(pk)

    monkeypatch.setattr(limits, "lock_tenant", lock)
    with CaptureQueriesContext(connection) as context:
        run()
    sql = [q["sql"] for q in context.captured_queries[locked_at[0] :]]
    end = next(i for i, s in enumerate(sql) if s.startswith("RELEASE SAVEPOINT"))
    return sql[:end]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks (SELECT ... FOR UPDATE): CI runs PostgreSQL")
def test_a_postpaid_submit_holds_the_lock_for_lock_count_account_and_insert(monkeypatch, client, small_plan):
    submit(client)  # the account exists (a tenant's first submit creates it under the lock)
    sql = statements_under_lock(monkeypatch, lambda: submit(client))
    assert len(sql) == 4, "\n".join(sql)
    assert "accounts_tenant" in sql[0] and "FOR UPDATE" in sql[0]
    assert "generation_task" in sql[1]  # the bounded queued count
    assert "billing_billingaccount" in sql[2] and "FOR UPDATE" in sql[2]
    assert sql[3].startswith('INSERT INTO "generation_task"')
    assert not any("billing_plan" in s or "billing_pricetier" in s or "billing_monthlyusage" in s for s in sql)


def test_a_prepaid_submit_adds_only_its_hold(monkeypatch, client, small_plan, prepaid):
    billing.credit_grant(tenant=client.tenant, amount=D("1"))
    sql = statements_under_lock(monkeypatch, lambda: submit(client))
    assert len(sql) == 6, "\n".join(sql)  # + the held credit and its entry (a new task's hold is its first)
    assert sql[4].startswith('UPDATE "billing_billingaccount"')
    assert sql[5].startswith('INSERT INTO "billing_creditentry"')


def prices_then(monkeypatch, change) -> None:
    """The next submit reads its prices, then ``change()`` commits before the submit locks."""
    real = billing.task_prices
    calls = []

    def task_prices(*, tenant):
        prices = real(tenant=tenant)
        if not calls:
            calls.append(1)
            change()
        return prices

    monkeypatch.setattr(billing, "task_prices", task_prices)


def test_a_plan_assigned_after_the_prices_were_read_prices_the_hold(monkeypatch, client, small_plan, prepaid):
    billing.credit_grant(tenant=client.tenant, amount=D("0.02"))
    dear = make_plan(code="dear", tiers=((None, "0.05000"),))
    prices_then(monkeypatch, lambda: billing.tenant_plan_assign(tenant=client.tenant, plan=dear))
    with pytest.raises(Problem) as refused:  # 0.01 on the plan read first: it would have fit
        submit(client)
    assert refused.value.extra["cap"] == "prepaid_credit" and refused.value.extra["required"] == "0.05000"


def test_a_plan_edited_in_the_admin_after_the_prices_were_read_prices_the_hold(
    monkeypatch, operator, client, small_plan
):
    first = submit(client)
    assert first.hold_amount == D("0.01")
    version = BillingAccount.unscoped_objects.get(tenant=client.tenant).plan_version

    def edit():
        form = plan_form(a=("", "0.02"))
        form.update(code="small", currency="USD", included_images=0, scheduling_weight=1)
        form.update({"tiers-TOTAL_FORMS": 2, "tiers-INITIAL_FORMS": 2})
        for i, tier in enumerate(small_plan.tiers.all()):
            form.update({f"tiers-{i}-id": tier.pk, f"tiers-{i}-plan": small_plan.pk, f"tiers-{i}-DELETE": "on"})
        form.update({"tiers-2-up_to": "", "tiers-2-unit_price": "0.02", "tiers-TOTAL_FORMS": 3})
        answer = operator.post(f"/admin/billing/plan/{small_plan.pk}/change/", form)
        assert answer.status_code == 302, answer.content.decode()[:2000]

    prices_then(monkeypatch, edit)
    assert submit(client).hold_amount == D("0.02")
    assert BillingAccount.unscoped_objects.get(tenant=client.tenant).plan_version == version + 1


def test_a_new_month_after_the_prices_were_read_starts_from_no_images(client, small_plan):
    finish(submit(client, num_images=3), delivered=3)  # the cheap tier is reached this month
    assert submit(client).hold_amount == D("0.005")
    now = billing.task_prices(tenant=client.tenant)
    last_month = billing.Prices(now.plan, now.tiers, now.plan_version, date(2020, 1, 1), already=500)
    admission = billing.task_admit(
        tenant=client.tenant, project=client.project, end_user="", num_images=1, prices=last_month
    )
    assert admission.hold == D("0.005")  # this month's 3 (+ none) images, not last month's 500
    fresh = billing.Prices(now.plan, now.tiers, now.plan_version, now.period, already=0)
    assert billing.task_admit(
        tenant=client.tenant, project=client.project, end_user="", num_images=1, prices=fresh
    ).hold == D("0.01")  # the count read before the lock is used as it is: never fewer reachable tiers


def test_images_delivered_between_the_read_and_the_lock_keep_the_hold_a_worst_case(monkeypatch, client, small_plan):
    running = submit(client, num_images=3)
    prices_then(monkeypatch, lambda: finish(running, delivered=3))  # the month reaches 0.005 meanwhile
    late = submit(client, num_images=2)
    assert late.hold_amount == D("0.02")  # priced from the earlier count: at least what it can cost
    finish(late, delivered=2)
    late.refresh_from_db()
    assert late.charge == D("0.01")  # billed at its place in the month, as always
    assert reconcile() == []


def test_a_first_submit_creates_the_account_and_reads_the_prices_under_the_lock(client, small_plan):
    assert billing.task_prices(tenant=client.tenant) is None
    assert submit(client).hold_amount == D("0.01")
    assert billing.task_prices(tenant=client.tenant).plan == small_plan


def test_assigning_a_plan_moves_the_version_on_the_account(client, small_plan):
    submit(client)
    before = BillingAccount.unscoped_objects.get(tenant=client.tenant).plan_version
    billing.tenant_plan_assign(tenant=client.tenant, plan=make_plan(code="other"), starts_at=datetime.now(UTC))
    assert BillingAccount.unscoped_objects.get(tenant=client.tenant).plan_version == before + 1

"""The money rules, through the real services (the ones the API and the worker call)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from imgplatform.money import MoneySum
from imgplatform.problems import Problem

from billing import services as billing
from billing.models import BillingAccount, CreditEntry, DailyUsage, MonthlyUsage, UsageLine, UsageRecord
from billing.reconcile import reconcile
from generation import services
from generation.models import Task
from tests.billing.conftest import client_for, finish, make_plan, submit
from tests.conftest import at_once
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def test_tiers_price_each_image_at_its_place_in_the_month(db):
    plan = make_plan(tiers=((3, "0.01000"), (None, "0.00500")), included=1)
    lines = billing.price_images(plan, already=0, count=5)
    assert [(ln.tier, ln.images, ln.unit_price) for ln in lines] == [
        (0, 1, D("0")),
        (1, 2, D("0.01")),
        (2, 2, D("0.005")),
    ]
    assert sum(ln.amount for ln in lines) == D("0.03")
    assert billing.worst_case(plan, already=0, count=2) == D("0.02")
    assert billing.worst_case(plan, already=3, count=2) == D("0.01")  # only the last tier is left


def test_a_task_crossing_a_tier_boundary_is_billed_per_tier(client, small_plan):
    finish(submit(client, num_images=2), delivered=2)  # images 1, 2 at 0.01
    task = finish(submit(client, num_images=3), delivered=3)  # image 3 at 0.01, images 4, 5 at 0.005
    assert task.charge == D("0.02")
    record = UsageRecord.unscoped_objects.get(task=task)
    assert (record.images, record.amount, record.tier, record.unit_price) == (3, D("0.02"), 2, D("0.005"))
    lines = list(
        UsageLine.unscoped_objects.filter(record=record).order_by("tier").values_list("tier", "images", "amount")
    )
    assert lines == [(1, 1, D("0.01")), (2, 2, D("0.01"))]
    assert MonthlyUsage.unscoped_objects.get(tenant=client.tenant).images == 5
    assert reconcile() == []


def test_the_month_boundary_starts_the_tiers_again(client, small_plan):
    def bill(when: datetime, images: int) -> Task:
        task = submit(client, num_images=images)
        with transaction.atomic():
            Task.unscoped_objects.filter(pk=task.pk).update(
                state="succeeded", finished_at=when, images_delivered=images
            )
            task.refresh_from_db()
            task.charge = billing.task_bill(task=task, images_delivered=images)
            Task.unscoped_objects.filter(pk=task.pk).update(charge=task.charge)
        return task

    january = bill(datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC), 3)  # all of tier 1
    late = bill(datetime(2026, 1, 31, 23, 59, 59, 999999, tzinfo=UTC), 1)  # tier 2
    february = bill(datetime(2026, 2, 1, 0, 0, 0, tzinfo=UTC), 1)  # a new month: tier 1 again
    assert (january.charge, late.charge, february.charge) == (D("0.03"), D("0.005"), D("0.01"))
    periods = dict(UsageRecord.unscoped_objects.values_list("task_id", "period"))
    assert periods[late.id] == date(2026, 1, 1) and periods[february.id] == date(2026, 2, 1)
    assert reconcile() == []


def test_blocked_failed_and_cancelled_tasks_cost_nothing(client, small_plan):
    blocked = submit(client, text="gore everywhere")
    failed = submit(client)
    services.task_fail(task=failed, code="generation_failed", detail="x")
    cancelled = services.task_cancel(task=submit(client))
    all_withheld = submit(client, num_images=2)
    assert services.task_start(task=all_withheld, worker_name="t", run_info={})
    services.task_fail(task=all_withheld, code="moderation_blocked_image", detail="x")
    for task in (blocked, failed, cancelled, all_withheld):
        task.refresh_from_db()
        assert task.charge == 0 and not UsageRecord.unscoped_objects.filter(task=task).exists()
    assert reconcile() == []


def test_partial_moderation_bills_only_the_delivered_images(client, small_plan):
    task = finish(submit(client, num_images=3), delivered=1)
    assert task.charge == D("0.01") and task.images_delivered == 1


def test_a_replayed_completion_bills_once_and_the_ledger_refuses_a_second_row(client, small_plan):
    task = finish(submit(client, num_images=2), delivered=2)
    images = [services.StoredImage(0, 0, 1024, 1024, "x", "0" * 64, 1)]
    assert not services.task_succeed(task=task, images=images, timings_ms={}, run_info={})  # already succeeded
    assert UsageRecord.unscoped_objects.filter(task=task).count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        billing.task_bill(task=task, images_delivered=2)


@pytest.mark.skipif(connection.vendor == "sqlite", reason="needs a database with row locks (CI runs PostgreSQL)")
def test_two_concurrent_completions_of_one_task_bill_once(client, small_plan):
    task = submit(client, num_images=2)
    assert services.task_start(task=task, worker_name="t", run_info={})
    images = [services.StoredImage(i, i, 1024, 1024, f"p{i}", "0" * 64, 1) for i in range(2)]

    def complete():
        copy = Task.unscoped_objects.get(pk=task.pk)
        return services.task_succeed(task=copy, images=images, timings_ms={}, run_info={})

    results = at_once([complete, complete])
    assert sorted(results) == [False, True]
    assert UsageRecord.unscoped_objects.filter(task=task).count() == 1
    assert MonthlyUsage.unscoped_objects.get(tenant=client.tenant).images == 2
    assert reconcile() == []


def test_prepaid_hold_capture_release_leave_the_balance_exact(client, small_plan, prepaid):
    billing.credit_grant(tenant=client.tenant, amount=D("0.10"), note="top-up")
    partial = submit(client, num_images=3)  # worst case 3 x 0.01
    failed = submit(client, num_images=2)
    cancelled = submit(client, num_images=1)
    account = BillingAccount.unscoped_objects.get(pk=prepaid.pk)
    assert account.credit_held == D("0.06") and account.credit_available == D("0.04")

    finish(partial, delivered=2)  # captures 0.02, releases 0.01
    services.task_fail(task=failed, code="generation_failed", detail="x")  # releases 0.02
    services.task_cancel(task=cancelled)  # releases 0.01
    account.refresh_from_db()
    assert account.credit_balance == D("0.08") and account.credit_held == D("0")
    kinds = sorted(CreditEntry.unscoped_objects.filter(task=partial).values_list("kind", "amount"))
    assert kinds == [("capture", D("0.02")), ("hold", D("0.03")), ("release", D("0.01"))]
    assert reconcile() == []


def test_prepaid_without_enough_credit_is_refused(client, small_plan, prepaid):
    with pytest.raises(Problem) as refused:
        submit(client)
    assert refused.value.code == "quota_exceeded" and refused.value.extra["cap"] == "prepaid_credit"
    billing.credit_grant(tenant=client.tenant, amount=D("0.01"))
    submit(client)  # exactly enough
    with pytest.raises(Problem):
        submit(client)  # the first one's hold takes it all
    assert Task.unscoped_objects.count() == 1


def test_tenant_cap_counts_delivered_and_pending_work(client, small_plan):
    BillingAccount.unscoped_objects.update_or_create(tenant=client.tenant, defaults={"monthly_cap": D("0.03")})
    finish(submit(client), delivered=1)  # 0.01 spent
    submit(client)  # 0.01 pending
    with pytest.raises(Problem) as refused:
        submit(client, num_images=2)  # 0.02 more would make 0.04
    body = refused.value.body()
    assert body["status"] == 402 and body["cap"] == "tenant"
    assert (body["spent"], body["pending"], body["required"], body["limit"]) == (
        "0.01000",
        "0.01000",
        "0.02000",
        "0.03000",
    )
    submit(client)  # 0.03 exactly fits


def test_plan_cap_applies_when_the_tenant_sets_none(project):
    plan = make_plan(code="capped", cap=D("0.01"))
    billing.tenant_plan_assign(tenant=project.tenant, plan=plan)
    client = client_for(project)
    submit(client)
    with pytest.raises(Problem) as refused:
        submit(client)
    assert refused.value.extra["cap"] == "tenant"


def test_project_and_end_user_caps(project, small_plan):
    other_project = ProjectFactory(tenant=project.tenant)
    project.monthly_spend_cap = D("0.02")
    project.end_user_monthly_cap = D("0.01")
    project.save()
    client, other = client_for(project), client_for(other_project)
    submit(client, end_user="alice")
    with pytest.raises(Problem) as refused:
        submit(client, end_user="alice")
    assert refused.value.extra["cap"] == "end_user"
    submit(client, end_user="bob")
    with pytest.raises(Problem) as refused:
        submit(client, end_user="carol")
    assert refused.value.extra["cap"] == "project"
    submit(other, end_user="alice")  # another project of the tenant is not capped


def test_idempotent_replays_return_the_first_task_and_charge_nothing_new(client, small_plan, prepaid):
    billing.credit_grant(tenant=client.tenant, amount=D("1"))
    first = submit(client, num_images=2, key="order-1")
    again = submit(client, num_images=2, key="order-1")
    assert again.id == first.id and again.replayed and not first.replayed
    assert Task.unscoped_objects.count() == 1
    assert CreditEntry.unscoped_objects.filter(kind="hold").count() == 1
    with pytest.raises(Problem) as conflict:
        submit(client, num_images=3, key="order-1")
    assert conflict.value.code == "idempotency_conflict" and conflict.value.status == 409
    # Keys are per tenant, and expire after 24 hours.
    other = client_for(ProjectFactory())
    assert submit(other, num_images=2, key="order-1").id != first.id
    from generation.models import IdempotencyKey

    IdempotencyKey.unscoped_objects.update(created_at=datetime(2020, 1, 1, tzinfo=UTC))
    assert submit(client, num_images=3, key="order-1").id != first.id


def test_rollups_follow_the_ledger_per_day_project_and_end_user(client, small_plan):
    finish(submit(client, end_user="alice"), delivered=1)
    finish(submit(client, end_user="alice", num_images=2), delivered=2)
    finish(submit(client, end_user="bob"), delivered=1)
    rows = {r.end_user: (r.tasks, r.images, r.amount) for r in DailyUsage.unscoped_objects.all()}
    assert rows == {"alice": (2, 3, D("0.03")), "bob": (1, 1, D("0.005"))}


@pytest.mark.django_db
def test_money_sums_are_exact_to_five_places_on_every_database():
    """SQLite sums decimals as floats: 199 x 0.005 came back as 0.995000000000001."""
    project = ProjectFactory()
    DailyUsage.unscoped_objects.bulk_create(
        DailyUsage(tenant=project.tenant, project=project, day=date(2026, 11, 1), end_user=f"u{i}", amount=D("0.005"))
        for i in range(199)
    )
    rows = DailyUsage.unscoped_objects.filter(tenant=project.tenant)
    total = rows.aggregate(total=MoneySum("amount"))["total"]
    assert str(total) == "0.99500"
    (by_day,) = rows.values("day").annotate(total=MoneySum("amount")).values_list("total", flat=True)
    assert str(by_day) == "0.99500"

"""Closing a month into invoices, and the reconciliation over thousands of tasks."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.utils import timezone

from billing import services as billing
from billing.invoicing import billing_period_close
from billing.jobs import close_previous_period
from billing.models import DailyUsage, Invoice, InvoiceLine, UsageRecord
from billing.reconcile import reconcile
from generation import services
from generation.models import Task
from tests.billing.conftest import client_for, finish, make_plan, submit
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
# The month the tests' tasks finish in (whenever the suite runs), and a moment after it.
NOVEMBER = billing.period_of(timezone.now())
AFTER_NOVEMBER = datetime(NOVEMBER.year + NOVEMBER.month // 12, NOVEMBER.month % 12 + 1, 1, 1, 0, tzinfo=UTC)


def snapshot(invoice: Invoice):
    invoice.refresh_from_db()
    lines = list(
        InvoiceLine.unscoped_objects.filter(invoice=invoice).values_list(
            "project_id", "tier", "unit_price", "images", "amount"
        )
    )
    return (invoice.pk, invoice.number, invoice.status, invoice.total, invoice.images, invoice.issued_at, lines)


def test_close_builds_one_invoice_per_tenant_and_a_rerun_changes_nothing(small_plan, project):
    second_project = ProjectFactory(tenant=project.tenant)
    a, b = client_for(project), client_for(second_project)
    finish(submit(a, num_images=2), delivered=2)
    finish(submit(b, num_images=3), delivered=3)  # crosses into tier 2
    other = client_for(ProjectFactory())
    finish(submit(other), delivered=1)

    first = billing_period_close(period=NOVEMBER, now=AFTER_NOVEMBER)
    assert (first.created, first.rebuilt, first.unchanged) == (2, 0, 0)
    invoice = Invoice.unscoped_objects.get(tenant=project.tenant)
    before = snapshot(invoice)
    assert invoice.status == "issued" and invoice.number == f"INV-{NOVEMBER:%Y%m}-{project.tenant_id:06d}"
    lines = before[-1]
    assert lines == [
        (project.id, 1, D("0.01000"), 2, D("0.02000")),
        (second_project.id, 1, D("0.01000"), 1, D("0.01000")),
        (second_project.id, 2, D("0.00500"), 2, D("0.01000")),
    ]
    ledger = UsageRecord.unscoped_objects.filter(tenant=project.tenant, period=NOVEMBER).aggregate(s=Sum("amount"))["s"]
    assert invoice.total == ledger == sum(line[-1] for line in lines) == D("0.04")

    second = billing_period_close(period=NOVEMBER, now=AFTER_NOVEMBER + timedelta(days=1))
    assert (second.created, second.rebuilt, second.unchanged) == (0, 0, 2)
    assert snapshot(invoice) == before
    with pytest.raises(CommandError, match="has not ended yet"):
        call_command("close_billing_period", "--month", f"{NOVEMBER:%Y-%m}")
    assert Invoice.unscoped_objects.count() == 2
    assert reconcile(period=NOVEMBER) == []


def test_drafts_are_rebuilt_identically_and_a_month_must_have_ended(client, small_plan):
    finish(submit(client, num_images=2), delivered=2)
    billing_period_close(period=NOVEMBER, issue=False, now=AFTER_NOVEMBER)
    draft = Invoice.unscoped_objects.get()
    before = snapshot(draft)
    assert draft.status == "draft"
    assert billing_period_close(period=NOVEMBER, issue=False, now=AFTER_NOVEMBER).rebuilt == 1
    after = snapshot(draft)
    assert after[:5] == before[:5] and after[-1] == before[-1]
    with pytest.raises(ValueError, match="has not ended"):
        billing_period_close(period=NOVEMBER, now=AFTER_NOVEMBER - timedelta(hours=2))


def test_prepaid_invoices_are_settled_from_credit(client, small_plan, prepaid):
    billing.credit_grant(tenant=client.tenant, amount=D("1"))
    finish(submit(client), delivered=1)
    billing_period_close(period=NOVEMBER, now=AFTER_NOVEMBER)
    invoice = Invoice.unscoped_objects.get()
    assert invoice.status == "paid" and invoice.billing_mode == "prepaid" and invoice.total == D("0.01")


def test_the_scheduled_job_closes_the_previous_month(client, small_plan):
    finish(submit(client), delivered=1)
    assert close_previous_period(now=AFTER_NOVEMBER) == f"{NOVEMBER:%Y-%m}: 1 created, 0 rebuilt, 0 unchanged"
    assert Invoice.unscoped_objects.get().period == NOVEMBER


def test_the_scheduler_registers_the_monthly_close(redis_conn):
    from billing.management.commands.run_scheduler import build_scheduler

    jobs = [j for j in build_scheduler(redis_conn).get_jobs() if j.func_name.startswith("billing.")]
    assert [(j.func_name, j.queue_name, j.cron) for j in jobs] == [
        ("billing.jobs.close_previous_period", "default", "0 1 1 * *")
    ]
    assert jobs[0].next_enqueue_time.day == 1 and jobs[0].next_enqueue_time.hour == 1


@pytest.mark.slow
def test_reconciliation_over_hundreds_of_tasks_finds_nothing_then_every_planted_error(capsys):
    rng = random.Random(20261125)
    plans = [
        make_plan(code="small", tiers=((50, "0.01000"), (None, "0.00500")), included=10),
        make_plan(code="big", tiers=((200, "0.00400"), (1000, "0.00300"), (None, "0.00200"))),
    ]
    clients = []
    for n in range(6):
        project = ProjectFactory()
        if n % 2:
            billing.tenant_plan_assign(
                tenant=project.tenant, plan=plans[n // 3], starts_at=datetime(2020, 1, 1, tzinfo=UTC)
            )
        if n == 5:
            from billing.models import BillingAccount

            BillingAccount.unscoped_objects.create(tenant=project.tenant, mode="prepaid")
            billing.credit_grant(tenant=project.tenant, amount=D("1000"))
        clients += [client_for(project), client_for(ProjectFactory(tenant=project.tenant))]
    tasks = 600
    for _ in range(tasks):
        client = rng.choice(clients)
        num = rng.randint(1, 6)
        task = submit(client, num_images=num, end_user=rng.choice(["", "u1", "u2", "u3"]))
        outcome = rng.random()
        if outcome < 0.75:
            finish(task, delivered=rng.randint(1, num))
        elif outcome < 0.85:
            services.task_fail(task=task, code="generation_failed", detail="x")
        elif outcome < 0.95:
            services.task_cancel(task=task)
        # the rest stay queued: their holds are still open
    assert Task.unscoped_objects.count() == tasks
    billing_period_close(period=NOVEMBER, now=AFTER_NOVEMBER)
    assert reconcile() == []
    call_command("reconcile_billing")
    assert "agree" in capsys.readouterr().out

    # Plant one error of each kind: every one is reported, and the command exits 1.
    task = Task.unscoped_objects.filter(state="succeeded").order_by("id").first()
    Task.unscoped_objects.filter(pk=task.pk).update(charge=task.charge + D("0.00001"))
    DailyUsage.unscoped_objects.filter(pk=DailyUsage.unscoped_objects.order_by("id").first().pk).update(images=0)
    invoice = Invoice.unscoped_objects.order_by("id").first()
    Invoice.unscoped_objects.filter(pk=invoice.pk).update(total=invoice.total + 1)
    from billing.models import BillingAccount

    BillingAccount.unscoped_objects.filter(mode="prepaid").update(credit_held=0)
    problems = reconcile()
    text = "\n".join(problems)
    assert f"task {task.id}" in text and "daily rollup" in text and invoice.number in text and "credit held" in text
    with pytest.raises(SystemExit) as exit_:
        call_command("reconcile_billing")
    assert exit_.value.code == 1

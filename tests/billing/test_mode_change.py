"""A change of billing mode applies to tasks admitted after it (issue 19): each task records the
mode it was admitted under, its charge follows that mode (prepaid: captured from credit; postpaid:
invoiced), a month's invoice covers its postpaid tasks only, and reconcile_billing finds a task
charged both ways or neither."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing import services as billing
from billing.invoicing import billing_period_close
from billing.models import BillingAccount, CreditEntry, Invoice, UsageRecord
from billing.reconcile import reconcile
from tests.billing.conftest import finish, submit
from tests.billing.test_invoices import AFTER_NOVEMBER, NOVEMBER

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def switch(tenant, mode: str) -> None:
    BillingAccount.unscoped_objects.filter(tenant=tenant).update(mode=mode)


def captured(task) -> Decimal:
    return sum((e.amount for e in CreditEntry.unscoped_objects.filter(task=task, kind="capture")), D("0"))


def test_prepaid_to_postpaid_with_a_task_in_flight_is_captured_once_and_not_invoiced(client, small_plan, prepaid):
    billing.credit_grant(tenant=client.tenant, amount=D("1"))
    before = submit(client, num_images=2)  # admitted prepaid: 0.02 held
    assert before.billing_mode == "prepaid"
    switch(client.tenant, "postpaid")
    after = submit(client, num_images=1)  # admitted postpaid
    assert after.billing_mode == "postpaid"
    finish(before, delivered=2)
    finish(after, delivered=1)
    assert captured(before) == D("0.02") and captured(after) == D("0")
    assert UsageRecord.unscoped_objects.get(task=before).billing_mode == "prepaid"
    billing_period_close(period=NOVEMBER, now=AFTER_NOVEMBER)
    invoice = Invoice.unscoped_objects.get()
    # Only the postpaid task is on the invoice to pay: the prepaid one was paid from credit.
    assert invoice.billing_mode == "postpaid" and invoice.status == "issued"
    assert invoice.images == 1 and invoice.total == D("0.01")  # its third image of the month
    assert reconcile() == []


def test_postpaid_to_prepaid_with_a_task_in_flight_is_invoiced_not_forgotten(client, small_plan):
    before = submit(client, num_images=1)  # admitted postpaid
    switch(client.tenant, "prepaid")
    billing.credit_grant(tenant=client.tenant, amount=D("1"))
    after = submit(client, num_images=1)  # admitted prepaid
    finish(before, delivered=1)
    finish(after, delivered=1)
    assert captured(before) == D("0") and captured(after) == D("0.01")
    billing_period_close(period=NOVEMBER, now=AFTER_NOVEMBER)
    invoice = Invoice.unscoped_objects.get()
    assert invoice.billing_mode == "postpaid" and invoice.status == "issued"
    assert invoice.images == 1 and invoice.total == D("0.01")  # the postpaid task's charge is owed
    assert reconcile() == []


def test_reconcile_finds_a_task_charged_both_ways_or_neither(client, small_plan, prepaid):
    billing.credit_grant(tenant=client.tenant, amount=D("1"))
    both, neither = submit(client), submit(client)
    finish(both, delivered=1)
    finish(neither, delivered=1)
    # What the old code did: a prepaid task later invoiced too, and a prepaid capture lost.
    UsageRecord.unscoped_objects.filter(task=both).update(billing_mode="postpaid")
    CreditEntry.unscoped_objects.filter(task=neither, kind="capture").delete()
    problems = "\n".join(reconcile())
    assert f"task {both.pk}: charged both ways" in problems
    assert f"task {neither.pk}: prepaid, charged" in problems and "neither way" in problems

"""The operator's billing pages."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.invoicing import billing_period_close
from billing.models import BillingAccount, CreditEntry, Invoice, Plan, UsageRecord
from tests.billing.conftest import finish, submit
from tests.billing.test_invoices import AFTER_NOVEMBER, NOVEMBER

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff(client_http):
    client_http.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw"))
    return client_http


@pytest.fixture
def client_http():
    from django.test import Client

    return Client()


def plan_form(**tiers):
    form = {
        "code": "pro", "name": "Pro", "currency": "EUR", "included_images": 100, "monthly_cap": "",
        "tiers-TOTAL_FORMS": len(tiers), "tiers-INITIAL_FORMS": 0, "tiers-MIN_NUM_FORMS": 0,
        "tiers-MAX_NUM_FORMS": 1000,
    }  # fmt: skip
    for i, (up_to, price) in enumerate(tiers.values()):
        form[f"tiers-{i}-up_to"] = up_to
        form[f"tiers-{i}-unit_price"] = price
    return form


def test_a_plan_needs_exactly_one_open_last_tier(staff):
    refused = staff.post("/admin/billing/plan/add/", plan_form(a=("1000", "0.004"), b=("5000", "0.003")))
    assert refused.status_code == 200 and "Exactly one tier" in refused.content.decode()
    saved = staff.post("/admin/billing/plan/add/", plan_form(a=("1000", "0.004"), b=("", "0.003")))
    assert saved.status_code == 302
    plan = Plan.objects.get(code="pro")
    assert [(t.up_to, t.unit_price) for t in plan.tiers.all()] == [(1000, Decimal("0.004")), (None, Decimal("0.003"))]


def test_credit_grant_chart_and_ledger_pages(staff, client, small_plan, prepaid):
    url = f"/admin/billing/billingaccount/{prepaid.pk}/change/"
    response = staff.post(url, {"_grant": "1", "grant-amount": "5.00000", "grant-note": "wire 42"}, follow=True)
    assert response.status_code == 200 and "Granted 5.00000 credit" in response.content.decode()
    prepaid.refresh_from_db()
    assert prepaid.credit_balance == Decimal("5")
    assert CreditEntry.unscoped_objects.get(kind="grant").created_by == "ops"

    finish(submit(client, num_images=2), delivered=2)
    page = staff.get(url).content.decode()
    assert '<svg class="usage-chart"' in page and "<rect" in page and "wire 42" in page and "capture" in page

    record = UsageRecord.unscoped_objects.get()
    assert staff.get("/admin/billing/usagerecord/").status_code == 200
    ledger_page = staff.get(f"/admin/billing/usagerecord/{record.pk}/change/").content.decode()
    assert 'name="amount"' not in ledger_page  # read-only
    assert staff.post(f"/admin/billing/usagerecord/{record.pk}/delete/", {"post": "yes"}).status_code == 403

    # A row per billed task: the list never counts the whole ledger nor reads its distinct currencies.
    with CaptureQueriesContext(connection) as queries:
        found = staff.get("/admin/billing/usagerecord/", {"q": str(record.task_id)})
    assert list(found.context["cl"].result_list) == [record]
    ledger = [q["sql"] for q in queries.captured_queries if '"billing_usagerecord"' in q["sql"]]
    assert not [sql for sql in ledger if "DISTINCT" in sql or ("COUNT(" in sql and "LIMIT 1001" not in sql)]
    assert f"?currency__exact={record.currency}" in found.content.decode()


def test_invoice_actions_follow_the_allowed_transitions(staff, client, small_plan):
    finish(submit(client), delivered=1)
    billing_period_close(period=NOVEMBER, issue=False, now=AFTER_NOVEMBER)
    invoice = Invoice.unscoped_objects.get()

    def act(action):
        staff.post("/admin/billing/invoice/", {"action": action, "_selected_action": [invoice.pk]})
        invoice.refresh_from_db()
        return invoice.status

    assert act("mark_paid") == "draft"  # a draft cannot be paid
    assert act("issue") == "issued" and invoice.issued_at
    assert act("mark_paid") == "paid" and invoice.paid_at
    assert act("void") == "paid"  # a paid invoice is not voided
    assert staff.get(f"/admin/billing/invoice/{invoice.pk}/change/").status_code == 200
    assert BillingAccount.unscoped_objects.count() == 1

"""Who may open the console, and the read-only Support role: it sees everything (dashboard, lists,
billing) and changes nothing, billing least of all; in rq's pages it may look, not act."""

from __future__ import annotations

from datetime import date

import django_rq
import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django_rq.settings import get_queues_map

from billing.models import BillingAccount, CreditEntry, Invoice, Plan
from console.roles import SUPPORT, ensure_roles
from tests.console.conftest import PASSWORD
from tests.factories import TenantFactory


def test_support_holds_exactly_the_view_permissions(db):
    group = Group.objects.get(name=SUPPORT)  # made by migrate (post_migrate), nothing else
    codenames = set(group.permissions.values_list("content_type__app_label", "codename"))
    assert ("billing", "view_invoice") in codenames and ("generation", "view_task") in codenames
    assert ("accounts", "view_apikey") in codenames and ("callbacks", "view_callbackdelivery") in codenames
    assert all(codename.startswith("view_") for _, codename in codenames)
    assert not any(app == "sessions" for app, _ in codenames)


def test_ensure_roles_is_idempotent_and_takes_back_what_was_added_by_hand(db):
    group = Group.objects.get(name=SUPPORT)
    before = set(group.permissions.all())
    group.permissions.add(Permission.objects.get(codename="change_invoice"))
    ensure_roles()
    ensure_roles()
    assert set(Group.objects.get(name=SUPPORT).permissions.all()) == before
    assert Group.objects.filter(name=SUPPORT).count() == 1


def test_only_staff_reach_the_console(client, db):
    for url in ("/admin/console/", "/admin/console/failures/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    client.force_login(User.objects.create_user("customer", password=PASSWORD))
    response = client.get("/admin/console/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_the_admin_index_and_every_admin_page_link_the_console(staff_client):
    html = staff_client.get("/admin/").content.decode()
    assert 'href="/admin/console/"' in html and 'href="/admin/console/failures/"' in html
    assert 'href="/admin/rq/"' in html
    assert 'href="/admin/console/">Dashboard</a>' in staff_client.get("/admin/generation/task/").content.decode()


def test_support_opens_the_console_and_the_lists(support_client, service):
    for url in (
        "/admin/",
        "/admin/console/",
        "/admin/console/failures/",
        "/admin/generation/task/",
        "/admin/accounts/tenant/",
        "/admin/billing/invoice/",
        "/admin/billing/usagerecord/",
        "/admin/billing/plan/",
        "/admin/rq/",
    ):
        assert support_client.get(url).status_code == 200, url
    html = support_client.get("/admin/").content.decode()
    assert 'href="/admin/console/"' in html


@pytest.fixture
def billing_rows(db):
    tenant = TenantFactory()
    account = BillingAccount.unscoped_objects.create(tenant=tenant, mode=BillingAccount.Mode.PREPAID)
    invoice = Invoice.unscoped_objects.create(
        tenant=tenant,
        number="INV-1",
        period=date(2026, 10, 1),
        currency="USD",
        status=Invoice.Status.ISSUED,
        billing_mode="postpaid",
    )
    return account, invoice


def test_support_sees_billing_pages_without_save_or_grant(support_client, billing_rows):
    account, invoice = billing_rows
    plan = Plan.objects.get(is_default=True)
    for url in (
        f"/admin/billing/billingaccount/{account.pk}/change/",
        f"/admin/billing/invoice/{invoice.pk}/change/",
        f"/admin/billing/plan/{plan.pk}/change/",
    ):
        response = support_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert 'name="_save"' not in html and 'name="_continue"' not in html, url
        assert 'name="_grant"' not in html
    assert support_client.get("/admin/billing/plan/add/").status_code == 403


def test_support_cannot_change_billing(support_client, billing_rows):
    account, invoice = billing_rows
    plan = Plan.objects.get(is_default=True)
    url = f"/admin/billing/billingaccount/{account.pk}/change/"
    response = support_client.post(url, {"_grant": "1", "grant-amount": "100", "grant-note": "free money"})
    assert response.status_code == 403
    assert not CreditEntry.unscoped_objects.exists()
    assert support_client.post(url, {"mode": "postpaid", "_save": "1"}).status_code == 403
    assert support_client.post(f"/admin/billing/plan/{plan.pk}/change/", {"name": "Free"}).status_code == 403
    account.refresh_from_db()
    assert account.mode == BillingAccount.Mode.PREPAID and account.credit_balance == 0
    assert Plan.objects.get(pk=plan.pk).name == plan.name


def test_support_cannot_run_billing_actions(support_client, billing_rows):
    _, invoice = billing_rows
    changelist = "/admin/billing/invoice/"
    assert 'name="action"' not in support_client.get(changelist).content.decode()
    support_client.post(changelist, {"action": "void", "_selected_action": [invoice.pk], "index": 0})
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.ISSUED
    # The same request from an operator does void it: the action exists, Support may not run it.
    client = Client()
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", PASSWORD))
    client.post(changelist, {"action": "void", "_selected_action": [invoice.pk], "index": 0})
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.VOID


def _queue_index(name: str) -> int:
    return get_queues_map()[name]


def test_in_rq_support_may_look_but_not_act(support_client, db):
    queue = django_rq.get_queue(settings.MODEL_REGISTRY["tiny"].queue)
    queue.enqueue("generation.jobs.run_generation", "x")
    index = _queue_index(queue.name)
    assert support_client.get(f"/admin/rq/queues/{index}/").status_code == 200
    assert support_client.post(f"/admin/rq/queues/{index}/empty/").status_code == 403
    assert queue.count == 1


def test_in_rq_operators_act(staff_client, db):
    queue = django_rq.get_queue(settings.MODEL_REGISTRY["tiny"].queue)
    queue.enqueue("generation.jobs.run_generation", "x")
    response = staff_client.post(f"/admin/rq/queues/{_queue_index(queue.name)}/empty/")
    assert response.status_code == 302
    assert queue.count == 0


def test_rq_pages_are_for_staff_only(client, db):
    response = client.get("/admin/rq/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(User.objects.create_user("customer", password=PASSWORD))
    response = client.get("/admin/rq/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert client.post("/admin/rq/queues/0/empty/").status_code == 403


def test_every_admin_action_declares_the_permission_it_needs():
    """An action without declared permissions is offered to, and runs for, anyone who may view the
    list: the read-only role would not be read-only."""
    from django.contrib import admin

    undeclared = [
        f"{model._meta.label}.{name}"
        for model, model_admin in admin.site._registry.items()
        for func, name, _ in model_admin._get_base_actions()
        if not getattr(func, "allowed_permissions", None)
    ]
    assert undeclared == []

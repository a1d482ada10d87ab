"""The operator's pages for tenants, projects and keys (the full console is another issue)."""

import re

import pytest
from django.contrib.auth.models import User

from accounts.models import ApiKey, Tenant
from tests.factories import ProjectFactory, make_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = User.objects.create_superuser("ops", "ops@example.com", "pw")
    client.force_login(user)
    return client


def test_admin_lists_load(staff):
    project = ProjectFactory()
    make_key(project)
    for url in (
        "/admin/accounts/tenant/",
        "/admin/accounts/project/",
        "/admin/accounts/apikey/",
        "/admin/generation/task/",
        f"/admin/accounts/tenant/{project.tenant_id}/change/",
    ):
        assert staff.get(url).status_code == 200, url


def test_admin_creates_a_key_and_shows_it_once(staff, anon):
    project = ProjectFactory()
    response = staff.post("/admin/accounts/apikey/add/", {"project": project.id, "name": "ci"}, follow=True)
    assert response.status_code == 200
    shown = re.findall(r"igk_[0-9a-f]{12}_[A-Za-z0-9_-]+", response.content.decode())
    assert len(shown) == 1
    key = ApiKey.unscoped_objects.get(project=project, name="ci")
    assert anon.get("/api/v2/tasks", HTTP_AUTHORIZATION=f"Token {shown[0]}").status_code == 200
    # Never again: not on the list, not on the key's page.
    for url in ("/admin/accounts/apikey/", f"/admin/accounts/apikey/{key.pk}/change/"):
        page = staff.get(url).content.decode()
        assert shown[0] not in page and key.secret_hash not in page


def test_admin_suspends_a_tenant_and_its_key_stops_working(staff, anon):
    project = ProjectFactory()
    raw = make_key(project)
    response = staff.post(
        "/admin/accounts/tenant/", {"action": "suspend", "_selected_action": [project.tenant_id]}, follow=True
    )
    assert response.status_code == 200
    assert Tenant.objects.get(pk=project.tenant_id).status == "suspended"
    assert anon.get("/api/v2/tasks", HTTP_AUTHORIZATION=f"Token {raw}").status_code == 403


def test_admin_revokes_keys(staff, anon):
    project = ProjectFactory()
    raw = make_key(project)
    key = ApiKey.unscoped_objects.get(project=project)
    staff.post("/admin/accounts/apikey/", {"action": "revoke", "_selected_action": [key.pk]}, follow=True)
    assert anon.get("/api/v2/tasks", HTTP_AUTHORIZATION=f"Token {raw}").status_code == 401


def test_admin_requires_staff(client):
    response = client.get("/admin/generation/task/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.fixture
def support(client):
    """Staff who may look at tenants and keys but not change them (what the Support group grants)."""
    from django.contrib.auth.models import Permission

    user = User.objects.create_user("support", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_tenant", "view_apikey", "view_project"]))
    client.force_login(user)
    return client


def billed(project, images: int, amount: str, end_user: str = "") -> None:
    """What finishing tasks leaves in the rollups this month."""
    from decimal import Decimal

    from django.utils import timezone

    from billing.models import DailyUsage, MonthlyUsage
    from billing.services import period_of

    now = timezone.now()
    month, _ = MonthlyUsage.unscoped_objects.get_or_create(tenant=project.tenant, period=period_of(now))
    MonthlyUsage.unscoped_objects.filter(pk=month.pk).update(
        images=month.images + images, amount=month.amount + Decimal(amount)
    )
    DailyUsage.unscoped_objects.create(
        tenant=project.tenant, project=project, day=now.date(), end_user=end_user, tasks=1, images=images,
        amount=Decimal(amount),
    )  # fmt: skip


def test_tenant_list_and_page_show_plan_billing_caps_usage_and_keys(staff):
    from decimal import Decimal

    from billing.models import BillingAccount
    from billing.services import tenant_plan_assign
    from tests.billing.conftest import make_plan

    project = ProjectFactory(monthly_spend_cap=Decimal("50"), end_user_monthly_cap=Decimal("5"))
    tenant_plan_assign(tenant=project.tenant, plan=make_plan("growth"))
    BillingAccount.unscoped_objects.create(tenant=project.tenant, mode="prepaid", credit_balance=Decimal("20"))
    billed(project, 7, "0.07000", end_user="u-1")
    raw = make_key(project, name="ci")
    listing = staff.get("/admin/accounts/tenant/").content.decode()
    assert re.search(r"growth</td>.*prepaid</td>.*>7</td>.*>0\.07000</td>", listing, re.S), listing
    page = staff.get(f"/admin/accounts/tenant/{project.tenant_id}/change/").content.decode()
    for text in ("Growth (USD", "prepaid", "credit 20.00000", "0.07000", "project 50.00000, each end user 5.00000",
                 raw[:16], "/do/suspend/"):  # fmt: skip
        assert text in page, text
    assert raw not in page
    project_page = staff.get(f"/admin/accounts/project/{project.pk}/change/").content.decode()
    assert "u-1" in project_page and "0.07000" in project_page and raw[:16] in project_page
    assert f"/admin/accounts/apikey/add/?project={project.pk}" in project_page
    projects = staff.get("/admin/accounts/project/").content.decode()
    assert re.search(r">7</td>.*>0\.07000</td>", projects, re.S)


def test_suspend_and_reactivate_buttons_take_effect_at_once(staff, anon):
    project = ProjectFactory()
    raw = make_key(project)
    auth = {"HTTP_AUTHORIZATION": f"Token {raw}"}
    assert anon.get("/api/v2/tasks", **auth).status_code == 200
    url = f"/admin/accounts/tenant/{project.tenant_id}"
    assert staff.get(f"{url}/do/suspend/").status_code == 405
    response = staff.post(f"{url}/do/suspend/", follow=True)
    assert "their API keys are refused from now on" in response.content.decode()
    from django.contrib.admin.models import LogEntry

    assert LogEntry.objects.get(object_id=str(project.tenant_id)).change_message == "Suspended."
    refused = anon.get("/api/v2/tasks", **auth)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert "/do/reactivate/" in staff.get(f"{url}/change/").content.decode()
    staff.post(f"{url}/do/reactivate/")
    assert anon.get("/api/v2/tasks", **auth).status_code == 200


def test_key_page_revoke_button(staff, anon):
    project = ProjectFactory()
    raw = make_key(project)
    key = ApiKey.unscoped_objects.get(project=project)
    page = staff.get(f"/admin/accounts/apikey/{key.pk}/change/").content.decode()
    assert "/do/revoke/" in page
    response = staff.post(f"/admin/accounts/apikey/{key.pk}/do/revoke/", follow=True)
    assert f"Revoked {key.display_prefix}" in response.content.decode()
    assert anon.get("/api/v2/tasks", HTTP_AUTHORIZATION=f"Token {raw}").status_code == 401
    assert "/do/revoke/" not in staff.get(f"/admin/accounts/apikey/{key.pk}/change/").content.decode()
    assert "revoked" in staff.get("/admin/accounts/apikey/").content.decode()


def test_new_key_is_only_on_its_own_page_never_in_session_history_or_logs(staff, caplog):
    from django.contrib.admin.models import LogEntry

    project = ProjectFactory()
    response = staff.post("/admin/accounts/apikey/add/", {"project": project.id, "name": "ci"})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    page = response.content.decode()
    (raw,) = re.findall(r"igk_[0-9a-f]{12}_[A-Za-z0-9_-]+", page)
    assert "shown only on this page, once" in page
    assert raw not in str(dict(staff.session)) and raw not in str(staff.cookies)
    assert not any(raw in f"{e.object_repr} {e.change_message}" for e in LogEntry.objects.all())
    assert raw not in caplog.text
    assert raw not in staff.get("/admin/").content.decode()  # no message left to show later


def test_view_only_staff_cannot_suspend_or_revoke(support, anon):
    project = ProjectFactory()
    raw = make_key(project)
    key = ApiKey.unscoped_objects.get(project=project)
    listing = support.get("/admin/accounts/tenant/").content.decode()
    assert 'value="suspend"' not in listing
    assert "/do/suspend/" not in support.get(f"/admin/accounts/tenant/{project.tenant_id}/change/").content.decode()
    support.post("/admin/accounts/tenant/", {"action": "suspend", "_selected_action": [project.tenant_id]})
    assert support.post(f"/admin/accounts/tenant/{project.tenant_id}/do/suspend/").status_code == 403
    assert support.post(f"/admin/accounts/apikey/{key.pk}/do/revoke/").status_code == 403
    support.post("/admin/accounts/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    assert Tenant.objects.get(pk=project.tenant_id).status == "active"
    assert anon.get("/api/v2/tasks", HTTP_AUTHORIZATION=f"Token {raw}").status_code == 200

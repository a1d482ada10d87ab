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

"""What the admin must not disclose: secret columns through list filters or search, the webhook
signing secret to roles that may not rotate it, or in a cookie; console and rq pages to staff
without the permission."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.test import Client

from accounts.admin_secrets import SECRET_FIELDS
from accounts.models import ApiKey, Project
from callbacks.signing import canonical_secret
from tests.console.conftest import PASSWORD, make_support_user
from tests.factories import ProjectFactory, make_key

pytestmark = pytest.mark.django_db


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def superuser() -> Client:
    return logged_in(User.objects.create_superuser("ops", "ops@example.com", PASSWORD))


@pytest.fixture
def support() -> Client:
    return logged_in(make_support_user())


@pytest.fixture
def bare_staff() -> Client:
    """Staff with no permission at all: may log in to the admin, sees nothing."""
    return logged_in(User.objects.create_user("bare", password=PASSWORD, is_staff=True))


# --- Secret columns: no filter, no search -----------------------------------------------------
def _secret_lookups():
    for model, model_admin in admin.site._registry.items():
        for field in model._meta.get_fields():
            if field.name in SECRET_FIELDS and field.concrete:
                yield pytest.param(model_admin, field.name, id=f"{model._meta.label}.{field.name}")


@pytest.mark.parametrize(("model_admin", "field"), list(_secret_lookups()))
def test_no_registered_admin_allows_a_lookup_on_a_secret_column(rf, model_admin, field):
    request = rf.get("/")
    for lookup in (field, f"{field}__startswith", f"{field}__regex", f"{field}__gt"):
        assert not model_admin.lookup_allowed(lookup, "a", request), lookup


def test_every_admin_with_a_secret_column_is_checked():
    checked = {param.id for param in _secret_lookups()}
    assert {"accounts.ApiKey.secret_hash", "accounts.Project.webhook_secret", "auth.User.password"} <= checked


@pytest.mark.parametrize(
    ("url", "lookup"),
    [
        ("/admin/accounts/apikey/", "secret_hash__startswith"),
        ("/admin/accounts/project/", "webhook_secret__startswith"),
        ("/admin/accounts/apikey/", "project__webhook_secret__startswith"),
        ("/admin/auth/user/", "password__startswith"),
    ],
)
def test_a_secret_filter_in_the_url_is_refused_for_support_and_superusers(support, superuser, url, lookup):
    key = ApiKey.unscoped_objects.get(key_id=make_key().split("_")[1])
    prefix = {"secret": key.secret_hash[:2], "password": "pbkdf2", "webhook": "whsec_"}
    value = next(v for k, v in prefix.items() if k in lookup)
    for client in (support, superuser):
        response = client.get(url, {lookup: value})
        assert response.status_code == 400, (url, lookup, response.status_code)


def test_the_key_search_does_not_look_in_the_hash(superuser):
    key = ApiKey.unscoped_objects.get(key_id=make_key().split("_")[1])
    html = superuser.get("/admin/accounts/apikey/", {"q": key.secret_hash[:12]}).content.decode()
    assert key.display_prefix not in html


# --- The webhook signing secret ---------------------------------------------------------------
def test_support_does_not_see_the_webhook_secret_and_operators_do(support, superuser):
    project = ProjectFactory()
    secret = canonical_secret(project.webhook_secret)
    page = support.get(f"/admin/accounts/project/{project.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert secret not in html and "shown only to operators who may rotate it" in html
    assert secret in superuser.get(f"/admin/accounts/project/{project.pk}/change/").content.decode()


def test_rotating_shows_the_new_secret_once_on_its_page_and_never_in_a_cookie(superuser):
    project = ProjectFactory()
    response = superuser.post(
        "/admin/accounts/project/", {"action": "rotate_webhook_secret", "_selected_action": [project.pk]}
    )
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    new = Project.unscoped_objects.get(pk=project.pk).webhook_secret
    assert canonical_secret(new) in response.content.decode() or new in response.content.decode()
    assert new not in str(response.cookies) and canonical_secret(new) not in str(response.cookies)
    # The next page shows no message carrying it, and no cookie ever held it.
    after = superuser.get("/admin/accounts/project/")
    assert new not in after.content.decode() and new not in str(superuser.cookies)


def test_support_cannot_rotate(support):
    project = ProjectFactory()
    before = project.webhook_secret
    support.post("/admin/accounts/project/", {"action": "rotate_webhook_secret", "_selected_action": [project.pk]})
    assert Project.unscoped_objects.get(pk=project.pk).webhook_secret == before


def test_admin_messages_are_kept_in_the_session_not_a_cookie(superuser):
    key = ApiKey.unscoped_objects.get(key_id=make_key().split("_")[1])
    response = superuser.post("/admin/accounts/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    assert response.status_code == 302 and "messages" not in response.cookies
    assert "Revoked" in superuser.get(response["Location"]).content.decode()


# --- Console and rq: an explicit permission, not is_staff --------------------------------------
CONSOLE = ["/admin/console/", "/admin/console/failures/"]
RQ = ["/admin/rq/", "/admin/rq/queues/0/"]


@pytest.mark.parametrize("url", CONSOLE + RQ)
def test_staff_without_the_permission_get_403_on_console_and_rq(bare_staff, url):
    assert bare_staff.get(url).status_code == 403


def test_staff_without_the_permission_see_no_console_links(bare_staff):
    html = bare_staff.get("/admin/").content.decode()
    assert "/admin/console/" not in html and "/admin/rq/" not in html


@pytest.mark.parametrize(("codename", "allowed"), [("view_dashboard", CONSOLE), ("view_queues", RQ)])
def test_each_permission_opens_its_own_pages_only(codename, allowed):
    user = User.objects.create_user(codename, password=PASSWORD, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename=codename, content_type__app_label="console"))
    client = logged_in(user)
    for url in CONSOLE + RQ:
        assert client.get(url).status_code == (200 if url in allowed else 403), url


@pytest.mark.parametrize("url", CONSOLE + RQ)
def test_support_and_superusers_open_console_and_rq(support, superuser, url):
    assert support.get(url).status_code == 200 and superuser.get(url).status_code == 200


@pytest.mark.parametrize("url", CONSOLE + RQ)
def test_anonymous_users_are_sent_to_the_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_console_permissions_name_what_they_open():
    names = dict(Permission.objects.filter(content_type__app_label="console").values_list("codename", "name"))
    assert set(names) == {"view_dashboard", "view_queues"}
    assert re.search("revenue", names["view_dashboard"])

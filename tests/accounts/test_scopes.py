"""API key scopes: every route needs one scope (generate, read, billing, webhooks), a key without
it gets 403 ``forbidden`` naming it, and a key with only that scope gets through. The commands and
the admin make and edit scoped, project-bound or tenant-wide keys."""

import importlib
import io
import json

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.urls import get_resolver
from rest_framework.test import APIClient

from accounts.api import TenantAPIView
from accounts.models import ApiKey, Project, Scope
from generation.models import Task
from tests.conftest import SEED_REQUEST, problem
from tests.factories import ProjectFactory, TenantFactory, make_key

pytestmark = pytest.mark.django_db

ALL = set(Scope.values)
# The async views' DRF half runs on the web's sync pool (another thread): committed rows only.
ASYNC_VIEW = pytest.mark.django_db(transaction=True)

# Every route that takes an API key -> the scope it needs (docs/architecture.md, "Scopes").
ROUTE_SCOPES = [
    ("post", "/api/v2/task/async", "generate"),
    pytest.param("post", "/api/v2/task/sync", "generate", marks=ASYNC_VIEW),
    ("post", "/api/v2/task/{task}/cancel", "generate"),
    ("post", "/api/v2/task/quote", "generate"),
    ("get", "/api/v2/task/{task}", "read"),
    ("get", "/api/v2/tasks", "read"),
    pytest.param("get", "/api/v2/task/{task}/events", "read", marks=ASYNC_VIEW),
    ("get", "/api/v2/task/{task}/callbacks", "read"),
    ("get", "/api/v2/usage", "billing"),
    ("get", "/api/v2/invoices", "billing"),
    ("get", "/api/v2/invoices/1", "billing"),
    ("get", "/api/v2/invoices/1/html", "billing"),
    ("get", "/api/v2/webhook-secret", "webhooks"),
    ("post", "/api/v2/webhook-secret/rotate", "webhooks"),
    ("get", "/api/v2/models", "read"),
]
ROUTE_PATTERNS = {
    "api/v2/task/async": "generate",
    "api/v2/task/sync": "generate",
    "api/v2/task/<str:task_id>/cancel": "generate",
    "api/v2/task/quote": "generate",
    "api/v2/task/<str:task_id>": "read",
    "api/v2/tasks": "read",
    "api/v2/task/<str:task_id>/events": "read",
    "api/v2/task/<str:task_id>/callbacks": "read",
    "api/v2/usage": "billing",
    "api/v2/invoices": "billing",
    "api/v2/invoices/<str:invoice_id>": "billing",
    "api/v2/invoices/<str:invoice_id>/html": "billing",
    "api/v2/webhook-secret": "webhooks",
    "api/v2/webhook-secret/rotate": "webhooks",
    "api/v2/models": "read",
    "v1/images/generations": "generate",
    "v1/models": "read",
    "v1/models/<str:model_id>": "read",
}


def client_for(raw):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client


@pytest.fixture
def task_project(settings):
    settings.SYNC_WAIT_SECONDS = 0.05
    project = ProjectFactory()
    task_id = client_for(make_key(project)).post("/api/v2/task/async", SEED_REQUEST, format="json").json()["id"]
    return project, task_id


def _call(raw, method, path, task_id):
    body = SEED_REQUEST if method == "post" and "task/" in path and "{task}" not in path else None
    return getattr(client_for(raw), method)(path.format(task=task_id), body, format="json")


@pytest.mark.parametrize(("method", "path", "scope"), ROUTE_SCOPES)
def test_a_key_without_the_routes_scope_is_403_naming_it(task_project, method, path, scope):
    project, task_id = task_project
    raw = make_key(project, scopes=sorted(ALL - {scope}))
    response = _call(raw, method, path, task_id)
    assert response.status_code == 403, response.content
    body = problem(response)
    assert body["code"] == "forbidden" and body["scope"] == scope and f"`{scope}`" in body["detail"]
    assert Task.unscoped_objects.count() == 1  # nothing new was submitted


@pytest.mark.parametrize(("method", "path", "scope"), ROUTE_SCOPES)
def test_a_key_with_only_the_routes_scope_gets_through(task_project, method, path, scope):
    project, task_id = task_project
    response = _call(make_key(project, scopes=[scope]), method, path, task_id)
    # Past the scope check: whatever the view answers (a missing invoice is 404), never 403.
    assert response.status_code != 403 and response.status_code < 500, response.content


def test_every_api_route_names_its_scope():
    """A new route that forgets its scope (or is not in the table above) fails here."""
    found = {}

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
                continue
            cls = getattr(pattern.callback, "cls", None)
            if isinstance(cls, type) and issubclass(cls, TenantAPIView):
                found[prefix + str(pattern.pattern)] = cls.required_scope

    walk(get_resolver().url_patterns)
    assert found == ROUTE_PATTERNS


def test_a_read_only_key_cannot_submit_and_a_generate_only_key_cannot_read_secrets_or_usage(project):
    read_only = client_for(make_key(project, scopes=["read"]))
    refused = read_only.post("/api/v2/task/async", SEED_REQUEST, format="json")
    assert refused.status_code == 403 and problem(refused)["scope"] == "generate"
    assert read_only.get("/api/v2/tasks").status_code == 200
    generate_only = client_for(make_key(project, scopes=["generate"]))
    assert generate_only.post("/api/v2/task/async", SEED_REQUEST, format="json").status_code == 200
    for path, scope in (("/api/v2/webhook-secret", "webhooks"), ("/api/v2/usage", "billing")):
        response = generate_only.get(path)
        assert response.status_code == 403 and problem(response)["scope"] == scope
    rotate = generate_only.post("/api/v2/webhook-secret/rotate")
    assert rotate.status_code == 403 and problem(rotate)["scope"] == "webhooks"


@pytest.mark.django_db(transaction=True)
def test_a_project_key_gets_404_for_a_sibling_projects_event_stream(task_project):
    project, task_id = task_project
    sibling = ProjectFactory(tenant=project.tenant)
    response = client_for(make_key(sibling)).get(f"/api/v2/task/{task_id}/events")
    assert response.status_code == 404 and problem(response)["code"] == "not_found"


def test_existing_keys_keep_every_scope():
    """The data migration gives keys made before scopes all four."""
    make_key()
    ApiKey.unscoped_objects.update(scopes=[])
    migration = importlib.import_module("accounts.migrations.0005_api_key_scopes_project_binding")
    migration.existing_keys_keep_every_scope(apps, None)
    assert ApiKey.unscoped_objects.get().scopes == Scope.values


# --- Commands ----------------------------------------------------------------------------------
def run(*args) -> dict:
    out = io.StringIO()
    call_command(*args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_create_api_key_with_scopes_and_tenant_wide():
    project = ProjectFactory()
    made = run("create_api_key", "--project", str(project.id), "--scopes", "read, billing")
    assert made["scopes"] == ["read", "billing"] and made["tenant_wide"] is False
    key = ApiKey.unscoped_objects.get(tenant=project.tenant)
    assert key.scopes == ["read", "billing"] and not key.tenant_wide
    refused = client_for(made["api_key"]).post("/api/v2/task/async", SEED_REQUEST, format="json")
    assert refused.status_code == 403 and problem(refused)["scope"] == "generate"
    wide = run("create_api_key", "--project", str(project.id), "--tenant-wide")
    assert wide["tenant_wide"] is True and wide["scopes"] == Scope.values
    spaced = run("create_api_key", "--project", str(project.id), "--scopes", "webhooks", "generate")
    assert spaced["scopes"] == ["generate", "webhooks"]
    with pytest.raises(CommandError, match="admin"):
        call_command("create_api_key", "--project", str(project.id), "--scopes", "read,admin")


def test_create_project_prints_a_key_bound_to_the_new_project():
    tenant = TenantFactory()
    other = ProjectFactory(tenant=tenant)
    task_id = client_for(make_key(other)).post("/api/v2/task/async", SEED_REQUEST, format="json").json()["id"]
    made = run("create_project", "--tenant", tenant.slug, "Mobile app")
    project = Project.unscoped_objects.get(pk=made["project_id"])
    assert made["tenant_id"] == tenant.id and project.tenant_id == tenant.id and project.name == "Mobile app"
    api = client_for(made["api_key"])
    assert api.get(f"/api/v2/task/{task_id}").status_code == 404  # the sibling project's task
    assert run("create_project", "--tenant", str(tenant.id), "Web")["tenant_id"] == tenant.id
    assert run("create_project", "--tenant", tenant.name, "Desktop")["tenant_id"] == tenant.id
    with pytest.raises(CommandError, match="no tenant"):
        call_command("create_project", "--tenant", "nobody", "X")


# --- Admin ---------------------------------------------------------------------------------
@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw"))
    return client


def test_admin_shows_and_edits_scopes(staff):
    project = ProjectFactory()
    raw = make_key(project)
    key = ApiKey.unscoped_objects.get(project=project)
    assert "generate, read, billing, webhooks" in staff.get("/admin/accounts/apikey/").content.decode()
    page = staff.get(f"/admin/accounts/apikey/{key.pk}/change/").content.decode()
    assert 'name="scopes" value="webhooks"' in page and 'name="tenant_wide"' in page
    response = staff.post(
        f"/admin/accounts/apikey/{key.pk}/change/",
        {"name": "reader", "scopes": ["read"], "expires_at_0": "", "expires_at_1": ""},
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    key.refresh_from_db()
    assert key.scopes == ["read"] and key.name == "reader"
    refused = client_for(raw).post("/api/v2/task/async", SEED_REQUEST, format="json")
    assert refused.status_code == 403 and problem(refused)["scope"] == "generate"


def test_admin_creates_a_scoped_tenant_wide_key(staff):
    project = ProjectFactory()
    staff.post(
        "/admin/accounts/apikey/add/",
        {"project": project.id, "name": "wide", "scopes": ["read", "webhooks"], "tenant_wide": "on"},
    )
    key = ApiKey.unscoped_objects.get(project=project, name="wide")
    assert key.scopes == ["read", "webhooks"] and key.tenant_wide


@pytest.mark.django_db(transaction=True)
def test_the_openai_routes_need_their_scopes_and_answer_in_openais_shape(project):
    """POST /v1/images/generations needs `generate`, the model routes `read`; the refusal is
    OpenAI's error object (the SDK's PermissionDeniedError)."""
    read_only = client_for(make_key(project, scopes=["read"]))
    refused = read_only.post("/v1/images/generations", {"prompt": "a red door"}, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert "`generate`" in refused.json()["error"]["message"]
    assert read_only.get("/v1/models").status_code == 200
    generate_only = client_for(make_key(project, scopes=["generate"]))
    refused = generate_only.get("/v1/models")
    assert refused.status_code == 403 and "`read`" in refused.json()["error"]["message"]

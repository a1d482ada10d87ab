"""Tenant and project scoping: the manager fails closed, and every route answers another tenant,
and another project of the same tenant for a project-bound key, exactly as it answers for a
missing object; a tenant-wide key (the named exception) reaches every project of its tenant."""

import uuid

import pytest
from rest_framework.test import APIClient

from accounts.tenancy import UnscopedQueryError
from generation.models import Task
from tests.conftest import SEED_REQUEST, problem
from tests.factories import ProjectFactory, make_key

pytestmark = pytest.mark.django_db


def test_unscoped_queries_raise(project):
    for query in (
        lambda: Task.objects.all(),
        lambda: Task.objects.filter(state="queued"),
        lambda: Task.objects.count(),
    ):
        with pytest.raises(UnscopedQueryError):
            query()
    with pytest.raises(UnscopedQueryError):
        Task.objects.for_tenant(None)


def test_for_tenant_sees_only_that_tenant(api, project):
    api.post("/api/v2/task/async", SEED_REQUEST, format="json")
    other = ProjectFactory()
    assert Task.objects.for_tenant(project.tenant).count() == 1
    assert Task.objects.for_tenant(other.tenant).count() == 0


def client_for(key):
    client = APIClient()
    if key:
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


# route -> (method, path template, body, status for the owner)
ROUTES = {
    "poll": ("get", "/api/v2/task/{id}", None, 200),
    "cancel": ("post", "/api/v2/task/{id}/cancel", None, 200),
    "callbacks": ("get", "/api/v2/task/{id}/callbacks", None, 200),
}
# owner: the key of the task's project. sibling_project: a (project-bound) key of another project
# of the same tenant. tenant_wide: a tenant-wide key made for that other project.
ACTORS = ["owner", "sibling_project", "tenant_wide", "other_tenant", "anonymous"]
SEES_THE_TASK = {"owner", "tenant_wide"}
SEES_NOTHING = {"sibling_project", "other_tenant"}


@pytest.fixture
def world(settings):
    settings.SYNC_WAIT_SECONDS = 0.05
    owner_project = ProjectFactory()
    sibling = ProjectFactory(tenant=owner_project.tenant)
    owner_key = make_key(owner_project)
    task_id = client_for(owner_key).post("/api/v2/task/async", SEED_REQUEST, format="json").json()["id"]
    return {
        "owner": owner_key,
        "sibling_project": make_key(sibling),
        "tenant_wide": make_key(sibling, tenant_wide=True),
        "other_tenant": make_key(ProjectFactory()),
        "anonymous": None,
        "task_id": task_id,
    }


@pytest.mark.parametrize("route", sorted(ROUTES))
@pytest.mark.parametrize("actor", ACTORS)
def test_object_route_matrix(world, route, actor):
    method, template, body, owner_status = ROUTES[route]
    client = client_for(world[actor])
    response = getattr(client, method)(template.format(id=world["task_id"]), body, format="json")
    expected = 401 if actor == "anonymous" else owner_status if actor in SEES_THE_TASK else 404
    assert response.status_code == expected, response.content
    if actor in SEES_NOTHING:
        missing = getattr(client, method)(template.format(id=uuid.uuid4()), body, format="json")
        assert missing.status_code == 404
        assert problem(response) == problem(missing)  # indistinguishable from a missing task
    if actor == "anonymous":
        assert problem(response)["code"] == "unauthenticated"


@pytest.mark.parametrize("actor", ACTORS)
def test_list_route_matrix(world, actor):
    response = client_for(world[actor]).get("/api/v2/tasks")
    if actor == "anonymous":
        assert response.status_code == 401
        return
    assert response.status_code == 200
    ids = [task["id"] for task in response.json()["results"]]
    assert ids == ([world["task_id"]] if actor in SEES_THE_TASK else [])


def test_a_project_key_cannot_list_its_siblings_tasks_by_filter(world):
    """project_id in the query narrows a key's view; it never widens it."""
    owner_project = Task.unscoped_objects.get(pk=world["task_id"]).project.public_id  # as tasks show it
    sibling = client_for(world["sibling_project"]).get(f"/api/v2/tasks?project_id={owner_project}")
    assert sibling.status_code == 200 and sibling.json()["results"] == []
    wide = client_for(world["tenant_wide"]).get(f"/api/v2/tasks?project_id={owner_project}")
    assert [task["id"] for task in wide.json()["results"]] == [world["task_id"]]


# /sync's DRF half runs on the web's sync pool (another thread): it sees only committed rows.
ASYNC_VIEW = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("path", ["/api/v2/task/async", pytest.param("/api/v2/task/sync", marks=ASYNC_VIEW)])
@pytest.mark.parametrize("actor", ACTORS)
def test_submit_route_matrix(world, path, actor):
    response = client_for(world[actor]).post(path, SEED_REQUEST, format="json")
    if actor == "anonymous":
        assert response.status_code == 401
        assert not Task.unscoped_objects.exclude(pk=world["task_id"]).exists()
        return
    # /sync with no worker running answers 202 with the task to poll.
    assert response.status_code == (200 if path.endswith("async") else 202)
    task = Task.unscoped_objects.get(pk=response.json()["id"])
    submitter = world[actor].split("_")[1]
    assert task.api_key.key_id == submitter  # the task belongs to the key's tenant, whatever the body says


def test_project_id_in_body_cannot_pick_another_tenant(world):
    victim = ProjectFactory()
    body = {**SEED_REQUEST, "project_id": victim.id}
    response = client_for(world["other_tenant"]).post("/api/v2/task/async", body, format="json")
    assert response.status_code == 400
    assert problem(response)["errors"] == {"project_id": ["Unknown field 'project_id'."]}

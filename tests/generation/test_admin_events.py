"""The admin task page's event stream: staff with the task's view permission only (session
authentication, any tenant's task), the same events as the API's stream."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import Permission, User
from django.test import Client

from generation.models import Task
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the view reads on the web's sync pool


def make_task(**fields) -> Task:
    project = ProjectFactory()
    defaults = {"text_data": "a lighthouse", "num_images": 1, "seed": 1, "model": "tiny", "state": "cancelled"}
    return Task.unscoped_objects.create(tenant=project.tenant, project=project, **{**defaults, **fields})


async def collect(stream) -> bytes:
    return b"".join([chunk async for chunk in stream])


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def events_url(task) -> str:
    return f"/admin/generation/task/{task.pk}/events/"


def test_staff_with_view_permission_get_the_stream_of_any_tenants_task():
    task = make_task()
    staff = User.objects.create_user("viewer", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_task"))
    response = client_for(staff).get(events_url(task))
    assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
    body = async_to_sync(collect)(response.streaming_content).decode()
    name, data = body.strip().split("\n")
    assert name == "event: done"
    task_object = json.loads(data.removeprefix("data: "))
    assert task_object["id"] == str(task.pk) and task_object["state"] == "cancelled"


@pytest.mark.parametrize("who", ["anonymous", "customer", "staff without view permission"])
def test_nobody_else_gets_it(who):
    task = make_task()
    user = {
        "anonymous": None,
        "customer": User.objects.create_user("customer"),
        "staff without view permission": User.objects.create_user("staff", is_staff=True),
    }[who]
    assert client_for(user).get(events_url(task)).status_code == 403


def test_an_unknown_task_is_404():
    admin = User.objects.create_superuser("op", "op@example.com", "x")
    assert client_for(admin).get("/admin/generation/task/not-a-uuid/events/").status_code == 404

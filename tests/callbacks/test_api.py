"""The callbacks API: a task's deliveries and attempts, the project's webhook secret."""

import json
from datetime import timedelta

import pytest
import yaml
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from jsonschema import Draft202012Validator
from rest_framework.test import APIClient

from accounts.models import Project
from callbacks.models import CallbackAttempt, CallbackDelivery
from callbacks.signing import canonical_secret
from generation.models import Task
from tests.conftest import ROOT, problem
from tests.factories import ProjectFactory, make_key

pytestmark = pytest.mark.django_db


def client_for(key):
    client = APIClient()
    if key:
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def validate(body, name):
    schema = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text())
    wrapper = {"$ref": f"#/components/schemas/{name}", "components": {"schemas": schema["components"]["schemas"]}}
    Draft202012Validator(wrapper).validate(body)


def task_with_delivery(project, attempts: int) -> Task:
    now = timezone.now()
    task = Task.unscoped_objects.create(
        tenant=project.tenant,
        project=project,
        text_data="a",
        num_images=1,
        seed=1,
        model="tiny",
        callback_url="https://example.com/hook",
        state="succeeded",
        finished_at=now,
    )
    delivery = CallbackDelivery.unscoped_objects.create(
        tenant=project.tenant,
        project=project,
        task=task,
        event_type="task.succeeded",
        url=task.callback_url,
        status="succeeded" if attempts else "pending",
        attempts_count=attempts,
        last_status_code=200 if attempts else None,
        finished_at=now if attempts else None,
    )
    for number in range(1, attempts + 1):
        last = number == attempts
        CallbackAttempt.unscoped_objects.create(
            tenant=project.tenant,
            delivery=delivery,
            number=number,
            started_at=now,
            status_code=200 if last else 500,
            latency_ms=12.5,
            error="" if last else "HTTP 500",
            response_excerpt="ok" if last else "oops",
            next_attempt_at=None if last else now + timedelta(seconds=5),
        )
    return task


def test_a_tasks_deliveries_with_every_attempt(project, api):
    task = task_with_delivery(project, attempts=3)
    response = api.get(f"/api/v2/task/{task.id}/callbacks")
    assert response.status_code == 200
    body = response.json()
    validate(body, "TaskCallbacks")
    assert body["task_id"] == str(task.id)
    (delivery,) = body["deliveries"]
    assert delivery["webhook_id"].startswith("msg_") and delivery["status"] == "succeeded"
    assert delivery["event_type"] == "task.succeeded" and delivery["attempts_count"] == 3
    assert [a["number"] for a in delivery["attempts"]] == [1, 2, 3]
    first, last = delivery["attempts"][0], delivery["attempts"][-1]
    assert (first["status_code"], first["error"], first["response_excerpt"]) == (500, "HTTP 500", "oops")
    assert first["next_attempt_at"] and first["latency_ms"] == 12.5 and first["started_at"]
    assert (last["status_code"], last["error"], last["next_attempt_at"]) == (200, "", None)


def test_a_task_without_callbacks_has_an_empty_list(project, api):
    task = task_with_delivery(project, attempts=0)
    CallbackDelivery.unscoped_objects.filter(task=task).delete()
    assert api.get(f"/api/v2/task/{task.id}/callbacks").json() == {"task_id": str(task.id), "deliveries": []}


def test_query_count_does_not_grow_with_attempts(project, api):
    few, many = task_with_delivery(project, attempts=1), task_with_delivery(project, attempts=9)
    api.get(f"/api/v2/task/{few.id}/callbacks")  # the key's first use writes last_used_at
    counts = []
    for task in (few, many):
        with CaptureQueriesContext(connection) as queries:
            assert api.get(f"/api/v2/task/{task.id}/callbacks").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_another_tenants_task_is_a_404_like_a_missing_one(project):
    task = task_with_delivery(project, attempts=1)
    other = client_for(make_key(ProjectFactory()))
    theirs = other.get(f"/api/v2/task/{task.id}/callbacks")
    missing = other.get("/api/v2/task/00000000-0000-0000-0000-000000000000/callbacks")
    assert theirs.status_code == missing.status_code == 404
    assert problem(theirs) == problem(missing)


def test_webhook_secret_is_the_key_projects_in_canonical_form(project, api):
    response = api.get("/api/v2/webhook-secret")
    assert response.status_code == 200
    body = response.json()
    validate(body, "WebhookSecret")
    assert body == {
        "secret": canonical_secret(project.webhook_secret),
        "previous_secret_expires_at": None,
        "rotated_at": None,
    }
    other_project = ProjectFactory()
    other = client_for(make_key(other_project)).get("/api/v2/webhook-secret").json()
    assert other["secret"] == canonical_secret(other_project.webhook_secret) != body["secret"]
    assert problem(client_for(None).get("/api/v2/webhook-secret"))["code"] == "unauthenticated"


def test_rotate_gives_a_new_secret_and_keeps_the_old_one_signing_for_a_while(project, api, settings):
    before = api.get("/api/v2/webhook-secret").json()["secret"]
    other_project = ProjectFactory()
    other_secret = other_project.webhook_secret
    response = api.post("/api/v2/webhook-secret/rotate")
    assert response.status_code == 200
    body = response.json()
    validate(body, "WebhookSecret")
    assert body["secret"].startswith("whsec_") and body["secret"] != before
    expires = timezone.datetime.fromisoformat(body["previous_secret_expires_at"])
    grace = (expires - timezone.datetime.fromisoformat(body["rotated_at"])).total_seconds()
    assert grace == settings.CALLBACK_SECRET_ROTATION_GRACE == 86400
    assert api.get("/api/v2/webhook-secret").json() == body
    assert Project.unscoped_objects.get(pk=other_project.pk).webhook_secret == other_secret  # nobody else's
    assert problem(client_for(None).post("/api/v2/webhook-secret/rotate"))["code"] == "unauthenticated"
    assert api.get("/api/v2/webhook-secret/rotate").status_code == 405


def test_the_schema_documents_the_routes():
    paths = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text())["paths"]
    assert {"/api/v2/task/{task_id}/callbacks", "/api/v2/webhook-secret", "/api/v2/webhook-secret/rotate"} <= set(paths)
    assert json.dumps(paths["/api/v2/webhook-secret/rotate"]).count("post") == 1


def test_attempt_errors_are_summarised_for_the_tenant_and_kept_whole_for_the_operator(project, api):
    task = task_with_delivery(project, attempts=3)
    delivery = CallbackDelivery.unscoped_objects.get(task=task)
    first, second, _ = CallbackAttempt.unscoped_objects.filter(delivery=delivery).order_by("number")
    tls = "TLS certificate not valid for this host: Hostname mismatch, certificate is not valid for 'egress-proxy.corp'"
    refused = "refused, nothing sent: hooks.example.com resolves to {}, a private address"
    first.error, second.error = tls, refused.format("10.20.30.40")
    first.save(), second.save()
    CallbackDelivery.unscoped_objects.filter(pk=delivery.pk).update(last_error="TLS error: [SSL] wrong version (proxy)")
    body = api.get(f"/api/v2/task/{task.id}/callbacks").json()
    shown = body["deliveries"][0]
    assert shown["attempts"][0]["error"] == "TLS certificate not valid for this host"
    assert shown["attempts"][1]["error"] == refused.format("[address]")
    assert shown["last_error"] == "TLS error (the handshake with the receiver failed)"
    assert "egress-proxy" not in json.dumps(body) and "10.20.30.40" not in json.dumps(body)
    assert CallbackAttempt.unscoped_objects.get(pk=first.pk).error == tls  # the operator's record is whole

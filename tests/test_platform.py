"""Project-level behaviour: the stdlib `platform` module, health, schema, docs, errors, admin."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from tests.conftest import ROOT, problem, processes_started_here


def test_platform_folder_never_shadows_the_standard_library():
    code = "import platform, uuid, django, torch; import imgplatform.settings; print(platform.system())"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Linux"
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_the_session_end_check_finds_a_forked_grandchild_that_outlived_its_parent():
    # The case it exists for: rq's worker forks its scheduler; killing the worker alone left the
    # scheduler running after the suite, re-parented away from the test process.
    code = "import os, time\nif os.fork() == 0:\n    time.sleep(60)\nos._exit(0)"
    subprocess.run([sys.executable, "-c", code], timeout=30, check=True)
    orphans = [(pid, cmd) for pid, cmd in processes_started_here() if "time.sleep(60)" in cmd]
    assert len(orphans) == 1, processes_started_here()
    os.kill(orphans[0][0], signal.SIGKILL)
    deadline = time.monotonic() + 5
    while orphans[0] in processes_started_here() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert orphans[0] not in processes_started_here()


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_without_a_worker_is_503_and_says_why(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == "ok" and checks["redis"] == "ok"
    assert checks["workers"].startswith("error")


@pytest.mark.slow
def test_readyz_with_a_live_worker(client, worker_process):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"]["workers"] == "1 live"


@pytest.mark.django_db
def test_readyz_with_redis_down(client, redis_down):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"].startswith("error")


def test_unknown_route_is_problem_json(client):
    response = client.get("/api/v2/nope")
    assert response.status_code == 404
    assert problem(response)["code"] == "not_found"


@pytest.mark.django_db
def test_wrong_method_is_problem_json(api):
    response = api.get("/api/v2/task/async")
    assert response.status_code == 405
    assert problem(response)["code"] == "method_not_allowed"


def test_schema_is_valid_and_the_committed_copy_is_current(tmp_path):
    out = tmp_path / "openapi.yaml"
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--file", str(out), "--validate", "--fail-on-warn"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    committed = ROOT / "docs" / "openapi.yaml"
    assert yaml.safe_load(out.read_text()) == yaml.safe_load(committed.read_text()), "run `make schema`"
    paths = yaml.safe_load(out.read_text())["paths"]
    assert {
        "/api/v2/task/async",
        "/api/v2/task/sync",
        "/api/v2/task/{task_id}",
        "/api/v2/task/{task_id}/cancel",
        "/api/v2/tasks",
    } <= set(paths)


@pytest.mark.django_db
def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v2/task/async" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content and b"cdn" not in docs.content.lower()  # served locally


@pytest.mark.django_db(transaction=True)
def test_real_responses_match_the_schema(api, run_worker):
    """The task object the API sends validates against the published OpenAPI schema."""
    from jsonschema import Draft202012Validator

    schema = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text())
    components = schema["components"]["schemas"]

    def validate(body, name):
        wrapper = {"$ref": f"#/components/schemas/{name}", "components": {"schemas": components}}
        Draft202012Validator(wrapper).validate(body)

    queued = api.post("/api/v2/task/async", {"text_data": "a", "options": {"num_images": 2}}, format="json").json()
    validate(queued, "TaskObject")
    run_worker()
    validate(api.get(f"/api/v2/task/{queued['id']}").json(), "TaskObject")
    validate(api.get("/api/v2/tasks").json(), "TaskPage")
    validate(json.loads(api.post("/api/v2/task/async", {}, format="json").content), "Problem")

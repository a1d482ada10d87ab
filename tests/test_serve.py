"""`scripts/serve ROLE`: one entry point per role, configured by the environment only, in the
foreground, stopping cleanly on SIGTERM. Real processes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from generation.models import Task
from tests.conftest import ROOT, free_port
from tests.roles import http_get, roles  # noqa: F401 (fixture)

pytestmark = [pytest.mark.slow, pytest.mark.long, pytest.mark.django_db(transaction=True)]


def wait_for(predicate, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_an_unknown_role_is_refused_with_the_usage():
    out = subprocess.run(["bash", "scripts/serve", "webz"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "usage: scripts/serve web|worker|callbacks|default|scheduler" in out.stderr


def test_two_web_instances_on_one_host_keep_their_own_control_sockets(roles):  # noqa: F811
    """gunicorn's default control socket is one per user: a second instance took it over and
    deleted it when it stopped. Each instance has its own now, named after its master."""
    runtime = tempfile.mkdtemp(prefix="ctl-", dir="/tmp")  # a short path: a socket's is limited
    try:
        ports = [free_port(), free_port()]
        first, second = (
            roles.start("web", env={"PORT": str(port), "WEB_CONCURRENCY": "1", "XDG_RUNTIME_DIR": runtime})
            for port in ports
        )
        sockets = {name for name in os.listdir(runtime) if name.endswith(".ctl")}
        assert sockets == {f"gunicorn-{first.pid}.ctl", f"gunicorn-{second.pid}.ctl"}
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=30) == 0
        assert os.listdir(runtime) == [f"gunicorn-{second.pid}.ctl"]  # the second one's is still there
        assert http_get(f"http://127.0.0.1:{ports[1]}/healthz")[0] == 200
        assert "Listening at: http://127.0.0.1:" in second.log_path.read_text()  # BIND's default: loopback
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


def test_a_worker_finishes_its_running_task_on_sigterm_then_exits(roles, api):  # noqa: F811
    slow = json.dumps({"tiny": {"steps": 8, "step_delay": 0.3}})
    worker = roles.start("worker", "--no-warm-up", env={"GENERATION_MODELS": slow, "WORKER_MODEL": "tiny"})
    response = api.post(
        "/api/v2/task/async", {"text_data": "a lighthouse", "options": {"num_images": 1}}, format="json"
    )
    task_id = response.json()["id"]
    wait_for(lambda: Task.unscoped_objects.get(pk=task_id).state == "running", timeout=60, what="the task to start")
    worker.send_signal(signal.SIGTERM)  # what a container stop or a scale-down sends
    assert worker.wait(timeout=60) == 0
    task = Task.unscoped_objects.get(pk=task_id)
    assert task.state == "succeeded" and task.images_delivered == 1
    assert "warm shut down requested" in worker.log_path.read_text().lower()


def test_callbacks_default_and_scheduler_roles_start_and_stop_on_sigterm(roles):  # noqa: F811
    callbacks = roles.start("callbacks")
    default = roles.start("default", env={"WORKER_QUEUES": "default,callbacks"})
    scheduler = roles.start("scheduler")
    assert "default, callbacks" in default.log_path.read_text() or "default,callbacks" in default.log_path.read_text()
    for proc in (callbacks, default, scheduler):
        proc.send_signal(signal.SIGTERM)
    for proc in (callbacks, default, scheduler):
        assert proc.wait(timeout=60) == 0, proc.log_path.read_text()

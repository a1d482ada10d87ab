"""/metrics: the Prometheus text format (parsed with prometheus_client.parser), counts that follow
real tasks, access for loopback, METRICS_ALLOWED_NETWORKS and the Bearer METRICS_TOKEN only; a
stranger gets the 404 of an unknown path."""

from __future__ import annotations

import ipaddress
import json
import socket
import time
import urllib.request

import pytest
from django.test import Client
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from generation.models import Task
from tests.conftest import free_port, images_of, poll, problem, submit
from tests.roles import http_get, roles  # noqa: F401 (fixture)


def samples(text: str) -> dict[tuple, float]:
    """{(sample name, sorted labels): value} of an exposition; parsing fails on a malformed one."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(client: Client, **extra) -> dict:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return samples(response.content.decode())


# --- In this process -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_loopback_gets_the_queues_and_requests_by_route_pattern_never_the_path(api, project, settings):
    api.get("/api/v2/task/not-a-task-id")
    api.get("/api/v2/task/another-one")
    found = scrape(Client())  # Django's test client comes from 127.0.0.1
    for queue in settings.RQ_QUEUES:
        assert ("imagegen_queue_depth", (("queue", queue),)) in found
        assert value(found, "imagegen_queue_oldest_seconds", queue=queue) == 0
    route = "api/v2/task/<str:task_id>"
    assert value(found, "imagegen_http_requests_total", route=route, method="GET", status="404") >= 2
    assert value(found, "imagegen_http_request_seconds_count", route=route) >= 2
    labels = {dict(key[1]).get("route") for key in found}
    assert not any(label and "not-a-task-id" in label for label in labels)


@pytest.mark.django_db
def test_queue_depth_and_oldest_age_follow_the_queue(api, settings):
    queue = settings.MODEL_REGISTRY[settings.DEFAULT_MODEL].queue
    before = scrape(Client())
    submit(api)
    submit(api)
    time.sleep(1.1)  # an age to see, not a timing under test
    found = scrape(Client())
    assert value(found, "imagegen_queue_depth", queue=queue) == value(before, "imagegen_queue_depth", queue=queue) + 2
    assert value(found, "imagegen_queue_oldest_seconds", queue=queue) >= 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "extra",
    [
        {"REMOTE_ADDR": "203.0.113.7"},
        {"REMOTE_ADDR": "203.0.113.7", "HTTP_AUTHORIZATION": "Bearer wrong-token"},
        {"REMOTE_ADDR": "10.1.2.3"},  # private, but not an allowed network
        {"REMOTE_ADDR": "203.0.113.7", "HTTP_X_FORWARDED_FOR": "127.0.0.1"},  # no trusted proxy: ignored
    ],
)
def test_a_stranger_gets_the_404_of_an_unknown_path(settings, extra):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    response = Client().get("/metrics", **extra)
    assert response.status_code == 404 and problem(response)["code"] == "not_found"
    assert b"imagegen_" not in response.content


@pytest.mark.django_db
def test_behind_a_trusted_proxy_the_client_address_decides_not_the_proxys(settings):
    settings.BEHIND_TLS_PROXY = True
    response = Client().get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert response.status_code == 404


@pytest.mark.django_db
def test_the_token_and_the_allowed_networks_open_it(settings):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    scrape(Client(), REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token")
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8", "2001:db8::/32"]
    scrape(Client(), REMOTE_ADDR="10.1.2.3")
    scrape(Client(), REMOTE_ADDR="2001:db8::5")
    scrape(Client(), REMOTE_ADDR="::ffff:10.1.2.3")  # IPv4 as a dual-stack socket reports it


@pytest.mark.django_db(transaction=True)
def test_a_task_counts_its_states_images_and_stage_times(api, run_worker):
    def now(name, **labels):
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before = {
        "queued": now("imagegen_tasks_total", model="tiny", state="queued"),
        "running": now("imagegen_tasks_total", model="tiny", state="running"),
        "succeeded": now("imagegen_tasks_total", model="tiny", state="succeeded"),
        "images": now("imagegen_images_total", model="tiny"),
        "generation": now("imagegen_stage_seconds_count", stage="generation"),
        "queue_wait": now("imagegen_stage_seconds_count", stage="queue_wait"),
    }
    task = submit(api)
    run_worker()
    assert len(images_of(poll(api, task["id"]))) == 3
    assert now("imagegen_tasks_total", model="tiny", state="queued") == before["queued"] + 1
    assert now("imagegen_tasks_total", model="tiny", state="running") == before["running"] + 1
    assert now("imagegen_tasks_total", model="tiny", state="succeeded") == before["succeeded"] + 1
    assert now("imagegen_images_total", model="tiny") == before["images"] + 3
    assert now("imagegen_stage_seconds_count", stage="generation") == before["generation"] + 1
    assert now("imagegen_stage_seconds_count", stage="queue_wait") == before["queue_wait"] + 1


@pytest.mark.django_db(transaction=True)  # counted when the transaction commits
def test_a_prompt_blocked_at_submit_counts_as_failed_once(api):
    before = REGISTRY.get_sample_value("imagegen_tasks_total", {"model": "tiny", "state": "failed"}) or 0.0
    task = submit(api, {"text_data": "a decapitated body in the street"})
    assert task["error"]["code"] == "moderation_blocked_prompt"
    assert REGISTRY.get_sample_value("imagegen_tasks_total", {"model": "tiny", "state": "failed"}) == before + 1


# --- Real processes: two workers, two web processes, the exporter ---------------------------------


def _outward_address() -> str | None:
    """This machine's address on a non-loopback interface, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the route
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if ipaddress.ip_address(address).is_loopback else address


def _post_task(base: str, key: str) -> str:
    body = json.dumps({"text_data": "a lighthouse", "options": {"num_images": 1}}).encode()
    request = urllib.request.Request(
        f"{base}/api/v2/task/async",
        data=body,
        headers={"Authorization": f"Token {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["id"]


@pytest.mark.long
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_counts_add_up_over_two_workers_and_two_web_processes(roles, api_key, tmp_path):  # noqa: F811
    env = {"METRICS_DIR": str(tmp_path / "prometheus"), "GENERATION_MODELS": json.dumps({"tiny": {"step_delay": 0.1}})}
    port, exporter_port = free_port(), free_port()
    roles.start("web", env={**env, "PORT": str(port), "WEB_CONCURRENCY": "2"})
    workers = [roles.start("worker", "--no-warm-up", env=env) for _ in range(2)]
    exporter = {**env, "METRICS_PORT": str(exporter_port), "BIND": "0.0.0.0", "METRICS_TOKEN": "t0ken-for-scrapes"}
    roles.start("metrics", env=exporter)
    base = f"http://127.0.0.1:{port}"
    ids = [_post_task(base, api_key) for _ in range(6)]
    deadline = time.monotonic() + 240
    while Task.unscoped_objects.filter(pk__in=ids, state="succeeded").count() < 6:
        assert time.monotonic() < deadline, list(Task.unscoped_objects.filter(pk__in=ids).values("state", "error_code"))
        time.sleep(0.5)
    ran_on = set(Task.unscoped_objects.filter(pk__in=ids).values_list("worker_name", flat=True))
    assert {name.split(":")[1] for name in ran_on} == {str(w.pid) for w in workers}  # both workers ran tasks

    for url in (f"{base}/metrics", f"http://127.0.0.1:{exporter_port}/metrics"):
        status, body = http_get(url)
        assert status == 200
        found = samples(body.decode())
        assert value(found, "imagegen_tasks_total", model="tiny", state="queued") == 6
        assert value(found, "imagegen_tasks_total", model="tiny", state="succeeded") == 6
        assert value(found, "imagegen_images_total", model="tiny") == 6
        assert value(found, "imagegen_stage_seconds_count", stage="generation") == 6
        assert value(found, "imagegen_http_requests_total", route="api/v2/task/async", method="POST", status="200") == 6
        assert value(found, "imagegen_queue_depth", queue="generation-tiny") == 0

    outward = _outward_address()
    if outward is None:
        pytest.skip("no non-loopback address on this machine to play the stranger from")
    status, body = http_get(f"http://{outward}:{exporter_port}/metrics")
    assert status == 404 and b"imagegen_" not in body
    status, body = http_get(
        f"http://{outward}:{exporter_port}/metrics", headers={"Authorization": "Bearer t0ken-for-scrapes"}
    )
    assert status == 200 and b"imagegen_tasks_total" in body

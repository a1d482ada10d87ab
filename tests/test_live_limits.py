"""Against a live gunicorn server on loopback: a schemathesis fuzz run of docs/openapi.yaml (zero
5xx, every error problem+json), a load test that shows one tenant's limits do not touch another
tenant, chunked and oversized bodies, and an access log without secrets."""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import threading
import time
from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.conftest import ROOT, gunicorn
from tests.factories import ProjectFactory, TenantFactory, make_key

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

UNLIMITED = {"rate_limit_per_minute": 1_000_000, "max_queued_tasks": 100_000, "max_sync_waits": 1000}


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, tmp_path_factory):
    """gunicorn (gthread) with the settings `make run` uses, sharing the test database and Redis."""
    log_path = tmp_path_factory.mktemp("live") / "gunicorn.log"
    args = ("--access-logfile", "-", "--timeout", "60", "--graceful-timeout", "2")
    # No generation worker runs here: waits are off (/sync answers 202, /v1/images/generations 429).
    env = {"SYNC_WAIT_SECONDS": "0", "OPENAI_WAIT_SECONDS": "0", "LOG_LEVEL": "INFO"}
    with gunicorn(log_path, threads=8, args=args, **env) as live:
        yield live.base, live


def key_for(**tenant_fields) -> str:
    return make_key(ProjectFactory(tenant=TenantFactory(**tenant_fields)))


# --- Fuzz ------------------------------------------------------------------------------------------
@pytest.mark.long
def test_fuzzing_the_schema_finds_no_5xx_and_only_problem_json_errors(server):
    base, proc = server
    key = key_for(**UNLIMITED)
    schema = schemathesis.openapi.from_path(ROOT / "docs" / "openapi.yaml")
    strategy = st.one_of(
        schema.as_strategy(generation_mode=GenerationMode.POSITIVE),
        schema.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )
    session = requests.Session()
    sent, failures, statuses = [], [], Counter()

    # FUZZ_MAX_EXAMPLES=5000 for a longer, random exploration; the suite runs the same 300 each time.
    examples = int(os.environ.get("FUZZ_MAX_EXAMPLES", "300"))

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=examples == 300,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def fuzz(case):
        if case.operation.path != "/api/v2/image/{token}":
            # The real key, not one generated from the security scheme: the fuzz is for what lies behind it.
            case.headers = {**(case.headers or {}), "Authorization": f"Token {key}"}
        try:
            response = case.call(base_url=base, session=session, timeout=30)
        except (UnicodeError, ValueError, requests.exceptions.InvalidHeader):
            return  # the client cannot send it (e.g. a header outside latin-1): nothing reached the server
        sent.append(case.operation.label)
        statuses[response.status_code] += 1
        content_type = (response.headers.get("content-type") or [""])[0]  # header -> list of values
        if response.status_code >= 500 or (response.status_code >= 400 and not well_formed_error(case, response)):
            failures.append(
                f"{case.method} {case.formatted_path} -> {response.status_code} {content_type}: "
                f"{response.text[:200]}\n  {case.as_curl_command()[:400]}"
            )

    began = time.monotonic()
    fuzz()
    assert not failures, "\n".join(failures[:20])
    assert len(sent) >= examples * 0.8, statuses
    operations = {result.ok().label for result in schema.get_all_operations()}
    assert set(sent) == operations, Counter(sent)  # every operation
    assert any(400 <= status < 500 for status in statuses) and statuses[200] > 0
    print(f"fuzz: {len(sent)} requests in {time.monotonic() - began:.1f} s; statuses {dict(statuses)}")
    # The access log and the application log hold no API key secret.
    assert key.split("_", 2)[2] not in proc.log_path.read_text()


def well_formed_error(case, response) -> bool:
    """problem+json, except on the OpenAI-compatible routes: OpenAI's {"error": {...}} there."""
    return error_shape_ok(case.operation.path, (response.headers.get("content-type") or [""])[0], response.json)


def error_shape_ok(path: str, content_type: str, body) -> bool:
    """``body()`` parses the answer's JSON."""
    if not path.startswith("/v1/"):
        return content_type.startswith("application/problem+json")
    try:
        error = body()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return content_type.startswith("application/json") and {"message", "type", "param", "code"} <= set(error)


# Hostile inputs the generated cases rarely reach, sent to every operation in the schema, with and
# without a key: lone surrogates (JSON escapes, and their bytes percent-encoded), tampered cursors,
# numbers beyond 64 bits, more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS, odd header bytes.
def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


HOSTILE_QUERIES = {
    "field-count bomb": "&".join(f"f{i}=1" for i in range(1_001)),
    "tampered cursor": "cursor=" + _b64("p=notadate"),
    "cursor without a zone": "cursor=" + _b64("o=1&r=1&p=2026-01-01 00:00:00"),
    "garbage cursor": "cursor=garbage!!",
    "64-bit overflow": f"project_id={2**64}&limit={2**64}&from=2026-01-01&to=9999-12-31",
    "negative": "project_id=-1&limit=-5",
    "surrogate bytes": "state=%ED%A0%80&group_by=%ED%A0%80&from=%ED%A0%80&format=%ED%A0%80",
}
SURROGATE_BODIES = [
    '{"text_data": "\\ud800"}',
    '{"text_data": "a", "options": {"neg_text": "\\ud800", "\\udfff": 1}}',
    '{"text_data": "a", "metadata": {"\\ud800": ["\\udfff"]}, "callback_url": "https://e.example/\\ud800"}',
    '{"text_data": "a", "options": {"moderation": "\\ud800", "end_user": "\\udbff"}}',
]
PATH_VALUES = ["00000000-0000-4000-8000-000000000000", str(2**64), "-1", "%ED%A0%80", "x" * 300]


def _hostile_requests(operation) -> list[tuple[str, str, dict, str | bytes | None]]:
    """(method, path with query, headers, body) for one operation."""
    method = operation.method.upper()
    paths = [operation.path]
    for name in re.findall(r"{(\w+)}", operation.path):
        paths = [p.replace("{" + name + "}", value) for p in paths for value in PATH_VALUES]
    requests_ = [(method, f"{path}?{query}", {}, None) for path in paths for query in HOSTILE_QUERIES.values()]
    if method in ("POST", "PUT", "PATCH"):
        path = paths[0]
        json_type = {"Content-Type": "application/json"}
        requests_ += [(method, path, json_type, body.encode()) for body in SURROGATE_BODIES]
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        requests_.append((method, path, form, ("text_data=a&" + HOSTILE_QUERIES["field-count bomb"]).encode()))
        requests_.append((method, path, {**json_type, "Idempotency-Key": "k\x85\xff"}, b'{"text_data": "a"}'))
    return requests_


def test_hostile_inputs_on_every_operation_give_no_5xx_and_only_problem_json(server):
    base, proc = server
    key = key_for(**UNLIMITED)
    schema = schemathesis.openapi.from_path(ROOT / "docs" / "openapi.yaml")
    session = requests.Session()
    failures, statuses, operations = [], Counter(), set()
    log_before = len(proc.log_path.read_text())
    for result in schema.get_all_operations():
        operation = result.ok()
        operations.add(operation.label)
        for method, path, headers, body in _hostile_requests(operation):
            for auth in ({"Authorization": f"Token {key}"}, {}):
                response = session.request(method, base + path, headers={**headers, **auth}, data=body, timeout=30)
                statuses[response.status_code] += 1
                content_type = response.headers.get("content-type", "")
                if response.status_code >= 500 or (
                    response.status_code >= 400
                    and not error_shape_ok(operation.path, content_type, response.json)
                    # refused before routing (field-count bombs): problem+json on every path
                    and not content_type.startswith("application/problem+json")
                ):
                    answer = f"{response.status_code}: {response.text[:200]}"
                    failures.append(f"{method} {path[:120]} key={bool(auth)} -> {answer}")
                response.content.decode("utf-8")  # every answer is valid UTF-8
    assert not failures, "\n".join(failures[:20])
    assert statuses[400] > 0 and len(operations) > 10, statuses
    print(f"hostile inputs: {sum(statuses.values())} requests; statuses {dict(statuses)}")
    log = proc.log_path.read_text()[log_before:]  # what these requests logged: no traceback, no ERROR
    assert "Traceback" not in log and " ERROR " not in log, log[-3000:]


# --- Load ------------------------------------------------------------------------------------------
def hammer(base: str, key: str, count: int, path: str = "/api/v2/tasks", body: dict | None = None) -> list:
    results = []
    session = requests.Session()
    for _ in range(count):
        if body is None:
            response = session.get(base + path, headers={"Authorization": f"Token {key}"}, timeout=30)
        else:
            response = session.post(base + path, json=body, headers={"Authorization": f"Token {key}"}, timeout=30)
        results.append((response.status_code, response.headers, response.content))
    return results


def test_load_a_tenant_over_its_limits_gets_429s_and_another_tenant_is_unaffected(server):
    base, _ = server
    noisy = key_for(rate_limit_per_minute=30, max_queued_tasks=5)
    quiet = key_for(**UNLIMITED)
    outcomes: dict[str, list] = {"noisy": [], "quiet": [], "submits": []}
    jobs = (
        [("noisy", noisy, 40, None)] * 4
        + [("quiet", quiet, 40, None)] * 4
        + [("submits", key_for(**{**UNLIMITED, "max_queued_tasks": 5}), 5, {"text_data": "a red door"})] * 4
    )

    def run(name, key, count, body):
        path = "/api/v2/task/async" if body else "/api/v2/tasks"
        outcomes[name].extend(hammer(base, key, count, path, body))

    threads = [threading.Thread(target=run, args=job) for job in jobs]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    assert elapsed < 25

    # The noisy key: its burst of 30 (and one more every 2 s), then 429s with the headers.
    noisy_ok = [r for r in outcomes["noisy"] if r[0] == 200]
    refused = [r for r in outcomes["noisy"] if r[0] == 429]
    assert len(noisy_ok) + len(refused) == 160
    assert 30 <= len(noisy_ok) <= 30 + elapsed / 2 + 1, (len(noisy_ok), elapsed)
    for _, headers, body in refused:
        assert headers["content-type"] == "application/problem+json"
        assert json.loads(body)["code"] == "rate_limited" and int(headers["Retry-After"]) >= 1
        assert headers["RateLimit-Policy"] == '"per-tenant";q=30;w=60'  # every key of the tenant together
        assert headers["RateLimit"].startswith('"per-tenant";r=0')
    # The quiet tenant, at the same time: every request answered.
    assert [r[0] for r in outcomes["quiet"]] == [200] * 160
    # 20 concurrent submits against a queued limit of 5: exactly 5 get in.
    assert Counter(r[0] for r in outcomes["submits"]) == {200: 5, 429: 15}
    print(f"load: 340 requests in {elapsed:.1f} s")


# --- Bodies ----------------------------------------------------------------------------------------
def post_chunked(base: str, path: str, chunks: list[bytes], key: str) -> tuple[int, http.client.HTTPMessage, bytes]:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    headers = {"Authorization": f"Token {key}", "Content-Type": "application/json"}
    conn.request("POST", path, body=iter(chunks), headers=headers, encode_chunked=True)
    response = conn.getresponse()
    result = response.status, response.headers, response.read()  # headers: any case (HTTP)
    conn.close()
    return result


def test_chunked_bodies_count_against_the_limit_and_work_below_it(server):
    base, _ = server
    key = key_for(**UNLIMITED)
    status, _, body = post_chunked(base, "/api/v2/task/async", [b'{"text_data": ', b'"a red door"}'], key)
    assert status == 200 and json.loads(body)["state"] == "queued"
    big = [b'{"text_data": "', *([b"x" * 8192] * 10), b'"}']  # 80 KB > MAX_REQUEST_BYTES (64 KB)
    status, headers, body = post_chunked(base, "/api/v2/task/async", big, key)
    assert status == 413 and headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["code"] == "payload_too_large"
    # With a Content-Length over the limit, on a route that does not even read bodies.
    response = requests.post(f"{base}/api/v2/tasks", data=b"x" * 70_000, headers={"Authorization": f"Token {key}"})
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"

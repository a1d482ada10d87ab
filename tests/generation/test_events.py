"""GET /api/v2/task/<id>/events and /task/sync on the real ASGI server (gunicorn + uvicorn worker),
with real worker processes: event order and content, reconnects, limits and disconnects."""

from __future__ import annotations

import json
import re
import socket
import time

import httpx
import pytest

from generation import events, services
from generation.models import Task
from tests.conftest import SEED_REQUEST, gunicorn
from tests.factories import ProjectFactory, TenantFactory, make_key

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("events") / "gunicorn.log"
    env = {"SYNC_WAIT_SECONDS": "30", "SYNC_MAX_WAITS_PER_PROCESS": "3", "EVENTS_KEEPALIVE_SECONDS": "1"}
    with gunicorn(log_path, args=("--graceful-timeout", "2"), **env) as live:
        yield live


def auth(**tenant_fields) -> dict[str, str]:
    return {"authorization": f"Token {make_key(ProjectFactory(tenant=TenantFactory(**tenant_fields)))}"}


def read_events(response, *, until: str = "done", limit: int = 50):
    """Parsed server-sent events ``(name, data)`` (comments as ``(":", text)``) up to ``until``."""
    name, data = None, []
    for line in response.iter_lines():
        if line.startswith(":"):
            yield ":", line[1:].strip()
        elif line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            data.append(line.split(":", 1)[1].strip())
        elif line == "" and name:
            yield name, json.loads("\n".join(data))
            if name == until:
                return
            name, data = None, []
            limit -= 1
            assert limit > 0, "too many events"


def unlinked(task: dict) -> dict:
    """The task object without its image links' signed tokens: each answer mints its own (they carry
    their mint time, so a suspension can refuse links minted during it)."""
    text = json.dumps(task)
    return json.loads(re.sub(r'/image/[^"]+"', '/image/<token>"', text))


def events_of(client, base, task_id, headers, **kwargs) -> list:
    with client.stream("GET", f"{base}/api/v2/task/{task_id}/events", headers=headers) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return [e for e in read_events(response, **kwargs) if e[0] != ":"]


def test_events_of_a_task_that_succeeds_then_a_reconnect_gets_done_again(server, start_worker):
    headers = auth()
    with httpx.Client(timeout=60) as client:
        task = client.post(f"{server.base}/api/v2/task/async", json=SEED_REQUEST, headers=headers).json()
        url = f"{server.base}/api/v2/task/{task['id']}/events"
        with client.stream("GET", url, headers=headers) as response:
            stream = read_events(response)
            assert next(stream) == ("queued", {"id": task["id"], "state": "queued", "queue_position": 1})
            assert next(stream) == (":", "keep-alive")  # nothing happens for a second: a comment
            start_worker()
            seen = [e for e in stream if e[0] != ":"]
        names = [name for name, _ in seen]
        assert names[0] == "running" and names[-1] == "done"
        assert set(names[1:-1]) <= {"progress"}  # part 2: the step callback's progress
        assert seen[0][1] == {"id": task["id"], "state": "running"}
        final = client.get(f"{server.base}/api/v2/task/{task['id']}", headers=headers).json()
        assert final["state"] == "succeeded"
        assert unlinked(seen[-1][1]) == unlinked(final)  # the whole task object, as GET returns it
        # A reconnect after the end gets `done` alone, and the stream closes.
        [(name, again)] = events_of(client, server.base, task["id"], headers)
        assert name == "done" and unlinked(again) == unlinked(final)


def test_events_of_a_failure_and_of_a_blocked_prompt(server, start_worker, unwritable_dir):
    headers = auth()
    start_worker(MEDIA_ROOT=unwritable_dir)  # a worker whose storage cannot be written
    with httpx.Client(timeout=60) as client:
        task = client.post(f"{server.base}/api/v2/task/async", json={"text_data": "a red door"}, headers=headers)
        seen = events_of(client, server.base, task.json()["id"], headers)
        assert seen[-1][0] == "done" and seen[-1][1]["state"] == "failed"
        assert seen[-1][1]["error"]["code"] == "storage_failed"
        assert [name for name, _ in seen][:1] in (["queued"], ["running"], ["done"])

        blocked = client.post(
            f"{server.base}/api/v2/task/async", json={"text_data": "gore everywhere"}, headers=headers
        )
        seen = events_of(client, server.base, blocked.json()["id"], headers)
        assert [name for name, _ in seen] == ["done"]
        assert seen[0][1]["error"]["code"] == "moderation_blocked_prompt"


def test_events_of_a_queued_task_that_is_cancelled(server):
    headers = auth()
    with httpx.Client(timeout=30) as client:
        task = client.post(f"{server.base}/api/v2/task/async", json={"text_data": "a red door"}, headers=headers).json()
        with client.stream("GET", f"{server.base}/api/v2/task/{task['id']}/events", headers=headers) as response:
            stream = read_events(response)
            assert next(stream)[0] == "queued"
            cancelled = client.post(f"{server.base}/api/v2/task/{task['id']}/cancel", headers=headers)
            assert cancelled.status_code == 200
            seen = [e for e in stream if e[0] != ":"]
        assert seen == [("done", cancelled.json())]
        assert seen[0][1]["state"] == "cancelled"


def test_events_keep_the_rules_of_get_task(server):
    with httpx.Client(timeout=30) as client:
        mine, theirs = auth(), auth()
        task = client.post(f"{server.base}/api/v2/task/async", json={"text_data": "a red door"}, headers=mine).json()
        url = f"{server.base}/api/v2/task/{task['id']}/events"
        other = client.get(url, headers=theirs)
        assert other.status_code == 404 and other.headers["content-type"] == "application/problem+json"
        assert other.json()["code"] == "not_found"
        assert client.get(url).status_code == 401
        assert client.get(f"{server.base}/api/v2/task/not-a-uuid/events", headers=mine).status_code == 404


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def sync_waiters(redis_conn) -> int:
    return sum(redis_conn.zcard(key) for key in redis_conn.scan_iter("imagegen:sync-waits:*"))


def open_sync(base: str, headers: dict[str, str], body: dict) -> socket.socket:
    """POST /task/sync on a raw socket, not reading the answer (httpx would wait for it)."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=60)
    payload = json.dumps(body).encode()
    lines = [
        "POST /api/v2/task/sync HTTP/1.1",
        f"Host: {host}",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
    return sock


def read_answer(sock: socket.socket) -> tuple[int, dict]:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_a_sync_wait_whose_client_disconnects_frees_its_slot_at_once(server, redis_conn):
    headers = auth(max_sync_waits=1)
    sock = open_sync(server.base, headers, {"text_data": "a red door"})
    wait_for(lambda: sync_waiters(redis_conn) == 1)  # waiting: no worker runs
    sock.close()
    # The client went away without an answer: its slot is free at once, not at the wait's
    # deadline (30 s), so this tenant's next /sync waits again instead of answering 202 at once.
    wait_for(lambda: sync_waiters(redis_conn) == 0, timeout=2)
    with httpx.Client(timeout=1.5) as client, pytest.raises(httpx.ReadTimeout):
        client.post(f"{server.base}/api/v2/task/sync", json={"text_data": "a red door"}, headers=headers)


def test_sync_waits_beyond_the_process_limit_answer_202_at_once(server, redis_conn):
    # The server holds at most 3 waits (SYNC_MAX_WAITS_PER_PROCESS=3); these come from 3 tenants.
    socks = [open_sync(server.base, auth(), {"text_data": "x"}) for _ in range(3)]
    try:
        wait_for(lambda: sync_waiters(redis_conn) == 3)
        with httpx.Client(timeout=30) as client:
            started = time.monotonic()
            response = client.post(f"{server.base}/api/v2/task/sync", json={"text_data": "a red door"}, headers=auth())
            assert time.monotonic() - started < 2
        assert response.status_code == 202
        assert response.headers["location"] == f"/api/v2/task/{response.json()['id']}"
        assert response.json()["state"] == "queued"
    finally:
        for sock in socks:
            sock.close()


def test_every_waiter_of_a_task_is_woken_through_one_subscription(server, redis_conn, start_worker):
    """Two /sync waits with the same Idempotency-Key (one task) are both woken; the web process holds
    one subscription to the events channel however many wait."""
    headers = {**auth(), "Idempotency-Key": "same"}
    first = open_sync(server.base, headers, {"text_data": "a red door"})
    wait_for(lambda: sync_waiters(redis_conn) == 1)
    second = open_sync(server.base, headers, {"text_data": "a red door"})
    wait_for(lambda: sync_waiters(redis_conn) == 2)
    assert redis_conn.pubsub_numsub(events.channel()) == [(events.channel().encode(), 1)]
    start_worker()
    (status_a, task_a), (status_b, task_b) = read_answer(first), read_answer(second)
    assert status_a == status_b == 200
    assert task_a["state"] == "succeeded" and unlinked(task_a) == unlinked(task_b)


# A cancel whose `done` was never published (Redis failed in that request) still ends every stream:
# the row is read at each keep-alive.
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_event_stream_ends_after_a_cancel_whose_done_was_not_published(server):
    headers = auth()
    with httpx.Client(timeout=30) as client:
        task = client.post(f"{server.base}/api/v2/task/async", json={"text_data": "a red door"}, headers=headers)
        task_id = task.json()["id"]
        with client.stream("GET", f"{server.base}/api/v2/task/{task_id}/events", headers=headers) as response:
            stream = read_events(response)
            assert next(stream)[0] == "queued"
            # What TaskCancelView does when its rate-limit call to Redis failed: Redis is fine again.
            services.task_cancel(task=Task.unscoped_objects.get(pk=task_id), redis_down=True)
            assert Task.unscoped_objects.get(pk=task_id).state == "cancelled"
            seen = []
            for event in stream:  # keep-alive every second: the end must come within a few
                seen.append(event[0])
                if event[0] == "done" or seen.count(":") >= 5:
                    break
        assert seen[-1] == "done", seen
        assert "queued" not in seen, seen  # the row read at each keep-alive sends queued again only if it moved


def test_a_queued_stream_is_told_when_its_queue_position_moves(server):
    """The process's sweep (one read of every waited-on task per EVENTS_KEEPALIVE_SECONDS, here 1 s)
    sends `queued` again with the new position when a job ahead of the task leaves the queue."""
    headers = auth()
    with httpx.Client(timeout=30) as client:
        first, second = (
            client.post(f"{server.base}/api/v2/task/async", json={"text_data": f"a red door {i}"}, headers=headers)
            for i in range(2)
        )
        first_id, second_id = first.json()["id"], second.json()["id"]
        with client.stream("GET", f"{server.base}/api/v2/task/{second_id}/events", headers=headers) as response:
            stream = read_events(response)
            name, data = next(stream)
            assert name == "queued" and data["queue_position"] >= 2
            assert client.post(f"{server.base}/api/v2/task/{first_id}/cancel", headers=headers).status_code == 200
            comments = 0
            for event in stream:
                if event[0] != ":":
                    break
                comments += 1
                assert comments < 5, "the position never moved"
        assert event == ("queued", {"id": second_id, "state": "queued", "queue_position": data["queue_position"] - 1})

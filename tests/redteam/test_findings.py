"""Red-team reproductions of the ASGI serving tier, events and cancel (round 2). Each test states the
expected behaviour and is marked xfail(strict=True) while the finding stands: a fix makes it pass,
and strict xfail then fails the suite so the marker is removed with the fix."""

from __future__ import annotations

import httpx
import pytest

from accounts import ratelimit
from generation import services
from generation.models import Task
from generation.serializers import TaskSubmitSerializer
from tests.factories import ProjectFactory, TenantFactory, make_key
from tests.generation.test_events import read_events


@pytest.mark.xfail(
    strict=True,
    reason="RED-1: the GCRA script SETs PX with a fractional millisecond count whenever 60000/limit is not "
    "an integer (limits 7, 450, 700, ...): Redis answers ERR value is not an integer, the limiter fails open "
    "(no rate limit at all) and marks Redis as down, so every submit of that tenant is 503 "
    "(accounts/ratelimit.py GCRA, the SET ... PX line)",
)
@pytest.mark.parametrize("limit", [700, 450, 7])
def test_rate_limit_works_for_limits_that_do_not_divide_a_minute(redis_conn, limit):
    decisions = [ratelimit.hit(api_key_id=4242 + limit, limit=limit, connection=redis_conn) for _ in range(3)]
    assert all(d.allowed for d in decisions)


@pytest.mark.xfail(
    strict=True,
    reason="RED-2: metadata with a lone surrogate (JSON '\\ud800', key or value) passes validation and "
    "PostgreSQL's jsonb refuses it at INSERT: /async and /sync answer 500 internal_error "
    "(generation/serializers.py _json_problem checks only NUL)",
)
@pytest.mark.parametrize("metadata", [{"k": "\ud800"}, {"\udc00": "v"}, {"k": ["a\ud83d"]}])
def test_metadata_with_a_lone_surrogate_is_a_400(metadata):
    serializer = TaskSubmitSerializer(data={"text_data": "a red door", "metadata": metadata})
    assert not serializer.is_valid()


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, tmp_path_factory):
    from tests.conftest import gunicorn

    log_path = tmp_path_factory.mktemp("redteam") / "gunicorn.log"
    with gunicorn(log_path, args=("--graceful-timeout", "2"), EVENTS_KEEPALIVE_SECONDS="1") as live:
        yield live


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.xfail(
    strict=True,
    reason="RED-3: a cancel made while the request's Redis call failed (redis_down, e.g. one rate-limit "
    "error, or RED-1) commits `cancelled` but publishes no `done`; an event stream whose subscription is "
    "healthy re-reads the row only when the subscription is unavailable, so it sends keep-alives forever "
    "and never `done` (generation/api.py _event_stream keep-alive branch; generation/services.py "
    "task_cancel/_notify with redis_available=False)",
)
def test_event_stream_ends_after_a_cancel_whose_done_was_not_published(server):
    headers = {"authorization": f"Token {make_key(ProjectFactory(tenant=TenantFactory()))}"}
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

"""Requests per minute per tenant (all its keys share one budget) and optionally per key within
it: GCRA in Redis, on every authenticated route, with the IETF draft RateLimit headers; fail-open
when Redis is away."""

import re
import time

import pytest
import redis
from rest_framework.test import APIClient

from accounts import ratelimit
from tests.conftest import TEST_REDIS_URL, at_once, problem
from tests.factories import ProjectFactory, TenantFactory, make_key

pytestmark = pytest.mark.django_db

# A fixed id (not uuid4()): test ids must be the same in every xdist process.
NO_SUCH_ID = "00000000-0000-4000-8000-000000000000"

# Every route that takes an API key, with a request that gets past routing (a 4xx from the view is
# fine: the limiter runs before the handler).
ROUTES = [
    ("get", "/api/v2/tasks"),
    ("get", f"/api/v2/task/{NO_SUCH_ID}"),
    ("post", f"/api/v2/task/{NO_SUCH_ID}/cancel"),
    ("post", "/api/v2/task/async"),
    # The async views' DRF half runs on the web's sync pool (another thread): committed rows only.
    pytest.param("post", "/api/v2/task/sync", marks=pytest.mark.django_db(transaction=True)),
    pytest.param("get", f"/api/v2/task/{NO_SUCH_ID}/events", marks=pytest.mark.django_db(transaction=True)),
    ("post", "/api/v2/task/quote"),
    ("get", "/api/v2/usage"),
    ("get", "/api/v2/invoices"),
    ("get", f"/api/v2/invoices/{NO_SUCH_ID}"),
    ("get", f"/api/v2/invoices/{NO_SUCH_ID}/html"),
    ("get", f"/api/v2/task/{NO_SUCH_ID}/callbacks"),
    ("get", "/api/v2/webhook-secret"),
    ("post", "/api/v2/webhook-secret/rotate"),
]


def client_for(tenant=None, key_limit=None, **tenant_fields):
    tenant = tenant or TenantFactory(**tenant_fields)
    client = APIClient()
    raw = make_key(ProjectFactory(tenant=tenant), rate_limit_per_minute=key_limit)
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client


def parse(header: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r";(\w)=(\d+)", header)}


def test_over_the_limit_is_429_with_retry_after_and_ratelimit_headers():
    api = client_for(rate_limit_per_minute=5)
    remaining = []
    for _ in range(5):
        response = api.get("/api/v2/tasks")
        assert response.status_code == 200
        assert response["RateLimit-Policy"] == '"per-tenant";q=5;w=60'
        remaining.append(parse(response["RateLimit"])["r"])
    assert remaining == [4, 3, 2, 1, 0]
    refused = api.get("/api/v2/tasks")
    assert refused.status_code == 429
    body = problem(refused)
    assert body["code"] == "rate_limited" and body["rate_limit"] == "requests_per_minute" and body["limit"] == "5"
    # One request comes back every 60/5 = 12 s.
    assert 1 <= int(refused["Retry-After"]) <= 12
    assert parse(refused["RateLimit"])["r"] == 0 and 0 < parse(refused["RateLimit"])["t"] <= 60
    assert refused["RateLimit-Policy"] == '"per-tenant";q=5;w=60'


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_authenticated_route_counts_and_refuses(method, path):
    api = client_for(rate_limit_per_minute=1)
    first = getattr(api, method)(path, {}, format="json")
    assert first.status_code != 429 and parse(first["RateLimit"])["r"] == 0, (first.status_code, first.content)
    second = getattr(api, method)(path, {}, format="json")
    assert second.status_code == 429 and problem(second)["code"] == "rate_limited"
    assert second["Retry-After"]


def test_keys_of_a_tenant_share_its_quota_and_other_tenants_are_unaffected(settings):
    settings.RATE_LIMIT_PER_MINUTE = 3
    tenant = TenantFactory()
    a1, a2, other = client_for(tenant), client_for(tenant), client_for()
    assert [a1.get("/api/v2/tasks").status_code for _ in range(3)] == [200, 200, 200]
    refused = a2.get("/api/v2/tasks")  # another key of the same tenant: the same, spent budget
    assert refused.status_code == 429 and "all its API keys together" in problem(refused)["detail"]
    assert [other.get("/api/v2/tasks").status_code for _ in range(3)] == [200, 200, 200]


def test_ten_keys_of_one_tenant_share_one_rate_budget(settings):
    """More keys never mean more capacity: ten keys, 3 requests a minute between them. (A low
    limit: one request comes back only every 20 s, far longer than these 20 requests take.)"""
    settings.RATE_LIMIT_PER_MINUTE = 3
    tenant = TenantFactory()
    keys = [client_for(tenant) for _ in range(10)]
    statuses = [keys[i % 10].get("/api/v2/tasks").status_code for i in range(20)]
    assert statuses == [200] * 3 + [429] * 17
    assert client_for().get("/api/v2/tasks").status_code == 200  # another tenant's budget is its own


def test_a_keys_own_limit_applies_within_the_tenants(settings):
    settings.RATE_LIMIT_PER_MINUTE = 5
    tenant = TenantFactory()
    limited, free = client_for(tenant, key_limit=2), client_for(tenant)
    first = limited.get("/api/v2/tasks")
    assert first["RateLimit-Policy"] == '"per-tenant";q=5;w=60, "per-key";q=2;w=60'
    assert first["RateLimit"].startswith('"per-tenant";r=4;') and '"per-key";r=1;' in first["RateLimit"]
    refused = [limited.get("/api/v2/tasks") for _ in range(2)][-1]
    assert refused.status_code == 429 and "with this API key" in problem(refused)["detail"]
    assert problem(refused)["limit"] == "2"
    # The refused request spent nothing of the tenant's budget: 2 used, 3 left for the other key.
    assert [free.get("/api/v2/tasks").status_code for _ in range(4)] == [200, 200, 200, 429]
    # A key's own limit above the tenant's never raises it.
    generous = client_for(TenantFactory(), key_limit=100)
    assert [generous.get("/api/v2/tasks").status_code for _ in range(6)] == [200] * 5 + [429]


def test_the_tenants_own_limit_replaces_the_default(settings):
    settings.RATE_LIMIT_PER_MINUTE = 2
    api = client_for(rate_limit_per_minute=4)
    assert [api.get("/api/v2/tasks").status_code for _ in range(5)] == [200, 200, 200, 200, 429]


def test_unauthenticated_requests_are_401_not_counted():
    response = APIClient().get("/api/v2/tasks")
    assert response.status_code == 401 and "RateLimit" not in response


def test_redis_down_lets_requests_through_without_headers(redis_down):
    """Fail open: polling and reads keep working through a Redis outage."""
    api = client_for(rate_limit_per_minute=1)
    for _ in range(3):
        response = api.get("/api/v2/tasks")
        assert response.status_code == 200 and "RateLimit" not in response


# --- The algorithm, against Redis itself -------------------------------------------------------
@pytest.fixture
def conn():
    connection = redis.Redis.from_url(TEST_REDIS_URL)
    yield connection
    connection.close()


def test_gcra_refills_one_request_per_interval(conn):
    # 60 a minute: a burst of all 60, then one a second.
    bucket = [ratelimit.Bucket(ratelimit.TENANT, "gcra-1", 60)]
    decisions = [ratelimit.hit(buckets=bucket, connection=conn) for _ in range(61)]
    assert all(d.allowed for d in decisions[:60]) and not decisions[60].allowed
    assert decisions[59].remaining == 0 and decisions[60].retry_after == 1
    time.sleep(1.1)
    assert ratelimit.hit(buckets=bucket, connection=conn).allowed
    assert not ratelimit.hit(buckets=bucket, connection=conn).allowed
    # The state expires once the quota is full again: an idle tenant costs nothing.
    assert 0 < conn.pttl(bucket[0].redis_key) <= 60_000


def test_gcra_is_atomic_under_concurrent_requests(conn):
    def fire():
        with redis.Redis.from_url(TEST_REDIS_URL) as local:
            bucket = [ratelimit.Bucket(ratelimit.TENANT, "gcra-2", 10)]
            return [ratelimit.hit(buckets=bucket, connection=local).allowed for _ in range(10)]

    allowed = [one for results in at_once([fire] * 16) for one in results]
    assert len(allowed) == 160 and sum(allowed) == 10  # one comes back only every 6 s


# A limit that does not divide a minute gives a fractional interval; Redis's PX wants whole ms.
@pytest.mark.parametrize("limit", [700, 450, 7])
def test_rate_limit_works_for_limits_that_do_not_divide_a_minute(redis_conn, limit):
    bucket = [ratelimit.Bucket(ratelimit.KEY_POLICY, 4242 + limit, limit)]
    decisions = [ratelimit.hit(buckets=bucket, connection=redis_conn) for _ in range(3)]
    assert all(d.allowed for d in decisions)

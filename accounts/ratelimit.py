"""Requests per minute per tenant (all its API keys share one budget, so more keys never mean more
capacity), and optionally per key within it: GCRA (the generic cell rate algorithm) in one Redis
Lua script, so every web process and thread shares one atomic limit, on Redis's own clock.

A quota is ``limit`` requests per 60 s, and may be spent all at once (burst = limit); after that one
request is let through every 60/limit seconds. A request is counted against every bucket that
applies to it (the tenant's, and the key's when the key has its own ``rate_limit_per_minute``) in
one script call: it is let through only when all of them allow it, and a refused request spends
nothing. A Redis key per bucket holds the "theoretical arrival time" and expires when the bucket is
full again, so an idle tenant costs nothing.

Answers carry the IETF draft (draft-ietf-httpapi-ratelimit-headers) fields, one item per bucket::

    RateLimit-Policy: "per-tenant";q=600;w=60, "per-key";q=100;w=60
    RateLimit: "per-tenant";r=599;t=1, "per-key";r=99;t=1

``r`` is what is left now, ``t`` the seconds until the quota is full again. A refused request is
429 ``rate_limited`` with ``Retry-After`` (seconds until one request is allowed) and the same two.

Redis unreachable: the limiter fails open (no limit, no headers, a warning in the log), so polling
and reads keep working through a Redis outage; submits answer 503 then anyway, because Redis
cannot take their job, and the queued/running limits are counted in the database.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from imgplatform import redisconn
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60
TENANT, KEY_POLICY = "per-tenant", "per-key"
# How a refusal names whose budget ran out.
WHO = {TENANT: "for this account (all its API keys together)", KEY_POLICY: "with this API key"}

# KEYS[i]: one bucket's TAT (ms). ARGV[2i-1]: its emission interval (ms), ARGV[2i]: its burst.
# Returns {allowed, then per bucket: ms until it is full again, ms until it allows one request}.
# Nothing is written unless every bucket allows the request.
GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local allowed = 1
local out = {}
local new_tats = {}
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i - 1])
  local tolerance = interval * tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  local allow_at = new_tat - tolerance
  new_tats[i] = new_tat
  if allow_at > now then
    allowed = 0
    out[2 * i - 1] = tat - now
    out[2 * i] = allow_at - now
  else
    out[2 * i - 1] = new_tat - now
    out[2 * i] = 0
  end
end
if allowed == 1 then
  for i = 1, #KEYS do
    -- PX takes whole milliseconds; the interval (60000 / limit) may be fractional
    redis.call('SET', KEYS[i], new_tats[i], 'PX', math.ceil(math.max(1, new_tats[i] - now)))
  end
end
table.insert(out, 1, allowed)
return out
"""


@dataclass(frozen=True)
class Bucket:
    """One budget a request counts against: ``policy`` (per-tenant or per-key), whose, how many."""

    policy: str
    ident: str | int
    limit: int

    @property
    def redis_key(self) -> str:
        kind = "tenant" if self.policy == TENANT else "key"
        return f"imagegen:ratelimit:{kind}:{self.ident}"


@dataclass(frozen=True)
class BucketState:
    policy: str
    limit: int
    remaining: int
    reset: int  # seconds until the quota is full again
    retry_after: int  # seconds until one request is allowed (0 when it allows one now)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    buckets: tuple[BucketState, ...]

    @property
    def binding(self) -> BucketState:
        """The bucket that decides: the one that refused for longest, else the one with least left."""
        if not self.allowed:
            return max(self.buckets, key=lambda b: b.retry_after)
        return min(self.buckets, key=lambda b: b.remaining)

    @property
    def policy(self) -> str:
        return self.binding.policy

    @property
    def limit(self) -> int:
        return self.binding.limit

    @property
    def remaining(self) -> int:
        return self.binding.remaining

    @property
    def reset(self) -> int:
        return self.binding.reset

    @property
    def retry_after(self) -> int:
        return self.binding.retry_after

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Policy": ", ".join(f'"{b.policy}";q={b.limit};w={WINDOW_SECONDS}' for b in self.buckets),
            "RateLimit": ", ".join(f'"{b.policy}";r={b.remaining};t={b.reset}' for b in self.buckets),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


def limit_for(tenant) -> int:
    return tenant.rate_limit_per_minute or settings.RATE_LIMIT_PER_MINUTE


def buckets_for(client) -> list[Bucket]:
    """The tenant's bucket, and the key's own when it has a limit of its own."""
    buckets = [Bucket(TENANT, client.tenant.pk, limit_for(client.tenant))]
    if client.api_key.rate_limit_per_minute:
        buckets.append(Bucket(KEY_POLICY, client.api_key.pk, client.api_key.rate_limit_per_minute))
    return buckets


def hit(*, buckets: Sequence[Bucket], connection=None) -> Decision:
    """Count one request against every bucket in ``buckets``. Raises RedisError."""
    if connection is None:
        connection = redisconn.connection("default")
    intervals = [WINDOW_SECONDS * 1000 / b.limit for b in buckets]
    args = [value for b, interval in zip(buckets, intervals, strict=True) for value in (interval, b.limit)]
    allowed, *raw = connection.register_script(GCRA)(keys=[b.redis_key for b in buckets], args=args)
    states = []
    for i, (bucket, interval) in enumerate(zip(buckets, intervals, strict=True)):
        used_ms, wait_ms = float(raw[2 * i]), float(raw[2 * i + 1])
        tolerance = interval * bucket.limit
        states.append(
            BucketState(
                policy=bucket.policy,
                limit=bucket.limit,
                remaining=0 if wait_ms > 0 else max(0, math.floor((tolerance - used_ms) / interval + 1e-9)),
                reset=math.ceil(used_ms / 1000),
                retry_after=max(1, math.ceil(wait_ms / 1000)) if wait_ms > 0 else 0,
            )
        )
    return Decision(allowed=bool(allowed), buckets=tuple(states))


def check(client) -> Decision | None:
    """The decision for one request of an authenticated ``client``; None when Redis is away
    (fail open, see the module docstring)."""
    try:
        return hit(buckets=buckets_for(client))
    except RedisError as exc:
        log.warning("rate limiter unavailable, request let through: %s", type(exc).__name__)
        return None


# --- OpenAPI -----------------------------------------------------------------------------------
HEADERS = {
    "RateLimit-Policy": {
        "description": "The request quotas that apply: the tenant's, shared by all its keys, and the key's own "
        'when it has one, e.g. `"per-tenant";q=600;w=60, "per-key";q=100;w=60` (600 and 100 per 60 s) '
        "(IETF draft-ietf-httpapi-ratelimit-headers).",
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "description": 'What is left of each quota, e.g. `"per-tenant";r=599;t=1`: r requests left, full again '
        "in t seconds. Absent while the limiter cannot reach Redis.",
        "schema": {"type": "string"},
    },
    "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}},
}


def postprocess_schema(result, generator, request, public):
    """drf-spectacular hook: every authenticated operation declares the RateLimit headers on its
    answers and a 429 ``rate_limited`` problem with Retry-After."""
    components = result.setdefault("components", {})
    components.setdefault("headers", {}).update(HEADERS)
    refs = {name: {"$ref": f"#/components/headers/{name}"} for name in HEADERS}
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict) or not any("ApiKey" in s for s in operation.get("security", [])):
                continue
            responses = operation.setdefault("responses", {})
            responses.setdefault(
                "429",
                {
                    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
                    "description": "rate_limited: too many requests for this tenant (all its keys together) or "
                    "this API key, or too many queued tasks for this tenant (application/problem+json)",
                },
            )
            for status, response in responses.items():
                if status.startswith("2") or status == "429":
                    wanted = ["RateLimit-Policy", "RateLimit"] + (["Retry-After"] if status == "429" else [])
                    response.setdefault("headers", {}).update({name: refs[name] for name in wanted})
    # Every error body is problem+json, whatever drf-spectacular assumed from a view's renderers,
    # and every operation that takes a body can answer 413 (imgplatform.middleware).
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict):
                continue
            responses = operation.get("responses", {})
            if "requestBody" in operation:
                responses.setdefault(
                    "413", {"content": problem, "description": "payload_too_large (application/problem+json)"}
                )
            for status, response in responses.items():
                if status[0] in "45" and response.get("content"):
                    response["content"] = dict(problem)
    return result

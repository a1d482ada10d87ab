"""Requests per minute per API key: GCRA (the generic cell rate algorithm) in one Redis Lua script,
so every web process and thread shares one atomic limit per key, on Redis's own clock.

The quota is ``limit`` requests per 60 s, and a key may spend all of it at once (burst = limit);
after that one request is let through every 60/limit seconds. A Redis key per API key holds the
"theoretical arrival time" and expires when the key is back to a full quota, so an idle key costs
nothing.

Answers carry the IETF draft (draft-ietf-httpapi-ratelimit-headers) fields::

    RateLimit-Policy: "per-key";q=600;w=60
    RateLimit: "per-key";r=599;t=1

``r`` is what is left now, ``t`` the seconds until the quota is full again. A refused request is
429 ``rate_limited`` with ``Retry-After`` (seconds until one request is allowed) and the same two.

Redis unreachable: the limiter fails open (no limit, no headers, a warning in the log), so polling
and reads keep working through a Redis outage; submits answer 503 then anyway, because Redis
cannot take their job, and the queued/running limits are counted in the database.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from django.conf import settings
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

POLICY = "per-key"
WINDOW_SECONDS = 60
KEY = "imagegen:ratelimit:key:{api_key_id}"

# KEYS[1]: the API key's TAT (ms). ARGV[1]: emission interval (ms), ARGV[2]: burst (requests).
# Returns {allowed, ms until the quota is full again, ms until one request is allowed}.
GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = interval * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - tolerance
if allow_at > now then
  return {0, tat - now, allow_at - now}
end
-- PX takes whole milliseconds; the interval (60000 / limit) may be fractional
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(math.max(1, new_tat - now)))
return {1, new_tat - now, 0}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # seconds until the quota is full again
    retry_after: int  # seconds until one request is allowed (0 when allowed)

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Policy": f'"{POLICY}";q={self.limit};w={WINDOW_SECONDS}',
            "RateLimit": f'"{POLICY}";r={self.remaining};t={self.reset}',
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


def limit_for(tenant) -> int:
    return tenant.rate_limit_per_minute or settings.RATE_LIMIT_PER_MINUTE


def hit(*, api_key_id: int, limit: int, connection=None) -> Decision:
    """Count one request of ``api_key_id`` against ``limit`` per minute. Raises RedisError."""
    if connection is None:
        from generation.queues import connection as default_connection

        connection = default_connection()
    interval = WINDOW_SECONDS * 1000 / limit
    tolerance = interval * limit
    allowed, used_ms, wait_ms = connection.register_script(GCRA)(
        keys=[KEY.format(api_key_id=api_key_id)], args=[interval, limit]
    )
    used_ms, wait_ms = float(used_ms), float(wait_ms)
    remaining = max(0, math.floor((tolerance - used_ms) / interval + 1e-9)) if allowed else 0
    return Decision(
        allowed=bool(allowed),
        limit=limit,
        remaining=remaining,
        reset=math.ceil(used_ms / 1000),
        retry_after=max(1, math.ceil(wait_ms / 1000)) if not allowed else 0,
    )


def check(client) -> Decision | None:
    """The decision for one request of an authenticated ``client``; None when Redis is away
    (fail open, see the module docstring)."""
    try:
        return hit(api_key_id=client.api_key.pk, limit=limit_for(client.tenant))
    except RedisError as exc:
        log.warning("rate limiter unavailable, request let through: %s", type(exc).__name__)
        return None


# --- OpenAPI -----------------------------------------------------------------------------------
HEADERS = {
    "RateLimit-Policy": {
        "description": 'The request quota of this API key, e.g. `"per-key";q=600;w=60` (600 per 60 s) '
        "(IETF draft-ietf-httpapi-ratelimit-headers).",
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "description": 'What is left of the quota, e.g. `"per-key";r=599;t=1`: r requests left, full again '
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
                    "description": "rate_limited: too many requests for this API key, or too many queued tasks "
                    "for this tenant (application/problem+json)",
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

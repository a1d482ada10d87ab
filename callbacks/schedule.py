"""When the next attempt is due: the Standard Webhooks retry schedule, jitter and Retry-After.
Pure functions (no Django), so the production schedule is tested exactly."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Seconds before each attempt, counted from the end of the one before: immediately, 5 s, 5 min,
# 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h. Ten attempts over about three days.
STANDARD_SCHEDULE: tuple[float, ...] = (
    0,
    5,
    5 * 60,
    30 * 60,
    2 * 3600,
    5 * 3600,
    10 * 3600,
    14 * 3600,
    20 * 3600,
    24 * 3600,
)


def retry_delay(
    *, attempts_made: int, schedule: Sequence[float], jitter: float, rng: random.Random | None = None
) -> float | None:
    """Seconds to wait before attempt ``attempts_made + 1``, or None when the schedule is used up.
    A non-zero delay is spread by +-``jitter`` (a fraction) so that receivers that failed
    together are not retried together."""
    if attempts_made >= len(schedule):
        return None
    base = float(schedule[attempts_made])
    if base <= 0 or jitter <= 0:
        return max(base, 0.0)
    return base * (rng or random).uniform(1 - jitter, 1 + jitter)


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """A Retry-After header (delay-seconds or an HTTP date) as seconds from ``now``; None if absent
    or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


def next_delay(
    *,
    attempts_made: int,
    schedule: Sequence[float],
    jitter: float,
    retry_after: float | None = None,
    retry_after_max: float = 24 * 3600,
    rng: random.Random | None = None,
) -> float | None:
    """The delay before the next attempt: the schedule's, or longer if the receiver asked for more
    time with Retry-After (capped at ``retry_after_max``). None when no attempt is left."""
    delay = retry_delay(attempts_made=attempts_made, schedule=schedule, jitter=jitter, rng=rng)
    if delay is None:
        return None
    if retry_after is not None:
        delay = max(delay, min(retry_after, retry_after_max))
    return delay

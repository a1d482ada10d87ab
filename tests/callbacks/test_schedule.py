"""The retry schedule as pure functions: production uses exactly the Standard Webhooks delays."""

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from django.conf import settings

from callbacks.schedule import STANDARD_SCHEDULE, next_delay, parse_retry_after, retry_delay

MINUTE, HOUR = 60, 3600
# "immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h"
ISSUE_SCHEDULE = [0, 5, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 14 * HOUR, 20 * HOUR, 24 * HOUR]


def test_production_schedule_is_exactly_the_standard_one():
    assert list(STANDARD_SCHEDULE) == ISSUE_SCHEDULE
    assert list(settings.CALLBACK_RETRY_SCHEDULE) == ISSUE_SCHEDULE  # the default of the setting
    assert settings.CALLBACK_TIMEOUT == 15.0
    delays = [retry_delay(attempts_made=n, schedule=STANDARD_SCHEDULE, jitter=0) for n in range(11)]
    assert delays == ISSUE_SCHEDULE + [None]  # ten attempts, then none


def test_jitter_spreads_delays_within_bounds_and_never_delays_the_first_attempt():
    rng = random.Random(7)
    for n in range(1, 10):
        samples = [retry_delay(attempts_made=n, schedule=STANDARD_SCHEDULE, jitter=0.1, rng=rng) for _ in range(200)]
        base = ISSUE_SCHEDULE[n]
        assert all(base * 0.9 <= s <= base * 1.1 for s in samples)
        assert len({round(s, 6) for s in samples}) > 100  # really spread
    assert retry_delay(attempts_made=0, schedule=STANDARD_SCHEDULE, jitter=0.1, rng=rng) == 0


def test_retry_after_in_seconds_or_as_a_date():
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now=now) == 120
    assert parse_retry_after(format_datetime(now + timedelta(minutes=10), usegmt=True), now=now) == 600
    assert parse_retry_after(format_datetime(now - timedelta(minutes=10), usegmt=True), now=now) == 0
    for bad in (None, "", "soon", "-5", "1.5"):
        assert parse_retry_after(bad, now=now) is None


def test_retry_after_can_only_lengthen_the_wait_and_is_capped():
    common = dict(schedule=STANDARD_SCHEDULE, jitter=0)
    assert next_delay(attempts_made=1, retry_after=120, **common) == 120  # schedule says 5 s
    assert next_delay(attempts_made=2, retry_after=1, **common) == 300  # schedule says 5 min
    assert next_delay(attempts_made=1, retry_after=10**9, retry_after_max=86400, **common) == 86400
    assert next_delay(attempts_made=10, retry_after=5, **common) is None  # nothing left to retry

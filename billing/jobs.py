"""Scheduled billing jobs (registered with rq's cron scheduler by `manage.py run_scheduler`)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from billing.invoicing import billing_period_close
from billing.services import period_of

# 01:00 UTC on the 1st: the month before is closed.
CLOSE_PERIOD_CRON = "0 1 1 * *"


def close_previous_period(now=None) -> str:
    now = now or timezone.now()
    previous = (period_of(now) - timedelta(days=1)).replace(day=1)
    result = billing_period_close(period=previous, now=now)
    return f"{previous:%Y-%m}: {result.created} created, {result.rebuilt} rebuilt, {result.unchanged} unchanged"

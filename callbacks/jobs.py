"""Jobs run by the callback worker (``manage.py run_callback_worker``)."""

from __future__ import annotations

from callbacks import services


def deliver(delivery_id: int, number: int, trigger: str = "schedule") -> str:
    """Make attempt ``number`` of a delivery (skipped if that attempt was already made)."""
    return services.callback_attempt_run(delivery_id=delivery_id, number=number, trigger=trigger)

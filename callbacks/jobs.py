"""Jobs run by the callback worker (``manage.py run_callback_worker``)."""

from __future__ import annotations

from functools import partial

from callbacks import services, worker


def deliver(delivery_id: int, number: int, trigger: str = "schedule") -> str:
    """Make attempt ``number`` of a delivery (skipped if that attempt was already made). In a
    callback worker the attempt runs on its pool (``callbacks.worker.Dispatcher``: concurrent, a
    few at a time per receiver) and this job ends at once; elsewhere it runs here."""
    attempt = partial(services.callback_attempt_run, delivery_id=delivery_id, number=number, trigger=trigger)
    dispatcher = worker.current_dispatcher()
    if dispatcher is None:
        return attempt()
    receiver = services.receiver_of(delivery_id)
    dispatcher.submit(receiver, attempt)
    return f"attempt {number} of delivery {delivery_id} handed to the pool ({receiver})"

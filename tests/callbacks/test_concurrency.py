"""One slow receiver cannot stall everyone's callbacks (issue 19): the callback worker makes
attempts concurrently on a pool, at most CALLBACK_MAX_PER_RECEIVER at once per receiver. A real
callback worker (burst), two real HTTP receivers on loopback; the order of arrivals, not a clock
budget, is asserted."""

from __future__ import annotations

import pytest

from callbacks import services
from callbacks.models import CallbackDelivery
from tests.callbacks.conftest import Reply
from tests.callbacks.test_delivery import finished_task
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db(transaction=True)
SLOW = 2.0  # seconds the slow receiver takes to answer each callback


def test_a_slow_receiver_does_not_delay_a_fast_ones_callbacks(
    callback_settings, receiver, other_receiver, run_callback_worker
):
    callback_settings.CALLBACK_CONCURRENCY = 4
    callback_settings.CALLBACK_MAX_PER_RECEIVER = 2
    slow, fast = receiver, other_receiver
    slow.default = Reply(delay=SLOW)
    project = ProjectFactory()
    # The slow receiver's callbacks are first in the queue.
    slow_tasks = [finished_task(project, slow.url) for _ in range(4)]
    fast_tasks = [finished_task(ProjectFactory(), fast.url) for _ in range(4)]
    for task in slow_tasks + fast_tasks:
        services.callback_schedule(task_id=task.pk)
    run_callback_worker(timeout=60)

    assert len(slow.requests) == 4 and len(fast.requests) == 4
    first_slow_answer = min(r.at for r in slow.requests) + SLOW
    # Every fast callback arrived before the slow receiver had answered its first one ...
    assert max(r.at for r in fast.requests) < first_slow_answer
    # ... and the slow receiver never had more than its limit of attempts at once.
    arrivals = sorted(r.at for r in slow.requests)
    for i, at in enumerate(arrivals):
        overlapping = sum(1 for other in arrivals[:i] if other + SLOW > at + 0.05)
        assert overlapping < 2, arrivals
    assert set(CallbackDelivery.unscoped_objects.values_list("status", flat=True)) == {"succeeded"}

"""The end of a task, announced once, to the apps above generation: billing charges or releases,
callbacks schedules the message. Generation imports neither; they subscribe in their
``AppConfig.ready()`` (billing/apps.py, callbacks/apps.py).

``task_ended`` is sent inside the transaction that moves a task to a final state (succeeded,
failed, cancelled), right after the row moved, once per end (a task an operator retries ends
again, and is announced again). Receivers get the ``task`` (its final row) and ``end``:

- what a receiver writes in the database commits with the end, or not at all (the charge of a
  succeeded task, the release of a hold);
- what must wait for the commit (a message, a job in Redis) it hands to ``end.after_commit``.
  Generation runs that work once the end is committed, in the order it was handed over, before it
  publishes ``done`` to the task's waiters, with ``redis_available``: False when Redis has just
  failed for this end (the submit's enqueue, a cancel's flag), so that nothing waits on it twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.dispatch import Signal

task_ended = Signal()

# work(redis_available=...) after the end's commit.
AfterCommit = Callable[..., None]


class TaskEnd:
    """One end of one task, as its receivers see it."""

    def __init__(self, task: Any):
        self.task = task
        self.after_commit_work: list[AfterCommit] = []

    def after_commit(self, work: AfterCommit) -> None:
        """Run ``work(redis_available=...)`` once the end is committed (never if it rolls back)."""
        self.after_commit_work.append(work)


def announce_task_end(task: Any) -> TaskEnd:
    """Inside the transaction that ended ``task``: tell every receiver of ``task_ended``."""
    end = TaskEnd(task)
    task_ended.send(sender=type(task), task=task, end=end)
    return end

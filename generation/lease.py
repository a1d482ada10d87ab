"""The lease a running task holds on its row, renewed by a thread of the worker while the job runs.

A generation can take minutes (a big model, six images, a slow GPU); the lease says "this run is
alive", not "this run is quick". Only a run that stops renewing (its process was killed, hung, or
lost the database) lets the lease expire, and only then does the reconciler take the task back."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connections

from generation import services

log = logging.getLogger(__name__)


class LeaseKeeper(threading.Thread):
    """Renews the lease of one run every ``interval`` seconds until stopped, or until the renewal
    finds the run superseded (``lost`` is then set; the run's finish will change nothing)."""

    def __init__(self, *, task_id, attempt: int, interval: float):
        super().__init__(name=f"lease-{task_id}", daemon=True)
        self.task_id, self.attempt, self.interval = task_id, attempt, interval
        self.stopped = threading.Event()
        self.lost = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.interval):
                try:
                    renewed = services.task_lease_renew(task_id=self.task_id, attempt=self.attempt)
                except Exception:  # the database is away: try again; if it stays away the lease expires
                    log.exception("could not renew the lease of task %s", self.task_id)
                    connections.close_all()
                    continue
                if not renewed:
                    self.lost.set()
                    log.warning(
                        "task %s: attempt %s no longer holds its lease (taken back or finished); its result "
                        "will be discarded",
                        self.task_id,
                        self.attempt,
                    )
                    return
        finally:
            connections.close_all()  # this thread's own connections

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=10)


@contextmanager
def lease_kept(task) -> Iterator[LeaseKeeper]:
    """Keep the lease of ``task``'s current run (the one ``task_start`` just began) while the block
    runs."""
    keeper = LeaseKeeper(task_id=task.pk, attempt=task.attempts, interval=settings.GENERATION_LEASE_SECONDS / 3)
    keeper.start()
    try:
        yield keeper
    finally:
        keeper.stop()

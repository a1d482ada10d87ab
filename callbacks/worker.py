"""The callback worker: rq's in-process worker on the "callbacks" queue, with rq's scheduler (the
retry schedule lives in Redis) and a sweep that puts back from the database whatever Redis lost."""

from __future__ import annotations

import logging
import os
import socket
import threading

from django.conf import settings
from django.db import close_old_connections, connections
from rq.worker import SimpleWorker

from callbacks import queues
from callbacks.services import callbacks_recover

log = logging.getLogger(__name__)


class CallbackWorker(SimpleWorker):
    """Jobs run in this process (no fork per job), database connections checked around every job
    as Django does around every request."""

    def execute_job(self, job, queue):
        close_old_connections()
        try:
            return super().execute_job(job, queue)
        finally:
            close_old_connections()


def recover_safely() -> dict[str, int]:
    try:
        return callbacks_recover()
    except Exception:  # the sweep must never stop the worker; the next one tries again
        log.exception("callback recovery sweep failed")
        return {}
    finally:
        close_old_connections()


class RecoverySweeper(threading.Thread):
    """Runs :func:`callbacks_recover` every ``interval`` seconds until stopped."""

    def __init__(self, interval: float):
        super().__init__(name="callback-recovery", daemon=True)
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            recover_safely()
        connections.close_all()

    def stop(self) -> None:
        self.stopped.set()


def run(*, burst: bool = False, name: str | None = None) -> bool:
    """Sweep once (a restart or a Redis flush loses nothing), then work the queue with the
    scheduler; a long-running worker sweeps again every CALLBACK_RECOVER_INTERVAL seconds."""
    recover_safely()
    connections.close_all()  # rq forks its scheduler process next: no connection to share
    queue = queues.get_worker_queue()
    worker = CallbackWorker(
        [queue], connection=queue.connection, name=name or f"{socket.gethostname()}:{os.getpid()}:callbacks"
    )
    sweeper = None
    if not burst:
        sweeper = RecoverySweeper(settings.CALLBACK_RECOVER_INTERVAL)
        sweeper.start()
    try:
        return worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
    finally:
        if sweeper is not None:
            sweeper.stop()

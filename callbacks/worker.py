"""The callback worker: rq's in-process worker on the "callbacks" queue, with rq's scheduler (the
retry schedule lives in Redis) and a sweep that puts back from the database whatever Redis lost."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections, connections
from imgplatform.rqworker import DjangoWorker

from callbacks import queues
from callbacks.services import callbacks_recover

log = logging.getLogger(__name__)


class CallbackWorker(DjangoWorker):
    """The callback queue's worker: jobs run in this process, connections checked around each."""


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


class Dispatcher:
    """Runs callback attempts on a thread pool (``CALLBACK_CONCURRENCY`` threads), at most
    ``CALLBACK_MAX_PER_RECEIVER`` at once per receiver; the others of a busy receiver wait in its
    own line, in order, without holding a thread. So one slow receiver (each attempt allowed
    ``CALLBACK_TIMEOUT``) delays only its own callbacks. The delivery row stays the truth: an
    attempt is claimed on it when it starts, and one that waited here when the process died is
    pending and overdue, and the recovery sweep enqueues it again."""

    def __init__(self, *, threads: int, per_receiver: int):
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="callback-attempt")
        self.per_receiver = per_receiver
        self.lock = threading.Condition()
        self.in_flight: dict[str, int] = defaultdict(int)
        self.waiting: dict[str, deque] = defaultdict(deque)
        self.pending = 0  # in flight or waiting

    def submit(self, receiver: str, attempt: Callable[[], object]) -> None:
        with self.lock:
            self.pending += 1
            if self.in_flight[receiver] >= self.per_receiver:
                self.waiting[receiver].append(attempt)
                return
            self.in_flight[receiver] += 1
        self.pool.submit(self._run, receiver, attempt)

    def _run(self, receiver: str, attempt: Callable[[], object]) -> None:
        try:
            attempt()
        except Exception:  # the attempt logs its own failures; this keeps the pool going
            log.exception("callback attempt to %s failed", receiver)
        finally:
            connections.close_all()  # this thread's own connections
            with self.lock:
                self.pending -= 1
                following = self.waiting[receiver].popleft() if self.waiting[receiver] else None
                if following is None:
                    self.in_flight[receiver] -= 1
                self.lock.notify_all()
            if following is not None:
                self.pool.submit(self._run, receiver, following)

    def wait_idle(self, timeout: float | None = None) -> bool:
        with self.lock:
            return self.lock.wait_for(lambda: self.pending == 0, timeout)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True)


_dispatcher: Dispatcher | None = None


def current_dispatcher() -> Dispatcher | None:
    """The pool of this callback worker process; None elsewhere (an attempt then runs inline)."""
    return _dispatcher


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
    global _dispatcher
    _dispatcher = Dispatcher(threads=settings.CALLBACK_CONCURRENCY, per_receiver=settings.CALLBACK_MAX_PER_RECEIVER)
    try:
        return worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
    finally:
        if sweeper is not None:
            sweeper.stop()
        dispatcher, _dispatcher = _dispatcher, None
        dispatcher.wait_idle()  # the attempts handed over finish (each is bounded by CALLBACK_TIMEOUT)
        dispatcher.shutdown()

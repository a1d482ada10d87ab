"""The generation worker process: one model loaded once, jobs run in this process (no fork per
job: a forked child cannot use CUDA and would reload the model)."""

from __future__ import annotations

import logging
import os
import socket
import threading

from django.conf import settings
from imgplatform.rqworker import DjangoWorker

from generation.engine import Engine

log = logging.getLogger(__name__)

_engines: dict[str, Engine] = {}
# Set when the worker was asked to stop (SIGTERM): a job then chains no further batch
# (generation/jobs.py) and ends once the tasks it started have ended.
stopping = threading.Event()


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def load_engine(model_name: str, *, warm_up: bool = True) -> Engine:
    """Load ``model_name`` into this process, once."""
    if model_name not in _engines:
        engine = Engine.load(settings.MODEL_REGISTRY[model_name])
        if settings.GENERATION_ENCODE_THREADS is not None:
            engine.encode_threads = settings.GENERATION_ENCODE_THREADS
        if warm_up:
            log.info("warm-up generation took %.0f ms", engine.warm_up())
        _engines[model_name] = engine
    return _engines[model_name]


def loaded_engine(model_name: str) -> Engine:
    if model_name not in _engines:
        # Only happens when a job runs outside `manage.py run_worker` (for example a plain rq worker).
        log.warning("model %s was not preloaded in this process; loading it now", model_name)
    return load_engine(model_name)


class GenerationWorker(DjangoWorker):
    """A model's queue's worker: jobs run in this process (the loaded model stays loaded),
    connections checked around each."""

    def handle_warm_shutdown_request(self):
        stopping.set()
        super().handle_warm_shutdown_request()

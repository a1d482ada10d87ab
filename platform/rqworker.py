"""The base of the platform's rq workers (generation, callbacks)."""

from __future__ import annotations

from django.db import close_old_connections
from rq.worker import SimpleWorker


class DjangoWorker(SimpleWorker):
    """rq's in-process worker (no fork per job), with database connections checked around every
    job as Django does around every request."""

    def execute_job(self, job, queue):
        close_old_connections()
        try:
            return super().execute_job(job, queue)
        finally:
            close_old_connections()

"""What rq says right now: depth of every queue, its started/failed/scheduled registries, and the
workers with their state, current job and heartbeat. Redis being away is an answer too
(``available: False``), never an error page."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone
from django_rq.settings import get_queues_map
from imgplatform import redisconn
from imgplatform.health import worker_heartbeat
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

log = logging.getLogger(__name__)


def rq_status() -> dict:
    """Queues (in django-rq's order, with the index its admin views use) and workers. A
    generation worker is live when its heartbeat is younger than WORKER_HEARTBEAT_MAX_AGE and it
    serves a model's queue: the rule /readyz applies."""
    generation_queues = {spec.queue for spec in settings.MODEL_REGISTRY.values()}
    clients = _Clients()
    try:
        queues = [
            _queue_status(name, index, client=clients.get(name), generation=name in generation_queues)
            for name, index in sorted(get_queues_map().items(), key=lambda item: item[1])
        ]
        workers = _worker_statuses(clients.get("default"), generation_queues=generation_queues)
    except (RedisError, OSError) as exc:
        log.warning("rq status unavailable: %s", exc)
        return {"available": False, "error": type(exc).__name__, "queues": [], "workers": []}
    finally:
        clients.close()
    workers.sort(key=lambda w: w["name"])
    return {
        "available": True,
        "error": "",
        "queues": queues,
        "workers": workers,
        "live_generation_workers": sum(1 for w in workers if w["live"] and w["generation"]),
    }


class _Clients:
    """Clients of one call's own with the platform's timeouts (a hung Redis costs the page
    REDIS_SOCKET_TIMEOUT, not forever), one per Redis, never the shared pool, whose timeouts rq's
    Worker would widen."""

    def __init__(self):
        self._by_url: dict[str, object] = {}

    def get(self, name: str):
        url = redisconn.queue_url(name)
        if url not in self._by_url:
            self._by_url[url] = redisconn.unshared_connection(name)
        return self._by_url[url]

    def close(self) -> None:
        for opened in self._by_url.values():
            opened.close()


def _queue_status(name: str, index: int, *, client, generation: bool) -> dict:
    queue = Queue(name, connection=client)
    return {
        "name": name,
        "index": index,
        "generation": generation,
        "queued": queue.count,
        "started": StartedJobRegistry(queue=queue).count,
        "failed": FailedJobRegistry(queue=queue).count,
        "scheduled": ScheduledJobRegistry(queue=queue).count,
    }


def _worker_statuses(client, *, generation_queues: set[str]) -> list[dict]:
    now = timezone.now()
    workers = []
    for worker in Worker.all(connection=client):
        heartbeat, live = worker_heartbeat(worker, now=now)
        names = worker.queue_names()
        workers.append(
            {
                "name": worker.name,
                "state": worker.get_state(),
                "queues": names,
                "current_job": worker.get_current_job_id() or "",
                "last_heartbeat": heartbeat,
                "live": live,
                "generation": bool(generation_queues & set(names)),
            }
        )
    return workers

"""Prometheus metrics (prometheus-client) and the ``/metrics`` endpoint.

Every process counts in its own memory-mapped files when ``PROMETHEUS_MULTIPROC_DIR`` is set
(prometheus-client's multiprocess mode): ``scripts/serve ROLE`` gives each role process a directory
of its own under ``METRICS_DIR`` (made empty at its start), so web processes and workers on one host
are all counted, and ``/metrics`` (or ``scripts/serve metrics`` on a host without a web role) adds up
every directory under ``METRICS_DIR``. Without that variable (tests, ``manage.py shell``) a process
reports only itself.

Queue depth and the oldest job's age are read from Redis at scrape time, not counted.

Access: loopback, ``METRICS_ALLOWED_NETWORKS``, or ``Authorization: Bearer <METRICS_TOKEN>``;
anyone else gets the same 404 as an unknown path. See docs/deployment.md, "Metrics".
"""

from __future__ import annotations

import functools
import glob
import hmac
import ipaddress
import logging
import os
import time
from functools import partial

from django.conf import settings
from django.db import transaction
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import REGISTRY as PROCESS_REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

log = logging.getLogger(__name__)

STAGE_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600)
# Stages of a task's ``timings_ms`` (milliseconds) that become ``imagegen_stage_seconds{stage}``.
STAGES = ("moderation_prompt", "queue_wait", "generation", "moderation", "storage", "total")

TASKS = Counter("imagegen_tasks_total", "Tasks that entered each state, by model.", ["model", "state"])
IMAGES = Counter("imagegen_images_total", "Images delivered (stored, not withheld), by model.", ["model"])
STAGE_SECONDS = Histogram(
    "imagegen_stage_seconds", "Time of each stage of a finished task.", ["stage"], buckets=STAGE_BUCKETS
)
SYNC_WAITS = Gauge(
    "imagegen_sync_waits", "/task/sync requests waiting now, over all web processes.", multiprocess_mode="livesum"
)
CALLBACK_DELIVERIES = Counter(
    "imagegen_callback_deliveries_total",
    "Callback attempts by outcome (succeeded, failed, gone, refused, ...).",
    ["outcome"],
)
HTTP_REQUESTS = Counter(
    "imagegen_http_requests_total",
    "HTTP requests by route (the URL pattern, never the path), method and status.",
    ["route", "method", "status"],
)
HTTP_SECONDS = Histogram("imagegen_http_request_seconds", "Time to a response, by route.", ["route"])


# --- Recording ---------------------------------------------------------------------------------


def _task_moved(model: str, state: str, timings_ms: dict | None, images_delivered: int | None) -> None:
    TASKS.labels(model=model, state=state).inc()
    if images_delivered:
        IMAGES.labels(model=model).inc(images_delivered)
    for stage in STAGES:
        value = (timings_ms or {}).get(stage)
        if isinstance(value, int | float) and value >= 0:
            STAGE_SECONDS.labels(stage=stage).observe(value / 1000)


def task_moved(task, changes: dict) -> None:
    """A task entered ``changes["state"]`` (a row update that took effect): counted once the
    transaction commits, with its stage timings when it finished and its delivered images."""
    state = changes.get("state", task.state)
    timings = changes.get("timings_ms") if state in task.FINAL_STATES else None
    transaction.on_commit(partial(_task_moved, task.model, str(state), timings, changes.get("images_delivered")))


def callback_attempt(outcome: str) -> None:
    CALLBACK_DELIVERIES.labels(outcome=outcome).inc()


# --- Collection --------------------------------------------------------------------------------


class QueueCollector:
    """``imagegen_queue_depth{queue}`` and ``imagegen_queue_oldest_seconds{queue}`` of every rq
    queue, read from Redis at scrape time. Redis away: the two families are left out (the scrape
    still answers; alert on their absence)."""

    def collect(self):
        from imgplatform import redisconn
        from rq import Queue

        depth = GaugeMetricFamily("imagegen_queue_depth", "Jobs waiting in each rq queue.", labels=["queue"])
        oldest = GaugeMetricFamily(
            "imagegen_queue_oldest_seconds", "Age of the oldest waiting job of each queue (0: empty).", labels=["queue"]
        )
        try:
            connection = redisconn.connection("default")
            for name in settings.RQ_QUEUES:
                queue = Queue(name, connection=connection)
                depth.add_metric([name], queue.count)
                oldest.add_metric([name], _oldest_age(queue))
        except Exception as exc:  # a scrape must answer; the missing families say what is wrong
            log.warning("metrics: could not read the queues: %s", exc)
            return []
        return [depth, oldest]


def _oldest_age(queue) -> float:
    for job_id in queue.get_job_ids(0, 4):  # the head; an id whose job expired is skipped
        job = queue.fetch_job(job_id)
        if job is not None and job.enqueued_at is not None:
            enqueued = job.enqueued_at.timestamp() if job.enqueued_at.tzinfo else _naive_utc(job.enqueued_at)
            return max(0.0, time.time() - enqueued)
    return 0.0


def _naive_utc(value) -> float:
    from datetime import UTC

    return value.replace(tzinfo=UTC).timestamp()


class HostCollector:
    """Adds up the multiprocess files of every role process on this host: all directories under
    ``METRICS_DIR`` (and this process's own ``PROMETHEUS_MULTIPROC_DIR`` if it lies elsewhere)."""

    def __init__(self, root: str):
        self.root = root

    def collect(self):
        files = set(glob.glob(os.path.join(self.root, "*", "*.db")))
        own = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if own:
            files.update(glob.glob(os.path.join(own, "*.db")))
        return MultiProcessCollector.merge(sorted(files), accumulate=True)


def exposition(*, host: bool | None = None) -> bytes:
    """The text format: this host's processes (``host``, default: when in multiprocess mode) or
    only this process, then the queues."""
    if host is None:
        host = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
    if host:
        processes = CollectorRegistry(auto_describe=False)
        processes.register(HostCollector(settings.METRICS_DIR))
    else:
        processes = PROCESS_REGISTRY
    queues = CollectorRegistry(auto_describe=False)
    queues.register(QueueCollector())
    return generate_latest(processes) + generate_latest(queues)


# --- Access ------------------------------------------------------------------------------------


def allowed(address: str | None, authorization: str) -> bool:
    """Loopback, an address in METRICS_ALLOWED_NETWORKS, or the Bearer METRICS_TOKEN."""
    token = settings.METRICS_TOKEN
    scheme, _, value = (authorization or "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode()):
        return True
    try:
        ip = ipaddress.ip_address((address or "").split("%", 1)[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_loopback or any(ip in network for network in _networks(tuple(settings.METRICS_ALLOWED_NETWORKS)))


@functools.lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple:
    from imgplatform.ssrf import parse_networks  # checked at start (imgplatform/checks.py, E008)

    return tuple(parse_networks(list(cidrs)))


async def metrics_view(request):
    """GET /metrics: the exposition for allowed callers; a 404 problem for anyone else, so the
    endpoint looks like any unknown path."""
    from django.http import Http404, HttpResponse, HttpResponseNotAllowed
    from imgplatform.middleware import client_ip
    from imgplatform.offloop import run_sync

    if not allowed(client_ip(request), request.headers.get("Authorization", "")):
        raise Http404
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    return HttpResponse(await run_sync(exposition), content_type=CONTENT_TYPE_LATEST)

"""/healthz (the process answers) and /readyz (it can do work: database, Redis, a live generation
worker; live callback workers are reported too)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import wraps

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from imgplatform.problems import CODES, PROBLEM_CONTENT_TYPE, problem_body


def _method_not_allowed(request) -> JsonResponse:
    body = problem_body("method_not_allowed", f"Method {request.method} is not allowed here: use GET or HEAD.")
    response = JsonResponse(body, status=CODES["method_not_allowed"][0], content_type=PROBLEM_CONTENT_TYPE)
    response["Allow"] = "GET, HEAD"
    return response


def _headless(request, response):
    """HEAD answers as GET does (status, headers), without the body: load balancers probe with it."""
    if request.method == "HEAD":
        response.content = b""
    return response


def probe(view):
    """A probe endpoint: GET and HEAD (same status and headers, no body); any other method is a 405
    problem+json naming them, not a CSRF page (there is no cookie to protect here)."""
    if iscoroutinefunction(view):

        @wraps(view)
        async def wrapper(request, *args, **kwargs):
            if request.method not in ("GET", "HEAD"):
                return _method_not_allowed(request)
            return _headless(request, await view(request, *args, **kwargs))

    else:

        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in ("GET", "HEAD"):
                return _method_not_allowed(request)
            return _headless(request, view(request, *args, **kwargs))

    return csrf_exempt(wrapper)


@probe
async def healthz(request):
    """Answers on the event loop: no thread, no database."""
    return JsonResponse({"status": "ok"})


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def worker_heartbeat(worker, *, now: datetime | None = None) -> tuple[datetime | None, bool]:
    """An rq worker's last heartbeat (timezone-aware) and whether it counts as live: younger than
    WORKER_HEARTBEAT_MAX_AGE. The one rule for /readyz and the admin's dashboard."""
    heartbeat = worker.last_heartbeat
    if heartbeat and heartbeat.tzinfo is None:
        heartbeat = heartbeat.replace(tzinfo=UTC)
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.WORKER_HEARTBEAT_MAX_AGE)
    return heartbeat, bool(heartbeat and heartbeat >= cutoff)


def _live_workers() -> dict[str, list[str]]:
    """Names of workers with a recent heartbeat, for the generation queues and for "callbacks"."""
    from imgplatform import redisconn
    from rq import Worker

    generation = {spec.queue for spec in settings.MODEL_REGISTRY.values()}
    now = timezone.now()
    live: dict[str, list[str]] = {"generation": [], "callbacks": []}
    client = redisconn.unshared_connection("default")  # rq changes the timeouts of the pool it gets
    try:
        workers = Worker.all(connection=client)
    finally:
        client.close()
    for worker in workers:
        if not worker_heartbeat(worker, now=now)[1]:
            continue
        names = set(worker.queue_names())
        if generation & names:
            live["generation"].append(worker.name)
        if "callbacks" in names:
            live["callbacks"].append(worker.name)
    return live


@probe
def readyz(request):
    checks: dict[str, str] = {}
    try:
        checks["database"] = _check_database()
    except Exception as exc:  # any failure means not ready; say which
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        live = _live_workers()
        checks["redis"] = "ok"
        checks["workers"] = (
            f"{len(live['generation'])} live" if live["generation"] else "error: no live generation worker"
        )
        # Reported, not required: without a callback worker tasks still run, and their callbacks
        # wait in the database and Redis until one starts (its sweep sends what is due).
        checks["callback_workers"] = (
            f"{len(live['callbacks'])} live" if live["callbacks"] else "none live: callbacks wait until one starts"
        )
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
        checks["workers"] = checks["callback_workers"] = "unknown"
    ready = all(not value.startswith("error") and value != "unknown" for value in checks.values())
    return JsonResponse({"status": "ready" if ready else "not ready", "checks": checks}, status=200 if ready else 503)

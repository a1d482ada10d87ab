"""/healthz (the process answers) and /readyz (it can do work: database, Redis, a live worker)."""

from __future__ import annotations

from datetime import UTC, timedelta

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET


@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _live_workers() -> list[str]:
    import django_rq
    from rq import Worker

    queues = {spec.queue for spec in settings.MODEL_REGISTRY.values()}
    cutoff = timezone.now() - timedelta(seconds=settings.WORKER_HEARTBEAT_MAX_AGE)
    live = []
    for worker in Worker.all(connection=django_rq.get_connection("default")):
        heartbeat = worker.last_heartbeat
        if heartbeat and heartbeat.tzinfo is None:
            heartbeat = heartbeat.replace(tzinfo=UTC)
        if heartbeat and heartbeat >= cutoff and queues & set(worker.queue_names()):
            live.append(worker.name)
    return live


@require_GET
def readyz(request):
    checks: dict[str, str] = {}
    try:
        checks["database"] = _check_database()
    except Exception as exc:  # any failure means not ready; say which
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        workers = _live_workers()
        checks["redis"] = "ok"
        checks["workers"] = f"{len(workers)} live" if workers else "error: no live generation worker"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
        checks["workers"] = "unknown"
    ready = all(not value.startswith("error") and value != "unknown" for value in checks.values())
    return JsonResponse({"status": "ready" if ready else "not ready", "checks": checks}, status=200 if ready else 503)

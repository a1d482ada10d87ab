"""Retention: a project's ``retention_days`` enforced by a periodic job (``manage.py run_scheduler``,
every RETENTION_INTERVAL seconds on the "default" queue).

An image of a task that finished more than ``retention_days`` ago has its file deleted from
storage (local or S3) and is marked expired (``Image.expired_at``); the task and its image rows
stay, so the record, the bill and the reproducibility record remain. Its link answers 410 ``gone``
and the task object says ``"message": "410"`` for it."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import F
from django.utils import timezone

from accounts.models import Project
from generation import storage
from generation.models import Image

log = logging.getLogger(__name__)
BATCH = 500  # images per project per run: a long backlog is worked off over several runs


def expired_images(project: Project, *, now: datetime):
    """The project's stored images whose task finished more than retention_days ago (explicit
    escape from tenant scoping: a job works across tenants)."""
    cutoff = now - timedelta(days=project.retention_days)
    return Image.unscoped_objects.filter(
        task__project=project, task__finished_at__lt=cutoff, expired_at__isnull=True
    ).exclude(storage_path="")


def images_expire(*, now: datetime | None = None) -> int:
    """Delete the files of every expired image and mark it expired; returns how many. A file the
    storage cannot delete leaves its image unmarked, so the next run tries again."""
    now = now or timezone.now()
    done = 0
    for project in Project.unscoped_objects.only("id", "retention_days"):  # every tenant: a job
        for image in expired_images(project, now=now).order_by(F("task__finished_at").asc())[:BATCH]:
            try:
                storage.image_storage().delete(image.storage_path)
            except Exception:  # noqa: BLE001 - one unreachable file must not stop the sweep
                log.exception("could not delete expired image %s", image.storage_path)
                continue
            Image.unscoped_objects.filter(pk=image.pk).update(expired_at=now)
            done += 1
    if done:
        log.info("retention: %d images expired", done)
    return done


def retention_job() -> str:
    return f"{images_expire()} images expired"


def image_is_expired(path: str) -> bool:
    return Image.unscoped_objects.filter(storage_path=path, expired_at__isnull=False).exists()

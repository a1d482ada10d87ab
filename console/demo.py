"""Tasks as the worker leaves them, for the console's tests and `make screenshots` (a throwaway
database, never the developer's). A succeeded task's end is announced as a worker's is
(``generation.signals.task_ended``), so billing writes its ledger row, tier lines and rollups and
the dashboard's revenue comes from the same rows production writes."""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Project
from generation.models import Image, Task
from generation.signals import announce_task_end

State = Task.State


def record_task(
    project: Project,
    *,
    state: str,
    created_at: datetime,
    error_code: str = "",
    timings_ms: dict | None = None,
    delivered: int = 0,
    prompt_categories: list[str] | None = None,
    flagged: list[list[str]] | None = None,
    text: str = "a lighthouse at dusk, oil painting",
) -> Task:
    """A task in ``state``, created at ``created_at``. ``delivered`` images are billed;
    ``prompt_categories`` makes it a prompt blocked by moderation; each list in ``flagged`` is an
    image withheld by the image check with those labels (strict: the task failed; partial: it
    succeeded with the rest)."""
    flagged = flagged or []
    timings = dict(timings_ms or {})
    started = created_at + timedelta(milliseconds=timings.get("queue_wait", 0)) if "queue_wait" in timings else None
    finished = None
    if state in Task.FINAL_STATES:
        finished = created_at + timedelta(milliseconds=timings.get("total", 50))
    report = _moderation_report(prompt_categories, flagged)
    if prompt_categories:
        error_code = error_code or "moderation_blocked_prompt"
    task = Task.unscoped_objects.create(
        tenant_id=project.tenant_id,
        project=project,
        text_data=text,
        num_images=max(1, delivered + len(flagged)),
        seed=random.Random(str(created_at)).randrange(2**32),
        model="tiny",
        model_version="tiny-demo",
        moderation=Task.Moderation.PARTIAL if flagged and state == State.SUCCEEDED else Task.Moderation.STRICT,
        state=state,
        created_at=created_at,
        started_at=started,
        finished_at=finished,
        error_code=error_code,
        error_detail=f"{error_code} (demo)" if error_code else "",
        timings_ms=timings,
        moderation_report=report,
        attempts=1 if started else 0,
    )
    _store_images(task, flagged=flagged, delivered=delivered if state == State.SUCCEEDED else 0)
    if state == State.SUCCEEDED and delivered:
        with transaction.atomic():
            Task.unscoped_objects.filter(pk=task.pk).update(images_delivered=delivered)
            task.images_delivered = delivered
            announce_task_end(task)  # billing's receiver writes the ledger and the task's charge
        task.refresh_from_db()
    return task


def _moderation_report(prompt_categories: list[str] | None, flagged: list[list[str]]) -> dict:
    report: dict = {"prompt": {"decision": "pass", "categories": [], "matches": []}}
    if prompt_categories:
        report["prompt"] = {
            "decision": "block",
            "categories": prompt_categories,
            "matches": [{"category": c, "field": "text_data", "term": "..."} for c in prompt_categories],
        }
    if flagged:
        report["images_withheld"] = len(flagged)
    return report


def _store_images(task: Task, *, flagged: list[list[str]], delivered: int) -> None:
    """The withheld images first, then the delivered ones."""
    images = [_image(task, index, labels=labels) for index, labels in enumerate(flagged)]
    images += [_image(task, index) for index in range(len(flagged), len(flagged) + delivered)]
    Image.unscoped_objects.bulk_create(images)


def _image(task: Task, index: int, labels: list[str] | None = None) -> Image:
    seed = task.image_seed(index)
    scores = {label: 0.9 for label in labels or []} | {"FACE_FEMALE": 0.2}
    return Image(
        tenant_id=task.tenant_id,
        task=task,
        index=index,
        seed=seed,
        width=1024,
        height=1024,
        storage_path="" if labels else f"image_generation/{task.id}/image{index}_1024_1024.png",
        sha256=hashlib.sha256(f"{task.id}-{index}".encode()).hexdigest(),
        size_bytes=123456,
        flagged=bool(labels),
        moderation={
            "decision": "block" if labels else "pass",
            "flagged": labels or [],
            "thresholds": {label: 0.45 for label in labels or []},
            "scores": scores,
        },
    )


def timings(rng: random.Random, *, queue_wait: float, generation: float) -> dict:
    parts = {
        "moderation_prompt": round(rng.uniform(0.2, 1.5), 2),
        "queue_wait": round(queue_wait, 1),
        "generation": round(generation, 1),
        "moderation": round(rng.uniform(60, 180), 1),
        "storage": round(rng.uniform(20, 90), 1),
    }
    parts["total"] = round(sum(parts[k] for k in ("queue_wait", "generation", "moderation", "storage")), 1)
    return parts


PROMPT_CATEGORIES = [["sexual"], ["violence"], ["sexual", "minors"], ["hate"], ["self_harm"], ["violence"]]
IMAGE_LABELS = [["FEMALE_BREAST_EXPOSED"], ["BUTTOCKS_EXPOSED"], ["FEMALE_BREAST_EXPOSED", "BUTTOCKS_EXPOSED"]]


def seed_demo(projects: list[Project], *, days: int = 14, per_day: int = 40, seed: int = 7) -> int:
    """Realistic traffic over the last ``days`` days for the screenshots: every state, failures
    with several codes, prompt and image blocks, uneven tenants, a daily rhythm. Returns the
    number of tasks written."""
    rng = random.Random(seed)
    now = timezone.now()
    weights = [max(1, len(projects) - i) ** 2 for i in range(len(projects))]
    written = 0
    for day in range(days, -1, -1):
        count = int(per_day * (0.6 + 0.8 * rng.random()) * (1.3 if day % 7 in (1, 2, 3) else 1.0))
        for _ in range(count):
            created = now - timedelta(days=day, seconds=rng.uniform(0, 86400))
            if created > now - timedelta(seconds=30):
                continue
            project = rng.choices(projects, weights)[0]
            roll = rng.random()
            queue_wait = rng.lognormvariate(5.5, 0.8)
            generation = rng.lognormvariate(6.7, 0.35)
            t = timings(rng, queue_wait=queue_wait, generation=generation)
            recent = day == 0 and created > now - timedelta(minutes=3)
            _record_one(project, rng, created=created, roll=roll, t=t, recent=recent, day=day)
            written += 1
    return written


def _record_one(project: Project, rng: random.Random, *, created, roll: float, t: dict, recent: bool, day: int) -> None:
    """One task of the demo traffic: what ``roll`` falls on (most succeed)."""
    if recent:
        if roll < 0.5:
            record_task(project, state=State.QUEUED, created_at=created)
        else:
            record_task(project, state=State.RUNNING, created_at=created, timings_ms={"queue_wait": t["queue_wait"]})
    elif roll < 0.78:
        record_task(project, state=State.SUCCEEDED, created_at=created, timings_ms=t, delivered=rng.randint(1, 4))
    elif roll < 0.84:
        record_task(
            project,
            state=State.FAILED,
            created_at=created,
            prompt_categories=rng.choice(PROMPT_CATEGORIES),
            timings_ms={"moderation_prompt": t["moderation_prompt"]},
        )
    elif roll < 0.88:
        record_task(
            project,
            state=State.FAILED,
            created_at=created,
            error_code="moderation_blocked_image",
            timings_ms=t,
            flagged=[rng.choice(IMAGE_LABELS)],
        )
    elif roll < 0.90:
        record_task(
            project,
            state=State.SUCCEEDED,
            created_at=created,
            timings_ms=t,
            delivered=rng.randint(1, 3),
            flagged=[rng.choice(IMAGE_LABELS)],
        )
    elif roll < 0.95 - (0.03 if day > 3 else 0):
        record_task(
            project,
            state=State.FAILED,
            created_at=created,
            error_code="generation_failed",
            timings_ms={k: t[k] for k in ("moderation_prompt", "queue_wait")},
        )
    elif roll < 0.97:
        record_task(project, state=State.FAILED, created_at=created, error_code="service_unavailable")
    else:
        record_task(project, state=State.CANCELLED, created_at=created)

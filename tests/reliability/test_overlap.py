"""Post-processing overlapping the next inference (GENERATION_OVERLAP_STAGES): while a batch's
tasks are moderated, stored and finished on the job's stage thread, the same job starts and
generates the next queued task. Real workers (a burst worker in this process, `run_worker`
processes), PostgreSQL, Redis and moto's S3 server over HTTP; only slowness is injected."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from billing.models import UsageRecord
from generation.models import Task
from moderation.image import ImageModerator
from tests.factories import TenantFactory
from tests.generation.test_batching import submit
from tests.generation.test_limits import api_client
from tests.test_multihost import MotoServer

pytestmark = pytest.mark.django_db(transaction=True)


def slow_first_moderation(monkeypatch, seconds: float) -> None:
    real, calls = ImageModerator.moderate, []

    def moderate(self, images, policy):
        calls.append(1)
        if len(calls) == 1:
            time.sleep(seconds)
        return real(self, images, policy)

    monkeypatch.setattr(ImageModerator, "moderate", moderate)


@pytest.mark.parametrize("overlap", [True, False])
def test_the_next_task_starts_while_the_last_one_is_post_processed(
    redis_conn, run_worker, monkeypatch, settings, overlap
):
    settings.GENERATION_OVERLAP_STAGES = overlap
    slow_first_moderation(monkeypatch, 2.0)
    clients = [api_client(TenantFactory()) for _ in range(3)]
    tasks = [submit(client, f"prompt {n}", 2) for n, client in enumerate(clients)]
    run_worker()
    rows = sorted((Task.unscoped_objects.get(pk=t.pk) for t in tasks), key=lambda row: row.started_at)
    assert [row.state for row in rows] == ["succeeded"] * 3
    first, second = rows[0], rows[1]
    if overlap:  # the second one's generation began while the first one was still being moderated
        assert second.started_at < first.finished_at
        assert first.timings_ms["moderation"] >= 2000
    else:
        assert second.started_at > first.finished_at
    for row in rows:
        assert UsageRecord.unscoped_objects.get(task_id=row.pk).images == 2


@pytest.mark.parametrize("defer", [True, False])
def test_images_encoded_on_the_stage_as_on_an_accelerator_or_in_the_job_as_on_a_cpu(
    redis_conn, run_worker, monkeypatch, defer
):
    """On an accelerator the job leaves the encoding to the stage thread (Engine.defer_encoding);
    on a CPU it collects the images itself. Either way every image is delivered, in order, and
    the wait is recorded."""
    from generation.worker import load_engine

    monkeypatch.setattr(load_engine("tiny", warm_up=False), "defer_encoding", defer)
    clients = [api_client(TenantFactory()) for _ in range(2)]
    tasks = [submit(client, f"prompt {n}", 3, seed=7) for n, client in enumerate(clients)]
    run_worker()
    for task in tasks:
        row = Task.unscoped_objects.get(pk=task.pk)
        assert row.state == "succeeded" and "generation_encode" in row.timings_ms
        # The stages are disjoint in time: the encoding wait is counted once, wherever it happened.
        wall_ms = (row.finished_at - row.created_at).total_seconds() * 1000
        assert row.timings_ms["total"] <= wall_ms + 1
        assert [image.seed for image in row.images.order_by("index")] == [row.image_seed(i) for i in range(3)]
        assert all(image.storage_path for image in row.images.all())


@pytest.mark.long
def test_a_worker_killed_with_a_task_in_post_processing_loses_nothing_and_bills_once(
    redis_conn, start_worker, tmp_path
):
    """S3 hangs (moto frozen with SIGSTOP) while the first task is being stored; the job has gone on
    to generate the second. The worker is SIGKILLed with both in flight; S3 comes back, a second
    worker takes both runs back, each succeeds once, billed once, its images in the bucket."""
    s3 = MotoServer(tmp_path / "moto.log")
    s3.start()
    try:
        s3.client().create_bucket(Bucket="images")
        env = {
            "IMAGE_STORAGE": "s3",
            "AWS_STORAGE_BUCKET_NAME": "images",
            "AWS_S3_ENDPOINT_URL": s3.url,
            "AWS_S3_REGION_NAME": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "GENERATION_MODELS": json.dumps({"tiny": {"steps": 8, "step_delay": 0.3}}),
            "GENERATION_LEASE_SECONDS": "2",
            "RECONCILE_INTERVAL": "1",
        }
        first_worker = start_worker(**env)
        clients = [api_client(TenantFactory()) for _ in range(2)]
        first, second = (submit(client, f"prompt {n}") for n, client in enumerate(clients))

        def state(task) -> str:
            return Task.unscoped_objects.get(pk=task.pk).state

        wait(lambda: state(first) == "running", "the first task to start")
        os.killpg(s3.proc.pid, signal.SIGSTOP)  # S3 hangs: the first task's upload will wait
        wait(lambda: state(second) == "running", "the second task to start while the first is stored")
        assert state(first) == "running"  # still in its post-processing
        time.sleep(0.5)
        os.killpg(first_worker.pid, signal.SIGKILL)
        first_worker.wait(timeout=10)
        os.killpg(s3.proc.pid, signal.SIGCONT)
        start_worker(**env)
        wait(lambda: state(first) == state(second) == "succeeded", "both tasks to succeed", timeout=120)
        for task in (first, second):
            row = Task.unscoped_objects.get(pk=task.pk)
            assert row.attempts == 2
            assert UsageRecord.unscoped_objects.filter(task_id=row.pk).count() == 1
        keys = sorted(obj["Key"] for obj in s3.client().list_objects_v2(Bucket="images")["Contents"])
        assert keys == sorted(f"image_generation/{t.pk}/image0_1024_1024.png" for t in (first, second))
    finally:
        if s3.proc is not None and s3.proc.poll() is None:
            os.killpg(s3.proc.pid, signal.SIGCONT)
        s3.stop()


def wait(predicate, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)

"""Batching across tasks (a model's ``batch_images``): a worker that starts a task also starts the
queued tasks that can share its pipeline calls, fairly, up to the image budget, and finishes each
on its own. The claim step runs against PostgreSQL and Redis; the rest through real workers (a
burst worker in this process, and `run_worker` processes)."""

from __future__ import annotations

import io
import json
import threading
import time
from dataclasses import replace

import numpy as np
import pytest
from django.conf import settings
from PIL import Image as PILImage

from billing.models import UsageRecord
from generation import scheduling, services, storage
from generation.engine import Engine
from generation.jobs import generation_request
from generation.models import Image, Task
from generation.options import Choices
from tests.factories import TenantFactory
from tests.generation.test_limits import api_client

pytestmark = pytest.mark.django_db(transaction=True)
QUEUE = "generation-tiny"


def submit(client, prompt: str, num_images: int = 1, *, neg: str = "", seed=None, previews=0, **choices) -> Task:
    data = services.TaskInput(
        text_data=prompt,
        neg_text=neg,
        num_images=num_images,
        seed=seed,
        partial_images=previews,
        choices=Choices(model="tiny", **choices),
    )
    return services.task_submit(client=client, data=data)


def claim(budget: int) -> list[Task]:
    """What a worker's job does before generating: start the fairest task, then its companions."""
    holder = Task.unscoped_objects.filter(state="queued").order_by("created_at").first()
    started = scheduling.claim_next(
        queue_name=QUEUE, holder=holder, job_id=holder.job_id, worker_name="w:1", describe=lambda model: {}
    ).task
    companions = scheduling.claim_companions(
        task=started, queue_name=QUEUE, budget=budget, worker_name="w:1", describe=lambda model: {}
    )
    return [started, *companions]


def test_companions_are_the_batchable_queued_tasks_in_fair_order_up_to_the_budget(redis_conn):
    a, b, c = (api_client(TenantFactory()) for _ in range(3))
    a1 = submit(a, "a lighthouse", neg="fog")
    a_other_steps = submit(a, "a lighthouse", neg="fog", steps=3)
    b_no_negative = submit(b, "a boat")
    b2 = submit(b, "a boat", 2, neg="rain")
    c_wide = submit(c, "a field", neg="fog", width=1344, height=768)
    c_three = submit(c, "a field", 3, neg="fog")
    a2 = submit(a, "a second lighthouse", neg="blur")
    started = claim(budget=6)
    # b's then c's turn (a was served first), then a's again: 1 + 2 + 3 images; a2 does not fit.
    assert [t.pk for t in started] == [a1.pk, b2.pk, c_three.pk]
    assert all(t.state == Task.State.RUNNING and t.worker_name == "w:1" for t in started)
    left = set(Task.unscoped_objects.filter(state="queued").values_list("pk", flat=True))
    assert left == {a_other_steps.pk, b_no_negative.pk, c_wide.pk, a2.pk}
    # Fair accounting saw every start (passes a 1, b 2, c 3 images): a goes next, its oldest task
    # first, alone (nothing queued shares its 3 steps).
    assert [t.pk for t in claim(budget=6)] == [a_other_steps.pk]


def test_a_companions_token_starts_nothing_and_every_queued_task_keeps_one(redis_conn, run_worker):
    from django.utils import timezone
    from rq.job import Job

    from generation import queues
    from generation.reconcile import reconcile

    a, b = api_client(TenantFactory()), api_client(TenantFactory())
    first, second = submit(a, "one"), submit(b, "two")
    third = submit(b, "three", steps=3)  # not batchable with them
    assert [t.pk for t in claim(budget=6)] == [first.pk, second.pk]
    token = Task.unscoped_objects.get(pk=second.pk).job_id  # second's own job, still on the queue
    # Every queued task still has a live job, and the reconciler finds nothing to put back.
    queued = list(Task.unscoped_objects.filter(state="queued"))
    assert [t.pk for t in queued] == [third.pk] and queues.live_generation_jobs(queued) >= {third.job_id}
    later = timezone.now() + timezone.timedelta(seconds=120)
    assert reconcile(now=later).counts()["requeued"] == 0
    # A worker takes every job: second's own starts nothing, third's runs third.
    run_worker()
    assert Job.fetch(token, connection=redis_conn).return_value().startswith("skipped")
    assert Task.unscoped_objects.get(pk=third.pk).state == "succeeded"
    # (first and second, started here with no run behind them, were taken back by the reconcile at
    # ``later`` and run again by the worker: the reconciler's business, not batching's.)


def test_companions_respect_each_tenants_running_limit(redis_conn):
    limited = TenantFactory(max_running_tasks=1)
    a, busy = api_client(TenantFactory()), api_client(limited)
    first = submit(a, "one")
    submit(busy, "two")
    submit(busy, "three")
    started = claim(budget=6)
    assert [t.pk for t in started][0] == first.pk
    assert [t.tenant_id for t in started].count(limited.pk) == 1  # one of its two, not both
    assert Task.unscoped_objects.filter(tenant=limited, state="queued").count() == 1


def test_no_companions_without_a_budget_nor_for_or_with_a_task_that_sends_partial_images(redis_conn):
    a, b = api_client(TenantFactory()), api_client(TenantFactory())
    one, two = submit(a, "one"), submit(b, "two")
    assert [t.pk for t in claim(budget=0)] == [one.pk]
    previews = submit(a, "previews", previews=1)
    three = submit(b, "three")
    assert [t.pk for t in claim(budget=6)] == [two.pk, three.pk]  # b's turn; the previews wait
    submit(b, "four")
    assert [t.pk for t in claim(budget=6)] == [previews.pk]  # alone, though "four" would fit


# --- Through a worker --------------------------------------------------------------------------
@pytest.fixture
def batching_worker(monkeypatch):
    """The burst worker of tests/conftest.py with the tiny model batching up to 6 images; ``run``
    takes other fields of the model (slow steps)."""
    import django_rq

    from generation import worker
    from generation.worker import GenerationWorker

    def run(**fields) -> None:
        spec = replace(settings.MODEL_REGISTRY["tiny"], batch_images=6, max_batch=6, **fields)
        monkeypatch.setitem(settings.MODEL_REGISTRY, "tiny", spec)
        monkeypatch.setitem(worker._engines, "tiny", Engine.load(spec))
        queue = django_rq.get_queue(spec.queue)
        GenerationWorker([queue], connection=queue.connection).work(burst=True)

    return run


def decoded(data: bytes) -> np.ndarray:
    return np.asarray(PILImage.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)


def test_tasks_batched_by_a_worker_each_succeed_billed_alone_and_reproducible_alone(redis_conn, batching_worker):
    clients = [api_client(TenantFactory()) for _ in range(3)]
    tasks = [
        submit(clients[0], "a red house by a lake", 2, neg="fog", seed=11),
        submit(clients[1], "portrait of an old sailor", 1, neg="blur"),
        submit(clients[2], "a bowl of lemons", 3, neg="grass", output_format="jpeg"),
        submit(clients[0], "a tall tower", 1, neg="fog", steps=3),  # another step count: its own call
    ]
    batching_worker()
    rows = {t.pk: Task.unscoped_objects.get(pk=t.pk) for t in tasks}
    assert {row.state for row in rows.values()} == {"succeeded"}
    shared = [rows[t.pk] for t in tasks[:3]]
    for row in shared:
        assert row.run_info["batches"] == [6]
        assert set(row.run_info["batched_with"]) == {str(o.pk) for o in shared if o.pk != row.pk}
    assert "batched_with" not in rows[tasks[3].pk].run_info and rows[tasks[3].pk].run_info["batches"] == [1]
    # Each task is billed for its own images, once.
    for row in rows.values():
        assert UsageRecord.unscoped_objects.get(task_id=row.pk).images == row.num_images
    # Every image is the one its task gives alone (same seed, prompt, negative prompt).
    alone = Engine.load(settings.MODEL_REGISTRY["tiny"])
    for row in shared:
        expected = alone.generate(generation_request(row)).images
        images = list(Image.unscoped_objects.filter(task=row).order_by("index"))
        assert [i.seed for i in images] == [e.seed for e in expected]
        for image, single in zip(images, expected, strict=True):
            with storage.image_storage().open(image.storage_path) as file:
                delivered = decoded(file.read())
            tolerance = 2 if row.output_format == "png" else 8  # jpeg re-encodes a 2/255 difference
            assert np.abs(delivered - decoded(single.data)).max() <= tolerance


def test_a_task_cancelled_in_a_shared_batch_drops_out_and_the_others_finish(redis_conn, batching_worker):
    from django.db import connections

    clients = [api_client(TenantFactory()) for _ in range(3)]
    tasks = [submit(client, f"prompt {n}", neg="fog") for n, client in enumerate(clients)]
    victim = tasks[1]
    answers = []

    def cancel_once_running() -> None:
        try:
            deadline = time.monotonic() + 60
            while Task.unscoped_objects.get(pk=victim.pk).state != "running":
                assert time.monotonic() < deadline
                time.sleep(0.05)
            time.sleep(1.0)  # a few steps in
            answers.append(services.task_cancel(task=Task.unscoped_objects.get(pk=victim.pk)))
        finally:
            connections.close_all()

    canceller = threading.Thread(target=cancel_once_running)
    canceller.start()
    batching_worker(steps=8, step_delay=0.4)
    canceller.join(timeout=60)
    rows = {t.pk: Task.unscoped_objects.get(pk=t.pk) for t in tasks}
    assert rows[victim.pk].state == "cancelled"
    assert not Image.unscoped_objects.filter(task_id=victim.pk).exists()
    assert not UsageRecord.unscoped_objects.filter(task_id=victim.pk).exists()
    for task in (tasks[0], tasks[2]):
        row = rows[task.pk]
        assert row.state == "succeeded" and str(victim.pk) in row.run_info["batched_with"]
        assert UsageRecord.unscoped_objects.get(task_id=row.pk).images == 1
    assert json.dumps(answers, default=str)  # the cancel was answered


@pytest.mark.long
def test_a_worker_killed_mid_batch_loses_no_task_and_bills_each_once(redis_conn, start_worker):
    """Three tasks share a worker's pipeline calls; the worker is SIGKILLed mid-step. Each task's
    lease runs out on its own, a second worker takes them back (batched again) and each succeeds
    on its second run, billed once."""
    import os
    import signal

    clients = [api_client(TenantFactory()) for _ in range(3)]
    tasks = [submit(client, f"prompt {n}") for n, client in enumerate(clients)]
    env = {
        "GENERATION_MODELS": json.dumps({"tiny": {"batch_images": 6, "steps": 10, "step_delay": 0.4}}),
        "GENERATION_LEASE_SECONDS": "2",
        "RECONCILE_INTERVAL": "1",
    }
    first = start_worker(**env)

    def states() -> list[str]:
        return [Task.unscoped_objects.get(pk=t.pk).state for t in tasks]

    deadline = time.monotonic() + 60
    while states() != ["running"] * 3:
        assert time.monotonic() < deadline, states()
        time.sleep(0.1)
    time.sleep(1.0)  # mid-step of the shared call
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    start_worker(**env)
    deadline = time.monotonic() + 120
    while states() != ["succeeded"] * 3:
        assert time.monotonic() < deadline, states()
        time.sleep(0.2)
    for task in tasks:
        row = Task.unscoped_objects.get(pk=task.pk)
        assert row.attempts == 2 and len(row.run_info["batched_with"]) == 2
        assert UsageRecord.unscoped_objects.filter(task_id=row.pk).count() == 1
        assert Image.unscoped_objects.filter(task_id=row.pk).count() == 1


def test_a_fault_after_a_shared_generation_fails_only_its_own_task(redis_conn, batching_worker, monkeypatch):
    """One task of a shared batch cannot be encoded, another's moderation raises: each fails with
    its own code, the third task of the batch succeeds."""
    from generation.engine import runner
    from moderation.image import ImageModerator

    real_encode, real_moderate = runner.encode_image, ImageModerator.moderate

    def encode(image, output_format, quality=None):
        if output_format == "webp":
            raise OSError("encoder error -2 when writing image file")
        return real_encode(image, output_format, quality)

    def moderate(self, images, policy):
        if len(images) == 3:
            raise RuntimeError("onnxruntime: RUNTIME_EXCEPTION")
        return real_moderate(self, images, policy)

    monkeypatch.setattr(runner, "encode_image", encode)
    monkeypatch.setattr(ImageModerator, "moderate", moderate)
    clients = [api_client(TenantFactory()) for _ in range(3)]
    unencodable = submit(clients[0], "one", 1, output_format="webp")
    unmoderated = submit(clients[1], "two", 3)
    fine = submit(clients[2], "three", 2)
    batching_worker()
    rows = {t.pk: Task.unscoped_objects.get(pk=t.pk) for t in (unencodable, unmoderated, fine)}
    assert all(len(row.run_info["batched_with"]) == 2 for row in rows.values())
    assert (rows[unencodable.pk].state, rows[unencodable.pk].error_code) == ("failed", "generation_failed")
    assert "encoding" in rows[unencodable.pk].error_detail
    assert (rows[unmoderated.pk].state, rows[unmoderated.pk].error_code) == ("failed", "moderation_failed")
    assert rows[fine.pk].state == "succeeded" and Image.unscoped_objects.filter(task_id=fine.pk).count() == 2
    assert not UsageRecord.unscoped_objects.filter(task_id__in=[unencodable.pk, unmoderated.pk]).exists()

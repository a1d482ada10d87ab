"""Faults after the images are generated: an image that cannot be encoded, an image moderator that
raises, a storage that is down or fails part-way. Each fails only the task it belongs to, with its
own code (generation_failed, moderation_failed, storage_failed) and a detail naming the stage;
nothing of it stays in storage, nothing is charged (the prepaid hold goes back), its callback is
scheduled as for any failure, and the same worker goes on to succeed with the next task.

Only the fault itself is injected (a raising encoder, moderator or storage write, or S3 stopped);
the worker, the database, Redis, billing and storage are real."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from billing.models import BillingAccount, CreditEntry, UsageRecord
from billing.reconcile import reconcile as reconcile_billing
from callbacks.models import CallbackDelivery
from generation import storage
from generation.engine import runner
from generation.models import Task
from moderation.image import ImageModerator
from tests.test_multihost import MotoServer

pytestmark = pytest.mark.django_db(transaction=True)


def submit(api, receiver, **options) -> str:
    body = {"text_data": "a lighthouse", "options": {"num_images": 2, **options}, "callback_url": receiver.url}
    response = api.post("/api/v2/task/async", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["id"]


def local_files(task_id: str, settings) -> list[Path]:
    folder = Path(settings.STORAGES["images"]["OPTIONS"]["location"]) / "image_generation" / task_id
    return sorted(folder.iterdir()) if folder.is_dir() else []


def assert_failed_alone(api, task_id: str, *, code: str, status: int, detail: str) -> None:
    """Failed with ``code`` and ``detail``, no image recorded, nothing charged (the hold released
    once), one callback scheduled for the failure."""
    task = Task.unscoped_objects.get(pk=task_id)
    assert (task.state, task.error_code, task.error_detail) == ("failed", code, detail)
    assert task.charge == 0 and not task.images.exists()
    error = api.get(f"/api/v2/task/{task_id}").json()["error"]
    assert (error["code"], error["status"], error["detail"]) == (code, status, detail)
    assert "moderation" not in error  # nothing was decided about the images
    assert not UsageRecord.unscoped_objects.filter(task_id=task_id).exists()
    kinds = sorted(CreditEntry.unscoped_objects.filter(task_id=task_id).values_list("kind", flat=True))
    assert kinds == ["hold", "release"]
    events = list(CallbackDelivery.unscoped_objects.filter(task_id=task_id).values_list("event_type", flat=True))
    assert events == ["task.failed"]


def assert_succeeded(task_id: str, images: int = 2) -> Task:
    task = Task.unscoped_objects.get(pk=task_id)
    assert task.state == "succeeded", (task.error_code, task.error_detail)
    assert task.images.exclude(storage_path="").count() == images and task.charge > 0
    assert UsageRecord.unscoped_objects.filter(task_id=task_id).count() == 1
    assert "capture" in CreditEntry.unscoped_objects.filter(task_id=task_id).values_list("kind", flat=True)
    events = list(CallbackDelivery.unscoped_objects.filter(task_id=task_id).values_list("event_type", flat=True))
    assert events == ["task.succeeded"]
    return task


def assert_operators_see(client, code: str, task_id: str) -> None:
    """The console's failures page groups the task under its code, and the admin's error-code
    filter offers the code and finds the task."""
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "x"))
    page = client.get("/admin/console/failures/?window=24h").content.decode()
    assert f'data-code="{code}"' in page and task_id in page
    listed = client.get("/admin/generation/task/", {"error_code__exact": code}).content.decode()
    assert f"?error_code__exact={code}" in listed and task_id in listed


def assert_books_balance(project) -> None:
    assert BillingAccount.unscoped_objects.get(tenant=project.tenant).credit_held == 0
    assert reconcile_billing() == []  # ledger, rollups and credit agree


def assert_only_the_faulty_one_failed(api, client, settings, project, faulty, good, *, code, detail) -> None:
    """The faulty task failed alone (a 500-class code) with none of its files kept; the good one
    after it, on the same burst worker, succeeded with its two; the books balance; operators see it."""
    assert_failed_alone(api, faulty, code=code, status=500, detail=detail)
    assert local_files(faulty, settings) == []
    assert_succeeded(good)
    assert len(local_files(good, settings)) == 2
    assert_books_balance(project)
    assert_operators_see(client, code, faulty)


def test_an_image_that_cannot_be_encoded_fails_only_its_task_with_generation_failed(
    prepaid_api, prepaid_project, callback_settings, receiver, run_worker, monkeypatch, settings, client
):
    real = runner.encode_image

    def encode(image, output_format, quality=None):  # this Pillow's WebP encoder is broken
        if output_format == "webp":
            raise OSError("encoder error -2 when writing image file")
        return real(image, output_format, quality)

    monkeypatch.setattr(runner, "encode_image", encode)
    faulty = submit(prepaid_api, receiver, output_format="webp")
    good = submit(prepaid_api, receiver)
    run_worker()  # one worker, in burst mode: both jobs, one after the other

    detail = "Generation failed while encoding the images (OSError)."
    assert_only_the_faulty_one_failed(prepaid_api, client, settings, prepaid_project, faulty, good,
                                      code="generation_failed", detail=detail)  # fmt: skip


def test_an_image_moderator_that_raises_fails_closed_only_its_task_with_moderation_failed(
    prepaid_api, prepaid_project, callback_settings, receiver, run_worker, monkeypatch, settings, client
):
    real = ImageModerator.moderate

    def moderate(self, images, policy):  # the detector's runtime fails on the faulty task's 3 images
        if len(images) == 3:
            raise RuntimeError("onnxruntime: [ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION")
        return real(self, images, policy)

    monkeypatch.setattr(ImageModerator, "moderate", moderate)
    faulty = submit(prepaid_api, receiver, num_images=3)
    good = submit(prepaid_api, receiver)
    run_worker()

    detail = "Image moderation failed (RuntimeError); no image was stored or charged."
    # fail closed: nothing unmoderated is stored
    assert_only_the_faulty_one_failed(prepaid_api, client, settings, prepaid_project, faulty, good,
                                      code="moderation_failed", detail=detail)  # fmt: skip


def test_a_storage_write_failing_part_way_removes_what_the_task_stored_and_fails_it_with_storage_failed(
    prepaid_api, prepaid_project, callback_settings, receiver, run_worker, monkeypatch, settings, client
):
    real = storage.save_image
    written = []

    def save_image(path, data):  # the disk fills up at the faulty task's third image
        if path.startswith(f"image_generation/{faulty}/image2_"):
            raise OSError(28, "No space left on device")
        written.append(real(path, data))
        return written[-1]

    monkeypatch.setattr(storage, "save_image", save_image)
    faulty = submit(prepaid_api, receiver, num_images=3)
    good = submit(prepaid_api, receiver)
    run_worker()

    assert [p for p in written if faulty in p] == [
        f"image_generation/{faulty}/image{i}_1024_1024.png" for i in range(2)
    ]  # two images were written before the failure...
    detail = "Storing the images failed (OSError); no image was kept or charged."
    assert_failed_alone(prepaid_api, faulty, code="storage_failed", status=503, detail=detail)
    assert local_files(faulty, settings) == []  # ...and are gone
    assert_succeeded(good)
    assert len(local_files(good, settings)) == 2
    assert_books_balance(prepaid_project)
    assert_operators_see(client, "storage_failed", faulty)


def wait_for_state(task_id: str, states: tuple[str, ...], timeout: float = 120) -> Task:
    deadline = time.monotonic() + timeout
    while (task := Task.unscoped_objects.get(pk=task_id)).state not in states:
        assert time.monotonic() < deadline, f"task {task_id} is still {task.state}"
        time.sleep(0.1)
    return task


@pytest.mark.slow
def test_s3_down_fails_the_task_with_storage_failed_and_the_worker_process_goes_on_when_it_is_back(
    prepaid_api, prepaid_project, callback_settings, receiver, start_worker, tmp_path
):
    s3 = MotoServer(tmp_path / "moto.log")
    s3.start()
    try:
        s3.client().create_bucket(Bucket="images")
        worker = start_worker(
            IMAGE_STORAGE="s3",
            AWS_STORAGE_BUCKET_NAME="images",
            AWS_S3_ENDPOINT_URL=s3.url,
            AWS_S3_REGION_NAME="us-east-1",
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_MAX_ATTEMPTS="2",
        )
        s3.stop()  # storage down: connections refused
        faulty = submit(prepaid_api, receiver)
        wait_for_state(faulty, ("succeeded", "failed"))

        s3.start()  # back, on the same address (empty: its bucket made again)
        s3.client().create_bucket(Bucket="images")
        good = submit(prepaid_api, receiver)
        wait_for_state(good, ("succeeded", "failed"))

        detail = "Storing the images failed (EndpointConnectionError); no image was kept or charged."
        assert_failed_alone(prepaid_api, faulty, code="storage_failed", status=503, detail=detail)
        task = assert_succeeded(good)
        assert task.worker_name == Task.unscoped_objects.get(pk=faulty).worker_name  # the same worker
        assert worker.poll() is None
        keys = sorted(obj["Key"] for obj in s3.client().list_objects_v2(Bucket="images")["Contents"])
        assert keys == [f"image_generation/{good}/image{i}_1024_1024.png" for i in range(2)]
        assert_books_balance(prepaid_project)
    finally:
        s3.stop()

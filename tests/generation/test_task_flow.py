"""Tasks through the API and a real rq worker (burst mode, in this process) with the tiny model."""

import base64
import io
import json
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image as PILImage

from generation.models import Image, Task
from tests.conftest import SEED_REQUEST, images_of, poll, problem, submit

pytestmark = pytest.mark.django_db(transaction=True)


def test_seed_request_async_to_succeeded_with_1024_png_links(api, anon, run_worker):
    queued = submit(api)
    assert queued["state"] == "queued"
    assert queued["status"][0]["status"] == {"code": "202", "message": "QUEUED"}
    assert queued["status"][0]["response"]["output"] == []

    run_worker()
    done = poll(api, queued["id"])
    assert done["state"] == "succeeded"
    assert done["status"][0]["status"] == {"code": "0", "message": "SUCCESS"}
    assert done["error"] is None
    images = images_of(done)
    assert [i["index"] for i in images] == [0, 1, 2]
    seed = done["status"][0]["response"]["input"]["options"]["seed"]
    assert [i["seed"] for i in images] == [(seed + n) % 2**32 for n in range(3)]
    for image in images:
        assert image["path"] == f"image_generation/{done['id']}/image{image['index']}_1024_1024.png"
        assert (image["width"], image["height"], image["message"]) == (1024, 1024, "200")
        # The link needs no API key: it is signed and expires.
        response = anon.get(image["url"].removeprefix("http://testserver"))
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        png = PILImage.open(io.BytesIO(b"".join(response.streaming_content)))
        assert png.format == "PNG" and png.size == (1024, 1024)

    task = Task.unscoped_objects.get(pk=done["id"])
    assert task.run_info["model"] == "tiny" and task.model_version.startswith("tiny-")
    assert task.run_info["scheduler"] == "EulerDiscreteScheduler"
    assert task.run_info["steps"] == 4 and task.run_info["device"] == "cpu" and task.run_info["dtype"] == "float32"
    assert task.run_info["batches"] == [3]
    assert set(task.timings_ms) >= {"queue_wait", "generation", "storage", "total"}
    assert task.attempts == 1 and task.started_at and task.finished_at
    assert done["status"][0]["response"]["input"]["model_version"] == task.model_version


def test_same_seed_same_images_and_negative_prompt_matters(api, run_worker):
    body = {"text_data": "a lighthouse", "options": {"seed": 42, "num_images": 2, "neg_text": "fog"}}
    first, second = submit(api, body), submit(api, body)
    other_neg = submit(api, {**body, "options": {**body["options"], "neg_text": "sun"}})
    run_worker()
    hashes = [[i["sha256"] for i in images_of(poll(api, t["id"]))] for t in (first, second, other_neg)]
    assert hashes[0] == hashes[1]
    assert [i["seed"] for i in images_of(poll(api, first["id"]))] == [42, 43]
    assert hashes[2][0] != hashes[0][0] and hashes[2][1] != hashes[0][1]


def test_cancel_queued_task_is_skipped_by_the_worker(api, run_worker):
    task = submit(api)
    response = api.post(f"/api/v2/task/{task['id']}/cancel")
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "cancelled" and body["status"][0]["status"]["message"] == "CANCELLED"
    assert body["status"][0]["response"]["input"]["charge"] == "0.00000"
    run_worker()
    assert poll(api, task["id"])["state"] == "cancelled"
    assert not Image.unscoped_objects.filter(task_id=task["id"]).exists()
    again = api.post(f"/api/v2/task/{task['id']}/cancel")
    assert again.status_code == 409 and problem(again)["code"] == "task_not_cancellable"


def test_finished_task_cannot_be_cancelled(api, run_worker):
    task = submit(api)
    run_worker()
    response = api.post(f"/api/v2/task/{task['id']}/cancel")
    assert response.status_code == 409
    assert problem(response)["task_id"] == task["id"]
    assert poll(api, task["id"])["state"] == "succeeded"


def test_storage_failure_fails_the_task_with_a_clear_code(api, run_worker, settings, unwritable_dir):
    settings.STORAGES = {
        **settings.STORAGES,
        "images": {"BACKEND": settings.STORAGES["images"]["BACKEND"], "OPTIONS": {"location": unwritable_dir}},
    }
    task = submit(api)
    run_worker()
    failed = poll(api, task["id"])
    assert failed["state"] == "failed"
    assert failed["error"]["code"] == "storage_failed" and failed["error"]["status"] == 503
    assert failed["error"]["task_id"] == task["id"]
    assert failed["status"][0]["status"]["code"] == "503"
    assert failed["status"][0]["status"]["message"].startswith("FAILED: ")
    assert failed["status"][0]["response"]["output"] == []


def test_a_job_for_a_task_that_is_not_queued_changes_nothing(api, run_worker):
    from generation.jobs import run_generation

    task = submit(api)
    run_worker()
    before = Task.unscoped_objects.get(pk=task["id"])
    assert run_generation(task["id"]).startswith("skipped")  # a replayed job
    assert run_generation(str(uuid.uuid4())).startswith("skipped")
    after = Task.unscoped_objects.get(pk=task["id"])
    assert (after.state, after.attempts, after.finished_at) == (before.state, before.attempts, before.finished_at)
    assert Image.unscoped_objects.filter(task_id=task["id"]).count() == 3


def test_redis_down_is_503_and_the_task_is_not_left_queued(api, redis_down, project):
    response = api.post("/api/v2/task/async", SEED_REQUEST, format="json")
    assert response.status_code == 503
    body = problem(response)
    assert body["code"] == "service_unavailable" and response["Retry-After"]
    task = Task.objects.for_tenant(project.tenant).get(pk=body["task_id"])
    assert task.state == "failed" and task.error_code == "service_unavailable"
    assert task.charge == 0


def test_image_links_expire_and_cannot_be_forged(api, anon, run_worker, settings):
    task = submit(api)
    run_worker()
    url = images_of(poll(api, task["id"]))[0]["url"].removeprefix("http://testserver")
    assert anon.get(url).status_code == 200
    forged = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    assert problem(anon.get(forged))["code"] == "not_found"
    # The signature covers the path: another file's name with this link's signature is refused.
    prefix, token = url.rsplit("/", 1)
    payload, timestamp, signature = token.split(":")
    path = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["p"]
    swapped = (
        base64.urlsafe_b64encode(json.dumps({"p": path.replace("image0", "image1")}).encode()).decode().rstrip("=")
    )
    assert anon.get(f"{prefix}/{swapped}:{timestamp}:{signature}").status_code == 404
    settings.IMAGE_LINK_TTL = -1
    expired = anon.get(url)
    assert expired.status_code == 404 and "expired" in problem(expired)["detail"]


def test_list_paginates_with_cursor_and_filters(api, run_worker):
    ids = [submit(api, {"text_data": f"prompt {n}"})["id"] for n in range(5)]
    api.post(f"/api/v2/task/{ids[0]}/cancel")
    page = api.get("/api/v2/tasks?limit=2").json()
    assert [t["id"] for t in page["results"]] == ids[::-1][:2]
    seen = [t["id"] for t in page["results"]]
    while page["next"]:
        page = api.get(page["next"].removeprefix("http://testserver")).json()
        seen += [t["id"] for t in page["results"]]
    assert seen == ids[::-1]

    assert [t["id"] for t in api.get("/api/v2/tasks?state=cancelled").json()["results"]] == [ids[0]]
    queued = api.get("/api/v2/tasks?state=queued,running").json()["results"]
    assert sorted(t["id"] for t in queued) == sorted(ids[1:])
    created = Task.unscoped_objects.get(pk=ids[2]).created_at.isoformat()
    after = api.get("/api/v2/tasks", {"created_after": created}).json()["results"]
    assert [t["id"] for t in after] == ids[2:][::-1]
    before = api.get("/api/v2/tasks", {"created_before": created}).json()["results"]
    assert [t["id"] for t in before] == ids[:2][::-1]


@pytest.mark.parametrize(
    "query,field",
    [
        ("state=done", "state"),
        ("created_after=yesterday", "created_after"),
        ("limit=abc", None),
        ("project_id=x", "project_id"),
    ],
)
def test_list_rejects_bad_filters(api, query, field):
    response = api.get(f"/api/v2/tasks?{query}")
    if field is None:  # DRF falls back to the default page size for a bad limit
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert field in problem(response)["errors"]


def test_list_query_count_does_not_grow_with_rows(api, run_worker):
    def count_queries():
        # The key's last-used time is written at most once a minute: of two calls in a row, one
        # reads only (however long the generation between counts took).
        counts = []
        for _ in range(2):
            with CaptureQueriesContext(connection) as ctx:
                assert api.get("/api/v2/tasks?limit=100").status_code == 200
            counts.append(len(ctx.captured_queries))
        return min(counts)

    for n in range(2):
        submit(api, {"text_data": f"p{n}", "options": {"num_images": 2}})
    run_worker()
    few = count_queries()
    for n in range(6):
        submit(api, {"text_data": f"q{n}", "options": {"num_images": 2}})
    run_worker()
    assert count_queries() == few
    assert few <= 3  # key lookup, tasks, images

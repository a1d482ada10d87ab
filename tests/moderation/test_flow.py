"""Moderation through the API and a real rq worker: prompts blocked before generation, images
blocked (strict) or withheld (partial) after it, and charges that match what was returned."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import django_rq
import pytest
from django.conf import settings as django_settings

from generation.models import Image, Task
from tests.conftest import images_of, poll, problem, submit

pytestmark = pytest.mark.django_db(transaction=True)

FACE_FEMALE_POLICY = {"image_thresholds": {"FACE_FEMALE": 0.5}}


def price(images: int) -> str:
    """What ``images`` delivered images cost a new tenant on the default plan (first tier)."""
    return f"{Decimal('0.00500') * images:.5f}"


def stored_files(task_id: str) -> list[Path]:
    root = Path(django_settings.STORAGES["images"]["OPTIONS"]["location"])
    return sorted(root.glob(f"**/{task_id}/*"))


def charge_of(task: dict) -> str:
    return task["status"][0]["response"]["input"]["charge"]


def test_blocked_prompt_fails_at_once_without_a_job_or_a_charge(api, settings):
    body = {"text_data": "a decapitated body in the street", "options": {"num_images": 3}}
    task = submit(api, body)
    assert task["state"] == "failed"
    assert task["error"]["code"] == "moderation_blocked_prompt" and task["error"]["status"] == 422
    assert "violence" in task["error"]["detail"]
    assert task["error"]["moderation"]["prompt"] == {"decision": "block", "categories": ["violence"]}
    assert task["moderation"]["prompt"]["categories"] == ["violence"]
    assert task["status"][0]["status"]["code"] == "422"
    assert charge_of(task) == "0.00000"
    queue = django_rq.get_queue(settings.MODEL_REGISTRY["tiny"].queue)
    assert queue.count == 0  # no generation was enqueued
    row = Task.unscoped_objects.get(pk=task["id"])
    assert row.started_at is None and row.attempts == 0 and row.images.count() == 0
    assert "moderation_prompt" in row.timings_ms
    # The rule and the words that fired it are kept for audit, not shown to the client.
    match = row.moderation_report["prompt"]["matches"][0]
    assert (match["rule"], match["words"], match["field"]) == ("violence.gore", ["decapitated"], "text_data")
    assert row.moderation_report["prompt"]["rules"] == ["violence.gore"]
    assert "violence.gore" not in str(task) and "matches" not in str(task["error"])


def test_blocked_prompt_on_sync_is_a_422_problem_with_the_categories(api):
    response = api.post(
        "/api/v2/task/sync", {"text_data": "a calm lake", "options": {"neg_text": "n4k3d child"}}, format="json"
    )
    assert response.status_code == 422
    body = problem(response)
    assert body["code"] == "moderation_blocked_prompt"
    assert body["moderation"]["prompt"]["categories"] == ["sexual", "minors"]
    assert body["task"]["state"] == "failed"


def test_a_project_term_blocks_only_that_projects_prompts(api, project, anon):
    project.moderation_policy = {"terms": {"violence": ["laser sword"]}}
    project.save()
    assert submit(api, {"text_data": "a laser sword duel"})["error"]["code"] == "moderation_blocked_prompt"
    from tests.factories import make_key

    other = anon
    other.credentials(HTTP_AUTHORIZATION=f"Token {make_key()}")
    assert submit(other, {"text_data": "a laser sword duel"})["state"] == "queued"


@pytest.mark.usefixtures("still_models")
def test_strict_the_astronaut_fails_with_its_score_under_a_policy_blocking_female_faces(api, project, run_worker):
    project.model = "astro"
    project.moderation_policy = FACE_FEMALE_POLICY
    project.save()
    task = submit(api, {"text_data": "an astronaut", "options": {"num_images": 2}})
    run_worker("astro")
    done = poll(api, task["id"])
    assert done["state"] == "failed"
    error = done["error"]
    assert error["code"] == "moderation_blocked_image" and error["status"] == 422
    assert "FACE_FEMALE 0." in error["detail"]
    withheld = error["moderation"]["withheld"]
    assert [w["index"] for w in withheld] == [0, 1]
    assert withheld[0]["labels"] == ["FACE_FEMALE"] and withheld[0]["scores"]["FACE_FEMALE"] > 0.6
    assert withheld[0]["thresholds"] == {"FACE_FEMALE": 0.5}
    assert done["status"][0]["response"]["output"] == [] and charge_of(done) == "0.00000"
    # Nothing was stored; the audit keeps hashes, scores and the decision per image.
    assert stored_files(task["id"]) == []
    rows = list(Image.unscoped_objects.filter(task_id=task["id"]))
    assert [r.flagged for r in rows] == [True, True] and all(r.storage_path == "" for r in rows)
    assert rows[0].moderation["decision"] == "block" and rows[0].moderation["scores"]["FACE_FEMALE"] > 0.6
    row = Task.unscoped_objects.get(pk=task["id"])
    assert row.moderation_report["detectors"][0].startswith("nudenet-")
    assert row.timings_ms["moderation"] > 0 and row.images_delivered == 0


@pytest.mark.usefixtures("still_models")
def test_with_the_default_policy_the_astronaut_is_delivered_and_billed(api, project, anon, run_worker):
    project.model = "astro"
    project.save()
    task = submit(api, {"text_data": "an astronaut", "options": {"num_images": 2}})
    run_worker("astro")
    done = poll(api, task["id"])
    assert done["state"] == "succeeded"
    assert len(images_of(done)) == 2 and charge_of(done) == price(2)
    assert done["moderation"]["images_withheld"] == 0
    row = Image.unscoped_objects.filter(task_id=task["id"]).first()
    assert row.moderation["decision"] == "pass" and row.moderation["scores"]["FACE_FEMALE"] > 0.6
    assert anon.get(images_of(done)[0]["url"].removeprefix("http://testserver")).status_code == 200
    share = done["timings_ms"]["moderation"] / done["timings_ms"]["total"]
    assert 0 < share < 1


@pytest.mark.usefixtures("still_models")
def test_partial_returns_only_the_images_that_pass_and_bills_only_those(api, project, anon, run_worker):
    project.model = "mixed"
    project.moderation_policy = FACE_FEMALE_POLICY
    project.save()
    body = {"text_data": "space", "options": {"num_images": 3, "seed": 0, "moderation": "partial"}}
    task = submit(api, body)
    run_worker("mixed")
    done = poll(api, task["id"])
    assert done["state"] == "succeeded"
    images = images_of(done)
    assert [i["index"] for i in images] == [1]  # astronaut, rocket, astronaut: only the rocket passes
    assert charge_of(done) == price(1)
    assert done["moderation"]["mode"] == "partial"
    assert done["moderation"]["images_withheld"] == 2
    assert [(w["index"], w["labels"]) for w in done["moderation"]["withheld"]] == [
        (0, ["FACE_FEMALE"]),
        (2, ["FACE_FEMALE"]),
    ]
    assert anon.get(images[0]["url"].removeprefix("http://testserver")).status_code == 200
    assert [p.name for p in stored_files(task["id"])] == ["image1_1024_1024.png"]
    row = Task.unscoped_objects.get(pk=task["id"])
    assert row.images_delivered == 1 and row.charge == Decimal(price(1))


@pytest.mark.usefixtures("still_models")
def test_strict_fails_the_whole_call_for_one_flagged_image(api, project, run_worker):
    project.model = "mixed"
    project.moderation_policy = FACE_FEMALE_POLICY
    project.save()
    task = submit(api, {"text_data": "space", "options": {"num_images": 2, "seed": 1}})  # rocket, astronaut
    run_worker("mixed")
    done = poll(api, task["id"])
    assert done["error"]["code"] == "moderation_blocked_image"
    assert [w["index"] for w in done["error"]["moderation"]["withheld"]] == [1]
    assert stored_files(task["id"]) == []  # not even the image that passed
    assert charge_of(done) == "0.00000"


@pytest.mark.usefixtures("still_models")
def test_partial_with_every_image_flagged_fails(api, project, run_worker):
    project.model = "astro"
    project.moderation_policy = FACE_FEMALE_POLICY
    project.save()
    task = submit(api, {"text_data": "an astronaut", "options": {"num_images": 2, "moderation": "partial"}})
    run_worker("astro")
    done = poll(api, task["id"])
    assert done["error"]["code"] == "moderation_blocked_image"
    assert done["moderation"]["images_withheld"] == 2 and charge_of(done) == "0.00000"


def test_a_configured_clip_checker_blocks_through_the_worker(
    api, project, run_worker, settings, tmp_path, fresh_moderator
):
    from tests.moderation.tiny_clip import save_tiny_clip

    settings.MODERATION_CLIP_PATH = str(save_tiny_clip(tmp_path / "clip"))
    project.moderation_policy = {"image_thresholds": {"clip:gore": 0.0}}
    project.save()
    task = submit(api, {"text_data": "a lighthouse"})
    run_worker()
    done = poll(api, task["id"])
    assert done["error"]["code"] == "moderation_blocked_image"
    assert done["error"]["moderation"]["withheld"][0]["labels"] == ["clip:gore"]
    row = Task.unscoped_objects.get(pk=task["id"])
    assert row.moderation_report["detectors"][1] == f"clip:{settings.MODERATION_CLIP_PATH}"


@pytest.fixture
def staff(client):
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw"))
    return client


@pytest.mark.usefixtures("still_models")
def test_the_admin_shows_each_images_scores_and_decision(api, project, run_worker, staff):
    project.model = "mixed"
    project.moderation_policy = FACE_FEMALE_POLICY
    project.save()
    body = {"text_data": "space", "options": {"num_images": 2, "seed": 0, "moderation": "partial"}}
    task = submit(api, body)
    run_worker("mixed")
    page = staff.get(f"/admin/generation/task/{task['id']}/change/").content.decode()
    assert "withheld (flagged)" in page and "delivered" in page
    assert "FACE_FEMALE (≥ 0.5)" in page and "FACE_FEMALE: 0.7" in page
    assert "moderation share of the task time" in page.lower()

    blocked = submit(api, {"text_data": "gore everywhere"})
    page = staff.get(f"/admin/generation/task/{blocked['id']}/change/").content.decode()
    assert "violence in text_data: “gore” <small>(rule violence.gore)</small>" in page


def test_the_admin_refuses_an_invalid_policy(project, staff):
    url = f"/admin/accounts/project/{project.pk}/change/"
    form = {"tenant": project.tenant_id, "name": project.name, "model": "", "retention_days": 30}
    form.update({"api_keys-TOTAL_FORMS": 0, "api_keys-INITIAL_FORMS": 0})  # the keys listed on the page
    response = staff.post(url, {**form, "moderation_policy": '{"image_thresholds": {"FACE_FEMALE": 7}}'})
    assert response.status_code == 200 and "FACE_FEMALE must be from 0 to 1" in response.content.decode()
    response = staff.post(url, {**form, "moderation_policy": '{"image_thresholds": {"FACE_FEMALE": 0.5}}'})
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.moderation_policy == FACE_FEMALE_POLICY


@pytest.mark.slow
def test_sync_answers_422_with_the_score_and_the_worker_loads_its_detectors_once(
    api, project, still_models, start_worker
):
    worker = start_worker(DEFAULT_MODEL="astro", GENERATION_MODELS=still_models)
    project.model = "astro"
    project.moderation_policy = FACE_FEMALE_POLICY
    project.save()
    for _ in range(2):
        response = api.post("/api/v2/task/sync", {"text_data": "an astronaut"}, format="json")
        assert response.status_code == 422
        body = problem(response)
        assert body["code"] == "moderation_blocked_image"
        assert body["moderation"]["withheld"][0]["scores"]["FACE_FEMALE"] > 0.6
        assert body["task"]["state"] == "failed"
    log = worker.log_path.read_text()
    assert log.count("loaded image moderation") == 1 and log.count("loaded model astro") == 1
    assert "image moderation: nudenet-" in log


def test_the_dashboard_counts_prompt_blocks_per_rule(api, staff):

    from console.metrics import WINDOWS, dashboard

    for prompt in ("a decapitated body", "gore, a decapitated soldier", "an 11-year-old in a thong", "a calm lake"):
        submit(api, {"text_data": prompt})
    rows = dashboard(window=WINDOWS["24h"])["moderation_rules"]
    assert rows == [
        {"category": "violence", "rule": "violence.gore", "tasks": 2},
        {"category": "minors", "rule": "minors.minor_with_sexualising", "tasks": 1},
    ]
    page = staff.get("/admin/console/").content.decode()
    assert '<tr data-rule="violence.gore"><td>violence</td><td>violence.gore</td><td class="num">2</td>' in page

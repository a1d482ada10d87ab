"""What an operator does in the admin, in a real browser: find tasks by failure code, look at a
task's images, create a key and see it once, suspend a tenant and see its key refused."""

from __future__ import annotations

import io
import json
import re
import urllib.error
import urllib.request

from django.utils import timezone
from PIL import Image as PILImage
from playwright.sync_api import expect

from generation import services, storage
from generation.models import Image, Task
from tests.factories import ProjectFactory, make_key


def api_get(live_server, raw_key: str, path: str = "/api/v2/tasks") -> tuple[int, str, dict]:
    request = urllib.request.Request(live_server.url + path, headers={"Authorization": f"Token {raw_key}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], json.loads(error.read())


def make_task(project, **fields) -> Task:
    defaults = {"text_data": "a lighthouse", "num_images": 1, "seed": 1, "model": "tiny", "state": "failed"}
    return Task.unscoped_objects.create(tenant=project.tenant, project=project, **{**defaults, **fields})


def test_filter_tasks_by_failure_code(admin_page):
    project = ProjectFactory()
    broken = [make_task(project, error_code="generation_failed") for _ in range(2)]
    others = [
        make_task(project, error_code="service_unavailable"),
        make_task(project, error_code="moderation_blocked_prompt"),
        make_task(project, state="succeeded"),
    ]
    admin_page.goto("/admin/generation/task/")
    expect(admin_page.locator("#result_list tbody tr")).to_have_count(5)
    admin_page.locator("#changelist-filter").get_by_role("link", name="generation_failed").click()
    admin_page.wait_for_url(re.compile(r"error_code__exact=generation_failed"))
    rows = admin_page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    shown = " ".join(rows.all_inner_texts())
    assert all(str(t.pk) in shown for t in broken) and not any(str(t.pk) in shown for t in others)
    expect(admin_page.locator("#result_list")).to_contain_text("generation_failed")


def png(color) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (64, 64), color).save(out, format="PNG")
    return out.getvalue()


def test_task_page_shows_thumbnails_of_delivered_images_only(admin_page):
    project = ProjectFactory()
    task = make_task(
        project, state="succeeded", num_images=3, moderation="partial", images_delivered=2,
        started_at=timezone.now(), finished_at=timezone.now(),
    )  # fmt: skip
    for index in range(3):
        flagged = index == 2  # withheld by moderation: never stored, never shown
        path = "" if flagged else storage.save_image(storage.image_path(task.pk, index, 1024, 1024), png("teal"))
        Image.unscoped_objects.create(
            tenant=project.tenant, task=task, index=index, seed=index + 1, width=1024, height=1024,
            storage_path=path, sha256="0" * 64, size_bytes=1, flagged=flagged,
            moderation={
                "flagged": ["FEMALE_BREAST_EXPOSED"] if flagged else [],
                "scores": {"FEMALE_BREAST_EXPOSED": 0.9 if flagged else 0.01},
            },
        )  # fmt: skip
    admin_page.goto(f"/admin/generation/task/{task.pk}/change/")
    thumbnails = admin_page.locator("img.task-thumbnail")
    expect(thumbnails).to_have_count(2)
    admin_page.wait_for_function(
        "() => [...document.querySelectorAll('img.task-thumbnail')].every(i => i.complete && i.naturalWidth > 0)"
    )
    assert thumbnails.evaluate_all("imgs => imgs.map(i => i.naturalWidth)") == [64, 64]
    assert all("/api/v2/image/" in src for src in thumbnails.evaluate_all("imgs => imgs.map(i => i.src)"))
    rows = admin_page.locator(".inline-related tbody tr.has_original, .inline-related tbody tr.form-row")
    withheld = rows.filter(has_text="withheld (flagged)")
    expect(withheld).to_have_count(1)
    expect(withheld.locator("img")).to_have_count(0)
    expect(withheld).to_contain_text("FEMALE_BREAST_EXPOSED")


def test_create_a_key_and_see_it_once(admin_page, live_server):
    project = ProjectFactory()
    admin_page.goto(f"/admin/accounts/project/{project.pk}/change/")
    admin_page.get_by_role("link", name="Create an API key for this project").click()
    admin_page.fill("#id_name", "ci")
    admin_page.locator("input[name=_save]").click()
    key_box = admin_page.locator("#new-api-key")
    expect(key_box).to_be_visible()
    raw = key_box.input_value()
    assert re.fullmatch(r"igk_[0-9a-f]{12}_[A-Za-z0-9_-]+", raw)
    expect(admin_page.locator(".api-key-issued")).to_contain_text("shown only on this page, once")
    assert api_get(live_server, raw)[0] == 200

    admin_page.get_by_role("link", name="I have copied it").click()
    expect(admin_page.locator("#content")).to_contain_text(raw[:16])  # the key's page: its prefix, not its secret
    for url in (admin_page.url, "/admin/accounts/apikey/", f"/admin/accounts/project/{project.pk}/change/", "/admin/"):
        admin_page.goto(url)
        assert raw not in admin_page.content(), url


def test_suspend_a_tenant_and_its_key_is_refused(admin_page, live_server):
    project = ProjectFactory()
    raw = make_key(project)
    assert api_get(live_server, raw)[0] == 200
    admin_page.goto(f"/admin/accounts/tenant/{project.tenant_id}/change/")
    admin_page.get_by_role("button", name="Suspend").click()
    expect(admin_page.locator(".messagelist")).to_contain_text("their API keys are refused from now on")
    status, content_type, body = api_get(live_server, raw)
    assert (status, content_type, body["code"]) == (403, "application/problem+json", "forbidden")
    assert "suspended" in body["detail"]
    admin_page.get_by_role("button", name="Reactivate").click()
    expect(admin_page.locator(".messagelist")).to_contain_text("their keys work again")
    assert api_get(live_server, raw)[0] == 200


def test_task_page_shows_live_progress_until_the_task_ends(admin_page):
    """The page follows the task's staff-only event stream (a static script: the admin's CSP allows
    no inline one) and shows its end without a reload."""
    task = make_task(ProjectFactory(), state="queued")
    admin_page.goto(f"/admin/generation/task/{task.pk}/change/")
    live = admin_page.locator("#task-live .task-live-text")
    expect(live).to_have_text("queued")
    services.task_cancel(task=task)
    # publishes `done` after its commit
    expect(live).to_have_text("cancelled (reload the page for the outcome)")
    expect(admin_page.locator("#task-live")).to_have_attribute("data-final", "true")

"""The official `openai` SDK against a live server on loopback (gunicorn), with real generation
workers for the two tiny models (rq, burst mode, in this process while the SDK call waits in a
thread): /v1/images/generations, /v1/models, errors, streaming."""

import base64
import io
import threading
import time
import urllib.request

import openai
import pytest
from PIL import Image

from accounts.models import Tenant
from billing.models import UsageRecord
from generation.models import Task
from tests.conftest import gunicorn
from tests.factories import ProjectFactory, TenantFactory, make_key

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def live(tmp_path, run_worker):
    with gunicorn(tmp_path / "gunicorn.log", OPENAI_WAIT_SECONDS="240") as server:
        server.run_worker = run_worker
        yield server


def served(live, call):
    """``call()`` in a thread (the SDK waits for its images) while this thread works the queues of
    both models; returns what it returned, or raises what it raised."""
    outcome = {}

    def run():
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 240
    while thread.is_alive() and time.monotonic() < deadline:
        for model in ("tiny", "tiny-flux"):
            live.run_worker(model)
        thread.join(0.2)
    thread.join(5)
    assert not thread.is_alive(), "the SDK call did not end"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def sdk(base: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0, timeout=300)


def picture(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_the_official_sdk_against_a_live_server(live):
    """One server and two workers for all of it: starting them is most of the time on two cores."""
    images_through_the_sdk(live)
    errors_come_as_the_sdk_classes(live)
    streaming_partial_images_then_completed(live)


def images_through_the_sdk(live):
    project = ProjectFactory()
    client = sdk(live.base, make_key(project))

    listed = {m.id: m for m in client.models.list()}
    assert {"tiny", "tiny-flux"} <= set(listed) and listed["tiny"].object == "model"
    assert client.models.retrieve("tiny-flux").id == "tiny-flux"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("dall-e-9")

    # b64_json, a size, a format; the task underneath is billed to the end user given as `user`.
    raw = served(
        live,
        lambda: client.images.with_raw_response.generate(
            prompt="a lighthouse",
            n=2,
            size="1536x1024",
            response_format="b64_json",
            output_format="webp",
            output_compression=60,
            user="end-user-7",
        ),
    )
    answer = raw.parse()
    assert len(answer.data) == 2 and answer.size == "1536x1024" and answer.output_format == "webp"
    for item in answer.data:
        image = picture(base64.b64decode(item.b64_json))
        assert image.format == "WEBP" and image.size == (1536, 1024)
    task = Task.unscoped_objects.get(pk=raw.headers["x-task-id"])
    assert task.project_id == project.pk and task.end_user == "end-user-7" and task.state == "succeeded"
    assert UsageRecord.unscoped_objects.get(task=task).images == 4  # 1.5 MP: each image counts as 2

    # url (the default), jpeg, the FLUX-like model; the link needs no key.
    answer = served(
        live,
        lambda: client.images.generate(prompt="a harbour", model="tiny-flux", size="1024x1792", output_format="jpeg"),
    )
    with urllib.request.urlopen(answer.data[0].url, timeout=30) as response:
        image = picture(response.read())
    assert image.format == "JPEG" and image.size == (1024, 1792)


def errors_come_as_the_sdk_classes(live):
    project = ProjectFactory()
    client = sdk(live.base, make_key(project))
    with pytest.raises(openai.BadRequestError) as bad:
        client.images.generate(prompt="a house", size="640x480")
    assert bad.value.body["param"] == "size" and bad.value.status_code == 400
    with pytest.raises(openai.BadRequestError) as unknown_model:
        client.images.generate(prompt="a house", model="dall-e-3")
    assert unknown_model.value.body["param"] == "model"
    with pytest.raises(openai.BadRequestError) as blocked:
        client.images.generate(prompt="a decapitated body in the street")
    assert blocked.value.code == "content_policy_violation"
    assert Task.unscoped_objects.get(project=project, error_code="moderation_blocked_prompt").charge == 0

    with pytest.raises(openai.AuthenticationError):
        sdk(live.base, "igk_nope_nope").images.generate(prompt="a house")

    suspended = ProjectFactory(tenant=TenantFactory(status=Tenant.Status.SUSPENDED))
    with pytest.raises(openai.PermissionDeniedError):
        sdk(live.base, make_key(suspended)).models.list()

    limited = sdk(live.base, make_key(ProjectFactory(tenant=TenantFactory(rate_limit_per_minute=1))))
    limited.models.list()
    with pytest.raises(openai.RateLimitError) as limit:
        limited.images.generate(prompt="a house")
    assert limit.value.code == "rate_limit_exceeded"


def streaming_partial_images_then_completed(live):
    client = sdk(live.base, make_key(ProjectFactory()))
    events = served(
        live,
        lambda: list(client.images.generate(prompt="a lighthouse", stream=True, partial_images=2, size="1024x1024")),
    )
    kinds = [event.type for event in events]
    assert kinds == ["image_generation.partial_image"] * 2 + ["image_generation.completed"], kinds
    assert [e.partial_image_index for e in events[:2]] == [0, 1]
    assert picture(base64.b64decode(events[0].b64_json)).format == "PNG"  # decoded from latents
    final = picture(base64.b64decode(events[-1].b64_json))
    assert final.size == (1024, 1024)

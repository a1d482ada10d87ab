"""The customer's choices in v2 options: model, size, format, steps, guidance (DESIGN.md section 10),
their bounds, the model catalog, and what the images really are."""

import io
from decimal import Decimal

import pytest
from PIL import Image as PILImage

from billing.models import UsageRecord
from generation.models import Task
from tests.conftest import images_of, poll, problem, submit

URL = "/api/v2/task/async"


def with_options(**options):
    return {"text_data": "a house", "options": options}


BAD_CHOICES = [
    ("unknown model", with_options(model="nope"), "options.model"),
    ("model not a string", with_options(model=3), "options.model"),
    ("aspect ratio unknown", with_options(aspect_ratio="5:4"), "options.aspect_ratio"),
    ("aspect ratio and width", with_options(aspect_ratio="1:1", width=1024, height=1024), "options.aspect_ratio"),
    ("width alone", with_options(width=1024), "options.height"),
    ("height alone", with_options(height=1024), "options.width"),
    ("width not multiple of 64", with_options(width=1000, height=1024), "options.width"),
    ("width too small", with_options(width=448, height=1024), "options.width"),
    ("height too big", with_options(width=1024, height=2112), "options.height"),
    ("width a float", with_options(width=1024.5, height=1024), "options.width"),
    ("width a bool", with_options(width=True, height=1024), "options.width"),
    ("format unknown", with_options(output_format="gif"), "options.output_format"),
    ("quality with png", with_options(output_quality=80), "options.output_quality"),
    ("quality with explicit png", with_options(output_format="png", output_quality=80), "options.output_quality"),
    ("quality 0", with_options(output_format="jpeg", output_quality=0), "options.output_quality"),
    ("quality 101", with_options(output_format="webp", output_quality=101), "options.output_quality"),
    ("steps 0", with_options(num_inference_steps=0), "options.num_inference_steps"),
    ("steps over the model's max", with_options(num_inference_steps=51), "options.num_inference_steps"),
    ("steps over tiny-flux max", with_options(model="tiny-flux", num_inference_steps=9), "options.num_inference_steps"),
    ("steps a string", with_options(num_inference_steps="many"), "options.num_inference_steps"),
    ("guidance negative", with_options(guidance_scale=-1), "options.guidance_scale"),
    ("guidance over max", with_options(guidance_scale=20.5), "options.guidance_scale"),
    ("guidance on tiny-flux", with_options(model="tiny-flux", guidance_scale=3.5), "options.guidance_scale"),
    ("guidance a bool", with_options(guidance_scale=True), "options.guidance_scale"),
    ("guidance a string", with_options(guidance_scale="NaN"), "options.guidance_scale"),
    ("neg_text on tiny-flux", with_options(model="tiny-flux", neg_text="fog"), "options.neg_text"),
    (
        "top-level neg_text on tiny-flux",
        {"text_data": "a", "neg_text": "fog", "options": {"model": "tiny-flux"}},
        "options.neg_text",
    ),
    ("flux ratio unknown to tiny-flux", with_options(model="tiny-flux", aspect_ratio="5:4"), "options.aspect_ratio"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("case", "body", "field"), BAD_CHOICES, ids=[c[0] for c in BAD_CHOICES])
def test_each_bad_choice_is_a_400_naming_the_option(api, case, body, field):
    for url in (URL, "/api/v2/task/quote"):
        response = api.post(url, body, format="json")
        assert response.status_code == 400, (case, response.content)
        body_out = problem(response)
        assert body_out["code"] == "invalid_request" and field in body_out["errors"], body_out
    assert not Task.unscoped_objects.exists()


@pytest.mark.django_db
def test_good_choices_are_accepted_and_echoed(api):
    options = {
        "model": "tiny",
        "aspect_ratio": "16:9",
        "output_format": "webp",
        "output_quality": 70,
        "num_inference_steps": 2,
        "guidance_scale": 3.5,
    }
    task = submit(api, {"text_data": "a house", "options": options})
    echoed = task["status"][0]["response"]["input"]["options"]
    assert {k: echoed[k] for k in options} == options
    row = Task.unscoped_objects.get(pk=task["id"])
    assert (row.width, row.height, row.output_format, row.output_quality) == (1344, 768, "webp", 70)
    assert (row.steps, row.guidance, row.model) == (2, 3.5, "tiny")
    assert task["reproducibility"]["width"] == 1344 and task["reproducibility"]["output_format"] == "webp"
    # Form bodies (options as a JSON string) take the same options.
    form = api.post(URL, {"text_data": "a door", "options": '{"width": 512, "height": 2048}'})
    assert form.status_code == 200, form.content
    assert Task.unscoped_objects.get(pk=form.json()["id"]).height == 2048


def _open(anon, image) -> PILImage.Image:
    response = anon.get(image["url"].removeprefix("http://testserver"))
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    return response["Content-Type"], PILImage.open(io.BytesIO(data))


@pytest.mark.django_db(transaction=True)
def test_images_have_the_size_and_format_asked_for(api, anon, run_worker):
    cases = [
        ({"aspect_ratio": "16:9", "output_format": "jpeg", "output_quality": 50}, (1344, 768), "JPEG", "jpg"),
        ({"width": 512, "height": 1536, "output_format": "webp"}, (512, 1536), "WEBP", "webp"),
        ({"aspect_ratio": "21:9", "num_inference_steps": 2, "guidance_scale": 1.5}, (1536, 640), "PNG", "png"),
    ]
    tasks = [submit(api, {"text_data": "a house", "options": {**o, "num_images": 2}}) for o, *_ in cases]
    run_worker()
    for task, (_, size, pil_format, extension) in zip(tasks, cases, strict=True):
        done = poll(api, task["id"])
        assert done["state"] == "succeeded", done
        for image in images_of(done):
            assert (image["width"], image["height"]) == size
            assert image["path"].endswith(f"image{image['index']}_{size[0]}_{size[1]}.{extension}")
            content_type, picture = _open(anon, image)
            assert picture.format == pil_format and picture.size == size
            assert content_type == f"image/{pil_format.lower()}"
        row = Task.unscoped_objects.get(pk=task["id"])
        assert row.run_info["batches"] == [2]  # one request's images: still one pipeline call
    record = poll(api, tasks[2]["id"])["reproducibility"]
    assert record["steps"] == 2 and record["guidance"] == 1.5 and record["scheduler"] == "EulerDiscreteScheduler"
    assert record["generation_size"] == [96, 40] and (record["width"], record["height"]) == (1536, 640)
    assert record["device"] == "cpu" and record["dtype"] == "float32" and record["model_version"].startswith("tiny-")
    assert record["seeds"] == [image["seed"] for image in images_of(poll(api, tasks[2]["id"]))]


@pytest.mark.django_db(transaction=True)
def test_steps_change_the_image_and_the_record_remakes_it(api, run_worker):
    base = {"text_data": "a lighthouse", "options": {"seed": 7, "aspect_ratio": "3:2"}}
    fewer = {"text_data": "a lighthouse", "options": {"seed": 7, "aspect_ratio": "3:2", "num_inference_steps": 2}}
    first, again, other = submit(api, base), submit(api, base), submit(api, fewer)
    run_worker()
    sha = [images_of(poll(api, t["id"]))[0]["sha256"] for t in (first, again, other)]
    assert sha[0] == sha[1] != sha[2]


@pytest.mark.django_db(transaction=True)
def test_the_flux_like_model_uses_its_own_sizes_and_queue(api, run_worker):
    task = submit(api, {"text_data": "a house", "options": {"model": "tiny-flux", "aspect_ratio": "16:9"}})
    run_worker("tiny")  # the tiny worker does not take it: another model's queue
    assert poll(api, task["id"])["state"] == "queued"
    run_worker("tiny-flux")
    done = poll(api, task["id"])
    assert done["state"] == "succeeded"
    image = images_of(done)[0]
    assert (image["width"], image["height"]) == (1360, 768)
    assert done["status"][0]["response"]["input"]["model"] == "tiny-flux"
    assert done["reproducibility"]["model"] == "tiny-flux" and done["reproducibility"]["guidance"] == 0.0


@pytest.mark.django_db
def test_catalog_lists_the_registry_with_bounds_price_and_workers(api, anon):
    assert anon.get("/api/v2/models").status_code == 401
    response = api.get("/api/v2/models")
    assert response.status_code == 200
    models = {m["name"]: m for m in response.json()["models"]}
    assert {"tiny", "tiny-flux", "sdxl", "flux-schnell"} <= set(models)
    tiny, flux = models["tiny"], models["tiny-flux"]
    assert tiny["default"] is True and flux["default"] is False
    assert tiny["negative_prompt"] is True and flux["negative_prompt"] is False
    assert tiny["steps"] == {"min": 1, "max": 50, "default": 4}
    assert flux["guidance"] == {"min": 0.0, "max": 0.0, "default": 0.0}
    assert {"aspect_ratio": "16:9", "width": 1344, "height": 768} in tiny["sizes"]
    assert {"aspect_ratio": "16:9", "width": 1360, "height": 768} in flux["sizes"]
    assert tiny["aspect_ratios"][0] == "1:1"
    # The default plan's first image costs 0.00500; tiny-flux costs twice the plan's price.
    assert (tiny["price_per_image"], flux["price_per_image"]) == ("0.00500", "0.01000")
    # No worker runs in this test: the catalog says so, and a request for it still waits, queued.
    assert tiny["workers"] == 0 and tiny["available"] is False
    assert submit(api, {"text_data": "a house", "options": {"model": "sdxl"}})["state"] == "queued"


@pytest.mark.django_db(transaction=True)
def test_catalog_counts_a_live_worker_for_its_model(api, worker_process):
    import time

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        models = {m["name"]: m for m in api.get("/api/v2/models").json()["models"]}
        if models["tiny"]["workers"]:
            break
        time.sleep(0.5)
    assert models["tiny"]["workers"] == 1 and models["tiny"]["available"] is True
    assert models["tiny-flux"]["workers"] == 0


@pytest.mark.django_db(transaction=True)
def test_charges_follow_model_and_megapixels(api, run_worker):
    """Default plan: 0.005 per image. A 2048x2048 image is 4 megapixels: 4 images; tiny-flux
    costs twice the plan's price."""
    quote = api.post("/api/v2/task/quote", with_options(width=2048, height=2048, num_images=2), format="json").json()
    assert (quote["billable_images"], quote["amount"], quote["hold"]) == (8, "0.04000", "0.04000")
    flux_quote = api.post("/api/v2/task/quote", with_options(model="tiny-flux", num_images=3), format="json").json()
    assert (flux_quote["billable_images"], flux_quote["amount"], flux_quote["model"]) == (3, "0.03000", "tiny-flux")
    big = submit(api, with_options(width=2048, height=1088, num_images=2))  # 2.1 MP: 3 images each
    small = submit(api, with_options(aspect_ratio="16:9"))  # 1,032,192 pixels: one image
    flux = submit(api, with_options(model="tiny-flux", num_images=3))
    run_worker()
    run_worker("tiny-flux")
    charges = {
        name: poll(api, t["id"])["status"][0]["response"]["input"]["charge"]
        for name, t in (("big", big), ("small", small), ("flux", flux))
    }
    assert charges == {"big": "0.03000", "small": "0.00500", "flux": "0.03000"}
    usage = {str(r.task_id): (r.images, r.amount) for r in UsageRecord.unscoped_objects.all()}
    assert usage[big["id"]] == (6, Decimal("0.03000")) and usage[flux["id"]] == (3, Decimal("0.03000"))
    report = api.get("/api/v2/usage").json()
    assert report["total"]["images"] == 10 and report["total"]["amount"] == "0.06500"

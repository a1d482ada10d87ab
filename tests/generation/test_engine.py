"""The engine with the real tiny diffusers pipeline: batching, seeds, negative prompt, output."""

import io
import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from generation.engine import Engine, GenerationCancelled, GenerationRequest, build_registry
from generation.engine.registry import BUILTIN


@pytest.fixture(scope="module")
def engine():
    return Engine.load(BUILTIN["tiny"])


def pixels(image) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(image.data)).convert("RGB"), dtype=np.int16)


def test_engine_has_no_django_imports():
    import ast
    from pathlib import Path

    for path in Path("generation/engine").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n.split(".")[0] in ("django", "rest_framework", "accounts", "billing") for n in names), path


def test_output_is_1024_png_one_per_seed(engine):
    result = engine.generate(GenerationRequest(prompt="a house", negative_prompt="", seeds=[1, 2, 3]))
    assert [i.seed for i in result.images] == [1, 2, 3]
    assert [i.index for i in result.images] == [0, 1, 2]
    for image in result.images:
        opened = Image.open(io.BytesIO(image.data))
        assert opened.format == "PNG" and opened.size == (1024, 1024)
    assert result.batches == [3]  # one batched pipeline call
    assert len({i.sha256 for i in result.images}) == 3  # different seeds, different pixels


def test_same_seed_same_pixels(engine):
    request = GenerationRequest(prompt="modern architecture house", negative_prompt="grass, pool", seeds=[42, 43])
    first, second = engine.generate(request), engine.generate(request)
    assert [i.sha256 for i in first.images] == [i.sha256 for i in second.images]


def test_any_image_can_be_regenerated_alone_from_its_seed(engine):
    batch = engine.generate(GenerationRequest(prompt="a cat", negative_prompt="dog", seeds=[7, 8, 9]))
    alone = engine.generate(GenerationRequest(prompt="a cat", negative_prompt="dog", seeds=[8]))
    # Batched and single matrix products may round the last bit differently; pixels stay within 1 level.
    assert np.abs(pixels(batch.images[1]) - pixels(alone.images[0])).max() <= 1


def test_negative_prompt_reaches_the_text_encoder_and_changes_the_image(engine):
    seen: list[torch.Tensor] = []
    hook = engine.pipe.text_encoder.register_forward_hook(
        lambda module, args, kwargs=None: seen.append(args[0].clone())
    )
    try:
        with_neg = engine.generate(GenerationRequest(prompt="a house", negative_prompt="grass, pool", seeds=[5]))
    finally:
        hook.remove()
    decoded = [engine.pipe.tokenizer.decode(ids[0], skip_special_tokens=True).replace(" ", "") for ids in seen]
    assert any("grass,pool" in text for text in decoded), decoded
    without = engine.generate(GenerationRequest(prompt="a house", negative_prompt="", seeds=[5]))
    other = engine.generate(GenerationRequest(prompt="a house", negative_prompt="trees", seeds=[5]))
    assert len({with_neg.images[0].sha256, without.images[0].sha256, other.images[0].sha256}) == 3


def test_large_requests_are_split_by_max_batch():
    from dataclasses import replace

    engine = Engine.load(replace(BUILTIN["tiny"], max_batch=4))
    result = engine.generate(GenerationRequest(prompt="x", negative_prompt="", seeds=list(range(6))))
    assert result.batches == [4, 2]
    assert [i.seed for i in result.images] == list(range(6))


def test_out_of_memory_splits_the_batch_6_3_2_1_and_remembers_what_fits(engine, monkeypatch):
    calls = []
    real_call = engine._call
    fits = {"images": 2}  # a CUDA device that only fits two images at a time

    def flaky(request, seeds, **kwargs):
        calls.append(len(seeds))
        if len(seeds) > fits["images"]:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        return real_call(request, seeds, **kwargs)

    monkeypatch.setattr(engine, "_call", flaky)
    monkeypatch.setattr(engine, "batch_fits", {})
    six = GenerationRequest(prompt="x", negative_prompt="", seeds=[1, 2, 3, 4, 5, 6])
    result = engine.generate(six)
    assert calls == [6, 3, 2, 2, 2]  # 6 and 3 fail; two at a time from then on, not one
    assert result.batches == [2, 2, 2]
    assert [i.seed for i in result.images] == [1, 2, 3, 4, 5, 6]
    assert [i.index for i in result.images] == [0, 1, 2, 3, 4, 5]
    # The next request at that size starts at what fitted; another size starts at max_batch again.
    calls.clear()
    assert engine.generate(six).batches == [2, 2, 2] and calls == [2, 2, 2]
    calls.clear()
    fits["images"] = 1
    wide = GenerationRequest(prompt="x", negative_prompt="", seeds=[1, 2, 3], width=1344, height=768)
    assert engine.generate(wide).batches == [1, 1, 1] and calls == [3, 2, 1, 1, 1]
    sizes = [tuple(engine.settings_for(request)["generation_size"]) for request in (six, wide)]
    assert sizes[0] != sizes[1] and engine.batch_fits == {sizes[0]: 2, sizes[1]: 1}


@pytest.mark.parametrize("threads", [2, 0])
def test_a_batchs_images_are_encoded_while_the_next_batch_runs(monkeypatch, threads):
    """Encoding (Pillow releases the GIL) overlaps the next pipeline call: the first batch's images
    are encoded before the last call ends, and the images come back in seed order. With no encoding
    threads (GENERATION_ENCODE_THREADS=0) every image is encoded after the last call."""
    from dataclasses import replace

    engine = Engine.load(replace(BUILTIN["tiny"], max_batch=2))
    engine.encode_threads = threads
    events = []
    real_call, real_encode = engine._call, engine._encode

    def call(requests, items, **kwargs):
        first_seed = items[0][1]
        events.append(("call starts", first_seed))
        images = real_call(requests, items, **kwargs)
        if first_seed == 5:
            time.sleep(1.0)  # a slow last call: the earlier batches are encoded meanwhile
        events.append(("call ends", first_seed))
        return images

    def encode(index, seed, image, request):
        encoded = real_encode(index, seed, image, request)
        events.append(("encoded", seed))
        return encoded

    monkeypatch.setattr(engine, "_call", call)
    monkeypatch.setattr(engine, "_encode", encode)
    result = engine.generate(GenerationRequest(prompt="x", negative_prompt="", seeds=[1, 2, 3, 4, 5, 6]))
    assert [i.seed for i in result.images] == [1, 2, 3, 4, 5, 6]
    last_call_ends = events.index(("call ends", 5))
    if threads:
        assert {("encoded", 1), ("encoded", 2), ("encoded", 3), ("encoded", 4)} <= set(events[:last_call_ends])
        assert result.timings_ms["encode"] < result.timings_ms["inference"]
    else:
        assert events[last_call_ends + 1 :] == [("encoded", seed) for seed in range(1, 7)]


def test_a_saved_pipeline_loads_from_a_local_directory(engine, tmp_path):
    """The from_pretrained path that real models take, offline: the tiny pipeline saved to disk and
    loaded back as a Stable Diffusion model from a local path gives the same pixels."""
    engine.pipe.save_pretrained(tmp_path / "sd-local")
    spec = build_registry(
        {
            "local-sd": {
                "family": "sd",
                "source": str(tmp_path / "sd-local"),
                "steps": 4,
                "guidance": 5.0,
                "native_size": 64,
                "revision": "v1",
            }
        }
    )["local-sd"]
    local = Engine.load(spec)
    assert local.revision == "v1" and local.dtype == "float32"
    request = GenerationRequest(prompt="a house", negative_prompt="grass", seeds=[3])
    assert local.generate(request).images[0].sha256 == engine.generate(request).images[0].sha256


def test_model_description(engine):
    info = engine.describe()
    assert info["model"] == "tiny" and info["model_version"].startswith("tiny-")
    assert info["scheduler"] == "EulerDiscreteScheduler" and info["device"] == "cpu" and info["dtype"] == "float32"


def test_tiny_weights_are_identical_across_loads(engine):
    assert Engine.load(BUILTIN["tiny"]).revision == engine.revision


def test_registry_has_gpu_models_and_accepts_overrides():
    registry = build_registry(
        {
            "sdxl-turbo": {"source": "/models/sdxl-turbo"},
            "mine": {"family": "sdxl", "source": "/models/mine", "steps": 8, "guidance": 2.0, "native_size": 768},
        }
    )
    assert registry["sdxl-turbo"].source == "/models/sdxl-turbo" and registry["sdxl-turbo"].steps == 1
    assert registry["flux-schnell"].dtype == "bfloat16" and not registry["flux-schnell"].supports_negative_prompt
    assert registry["sdxl"].source == "stabilityai/stable-diffusion-xl-base-1.0"
    assert registry["mine"].queue == "generation-mine"
    with pytest.raises(ValueError, match="unknown fields"):
        build_registry({"sdxl": {"stepz": 3}})
    with pytest.raises(ValueError, match="family"):
        build_registry({"x": {"family": "gan", "source": "s", "steps": 1, "guidance": 0, "native_size": 64}})


# --- Step hook: progress, cancel, slow test steps ---------------------------------------------
def same_pipe(engine, **changes) -> Engine:
    """The loaded tiny pipeline under a changed spec (no second load)."""
    from dataclasses import replace

    return Engine(replace(engine.spec, **changes), engine.pipe, device="cpu", dtype="float32", revision="r", load_ms=0)


def test_step_hook_counts_every_step_of_every_batch(engine):
    steps = []
    batched = same_pipe(engine, max_batch=2)
    result = batched.generate(
        GenerationRequest(prompt="x", negative_prompt="", seeds=[1, 2, 3]), on_step=lambda *s: steps.append(s)
    )
    assert result.batches == [2, 1]
    assert steps == [(n, 8) for n in range(1, 9)]  # 4 steps per pipeline call, two calls
    # The hook changes no tensor: the same pixels with and without it.
    plain = engine.generate(GenerationRequest(prompt="x", negative_prompt="", seeds=[1, 2, 3]))
    hooked = engine.generate(
        GenerationRequest(prompt="x", negative_prompt="", seeds=[1, 2, 3]), on_step=lambda *s: None
    )
    assert [i.sha256 for i in hooked.images] == [i.sha256 for i in plain.images]


def test_a_hook_that_raises_stops_the_pipeline_before_the_next_step_and_decodes_nothing(engine, monkeypatch):
    unet_calls, decodes, seen = [], [], []
    real_unet, real_decode = engine.pipe.unet.forward, engine.pipe.vae.decode
    monkeypatch.setattr(engine.pipe.unet, "forward", lambda *a, **k: unet_calls.append(1) or real_unet(*a, **k))
    monkeypatch.setattr(engine.pipe.vae, "decode", lambda *a, **k: decodes.append(1) or real_decode(*a, **k))

    def stop_at_two(step, steps):
        seen.append(step)
        if step == 2:
            raise GenerationCancelled("cancelled")

    with pytest.raises(GenerationCancelled):
        engine.generate(GenerationRequest(prompt="x", negative_prompt="", seeds=[1, 2]), on_step=stop_at_two)
    assert seen == [1, 2] and len(unet_calls) == 2 and decodes == []


def test_step_delay_slows_every_step_of_the_tiny_model(engine):
    import time

    slow = same_pipe(engine, step_delay=0.1)
    at = []
    started = time.monotonic()
    slow.generate(
        GenerationRequest(prompt="x", negative_prompt="", seeds=[1]), on_step=lambda *s: at.append(time.monotonic())
    )
    gaps = [b - a for a, b in zip([started, *at], at, strict=False)]
    assert len(at) == 4 and min(gaps) >= 0.1


def test_the_still_family_reports_its_nominal_steps_and_can_be_stopped(tmp_path):
    Image.new("RGB", (64, 64), "red").save(tmp_path / "a.png")
    spec = build_registry(
        {"canary": {"family": "still", "source": str(tmp_path), "steps": 3, "guidance": 0, "native_size": 64}}
    )["canary"]
    still = Engine.load(spec)
    steps = []
    result = still.generate(
        GenerationRequest(prompt="x", negative_prompt="", seeds=[1, 2]), on_step=lambda *s: steps.append(s)
    )
    assert steps == [(1, 3), (2, 3), (3, 3)] and len(result.images) == 2

    def stop(step, steps):
        raise GenerationCancelled("cancelled")

    with pytest.raises(GenerationCancelled):
        still.generate(GenerationRequest(prompt="x", negative_prompt="", seeds=[1]), on_step=stop)


def test_step_delay_is_only_for_the_offline_families():
    assert build_registry({"tiny": {"step_delay": 0.3}})["tiny"].step_delay == 0.3
    with pytest.raises(ValueError, match="step_delay"):
        build_registry({"sdxl": {"step_delay": 0.3}})
    with pytest.raises(ValueError, match="step_delay"):
        build_registry({"tiny": {"step_delay": -1}})


def test_every_diffusers_family_takes_the_step_callback_and_says_its_step_count():
    """The hook reaches SD, SDXL and FLUX pipelines through the same argument (checked on the
    installed diffusers: no weights are needed to read a signature)."""
    import inspect

    from generation.engine.runner import _pipeline_class

    for family in ("sd", "sdxl", "flux"):
        cls = _pipeline_class(family)
        assert "callback_on_step_end" in inspect.signature(cls.__call__).parameters, family
        assert isinstance(inspect.getattr_static(cls, "num_timesteps"), property), family


def test_images_are_the_same_as_before_the_choices_existed(engine):
    """Recorded before issue 15 (size, format and model choices): a request without choices gives
    the same images. Compared as 32x32 grayscale thumbnails within rounding, not as PNG bytes: the
    pipeline's floats (and so a pixel here and there) differ between CPUs' kernels (Intel Xeon and
    AMD EPYC gave different bytes for seed 42, the same for 43) and between torch thread counts."""
    recorded = json.loads((Path(__file__).parent / "recorded" / "engine_without_choices.json").read_text())
    request = GenerationRequest(prompt="modern architecture house", negative_prompt="grass, pool", seeds=[42, 43])
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # as recorded; under pytest-xdist each process runs with one
    try:
        images = engine.generate(request).images
    finally:
        torch.set_num_threads(threads)
    for image, thumbnail in zip(images, recorded["thumbnails"], strict=True):
        assert (image.width, image.height, image.data[:8]) == (1024, 1024, b"\x89PNG\r\n\x1a\n")
        ours = np.asarray(Image.open(io.BytesIO(image.data)).convert("L").resize((32, 32), Image.Resampling.BOX))
        assert np.abs(ours.astype(int).flatten() - np.array(thumbnail)).max() <= 2
    # The recorded thumbnails are of two different images (a seed that was ignored would pass above otherwise).
    assert np.abs(np.array(recorded["thumbnails"][0]) - np.array(recorded["thumbnails"][1])).max() > 30


@pytest.mark.parametrize(
    ("size", "generated"), [((1344, 768), [80, 48]), ((768, 1344), [48, 80]), ((2048, 512), [96, 40])]
)
def test_the_pipeline_runs_at_the_nearest_bucket_and_the_output_has_the_size_asked(engine, size, generated):
    request = GenerationRequest(prompt="a house", negative_prompt="", seeds=[1], width=size[0], height=size[1])
    assert engine.settings_for(request)["generation_size"] == generated
    image = engine.generate(request).images[0]
    assert (image.width, image.height) == size and Image.open(io.BytesIO(image.data)).size == size


@pytest.mark.parametrize(("output_format", "pil_format"), [("png", "PNG"), ("jpeg", "JPEG"), ("webp", "WEBP")])
def test_each_output_format_is_encoded(engine, output_format, pil_format):
    request = GenerationRequest(prompt="a house", negative_prompt="", seeds=[1], output_format=output_format)
    assert Image.open(io.BytesIO(engine.generate(request).images[0].data)).format == pil_format


def test_png_is_lossless_and_smaller_than_zlib_level_1_alone():
    """PNG outputs use zlib level 1 with the RLE strategy: lossless, and on a photograph about 15 %
    smaller than level 1's default strategy (and no larger than level 4) for less CPU
    (bench/png_levels.py)."""
    from skimage import data

    from generation.engine.runner import encode_image

    photo = Image.fromarray(data.astronaut()).resize((1024, 1024), Image.Resampling.LANCZOS)
    ours = encode_image(photo, "png")
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(ours))), np.asarray(photo))
    sizes = {}
    for level in (1, 4):
        buffer = io.BytesIO()
        photo.save(buffer, format="PNG", compress_level=level)
        sizes[level] = buffer.tell()
    assert len(ours) < 0.92 * sizes[1] and len(ours) <= sizes[4]


def test_quality_changes_the_jpeg(engine):
    low, high = (
        engine.generate(
            GenerationRequest(prompt="a house", negative_prompt="", seeds=[1], output_format="jpeg", quality=q)
        ).images[0]
        for q in (5, 95)
    )
    assert len(low.data) < len(high.data)


def test_partial_images_are_decoded_from_intermediate_latents(engine):
    previews = []
    request = GenerationRequest(prompt="a house", negative_prompt="", seeds=[1, 2], partial_images=2)
    result = engine.generate(request, on_preview=lambda k, pictures: previews.append((k, pictures)))
    assert [k for k, _ in previews] == [0, 1]
    assert all(len(pictures) == 1 and pictures[0].size == (64, 64) for _, pictures in previews)
    assert result.batches == [2]  # still one pipeline call for the request's images
    final = np.asarray(result.images[0].image.resize((64, 64)), dtype=np.int16)
    assert np.abs(np.asarray(previews[0][1][0], dtype=np.int16) - final).mean() > 0  # an earlier state


def test_model_choices_from_overrides_are_checked():
    registry = build_registry({"tiny": {"sizes": {"1:1": [1024, 1024], "2:1": [1408, 704]}, "price_factor": "1.5"}})
    assert registry["tiny"].sizes["2:1"] == (1408, 704) and str(registry["tiny"].price) == "1.5"
    for bad in ({"sizes": {"2:1": [1408, 704]}}, {"steps_range": [5, 10]}, {"price_factor": "cheap"}):
        with pytest.raises(ValueError):
            build_registry({"tiny": bad})


# --- Cross-task batching (Engine.generate_together) ----------------------------------------------
def _recording_latents(engine, monkeypatch) -> list:
    """Every starting latent the pipeline draws, one tensor per image, in call order."""
    drawn = []
    real = engine.pipe.prepare_latents

    def prepare_latents(*args, **kwargs):
        latents = real(*args, **kwargs)
        drawn.extend(row.clone() for row in latents)
        return latents

    monkeypatch.setattr(engine.pipe, "prepare_latents", prepare_latents)
    return drawn


TOGETHER = [
    GenerationRequest(prompt="a red house by a lake", negative_prompt="fog", seeds=[11, 12]),
    GenerationRequest(prompt="portrait of an old sailor", negative_prompt="blur, text", seeds=[7]),
    GenerationRequest(prompt="a bowl of lemons", negative_prompt="grass", seeds=[99, 3, 5], output_format="webp"),
]


def test_requests_generated_together_give_each_image_its_own_starting_noise_and_pixels(monkeypatch):
    """Three requests (different prompts, negative prompts, seeds and formats) share pipeline calls
    of four images; every image starts from the same latents as its request run alone and ends
    within 2/255 of its pixels (the batch changes the arithmetic's order, never the inputs)."""
    from dataclasses import replace

    engine = Engine.load(replace(BUILTIN["tiny"], max_batch=4))
    drawn = _recording_latents(engine, monkeypatch)
    together = engine.generate_together(TOGETHER)
    assert [r.batches for r in together] == [[4, 2]] * 3
    shared = list(drawn)
    drawn.clear()
    alone = [engine.generate(request) for request in TOGETHER]
    assert [r.batches for r in alone] == [[2], [1], [3]]
    assert len(shared) == len(drawn) == 6
    for mixed, single in zip(shared, drawn, strict=True):
        assert torch.equal(mixed, single)
    for request, mixed, single in zip(TOGETHER, together, alone, strict=True):
        assert [i.seed for i in mixed.images] == request.seeds
        assert [i.index for i in mixed.images] == list(range(len(request.seeds)))
        for a, b in zip(mixed.images, single.images, strict=True):
            assert Image.open(io.BytesIO(a.data)).format == Image.open(io.BytesIO(b.data)).format
            if request.output_format == "png":  # lossless: the pixels themselves
                assert np.abs(pixels(a) - pixels(b)).max() <= 2


def test_each_prompt_reaches_its_own_images_when_generated_together(engine):
    """Swapping the prompts of two one-image requests swaps their images: no image takes another
    request's prompt or negative prompt."""
    one = GenerationRequest(prompt="a red house", negative_prompt="fog", seeds=[5])
    two = GenerationRequest(prompt="a green forest at night", negative_prompt="people", seeds=[5])
    first, second = engine.generate_together([one, two])
    assert np.abs(pixels(first.images[0]) - pixels(second.images[0])).max() > 10  # same seed, other prompt
    assert np.abs(pixels(first.images[0]) - pixels(engine.generate(one).images[0])).max() <= 2
    assert np.abs(pixels(second.images[0]) - pixels(engine.generate(two).images[0])).max() <= 2


@pytest.mark.parametrize(
    "other",
    [
        {"steps": 3},
        {"guidance": 1.5},
        {"width": 1344, "height": 768},
        {"negative_prompt": ""},
        {"partial_images": 1},
    ],
)
def test_only_requests_with_one_batch_key_are_generated_together(engine, other):
    from dataclasses import replace

    base = GenerationRequest(prompt="x", negative_prompt="y", seeds=[1])
    with pytest.raises(ValueError, match="same steps"):
        engine.generate_together([base, replace(base, **other)])
    assert engine.batch_key(base) == engine.batch_key(replace(base, prompt="z", seeds=[2, 3], output_format="jpeg"))


def test_without_collect_generation_returns_before_the_images_are_encoded(monkeypatch):
    """The worker's path: the pipeline calls end and the call returns while the encoding threads
    still hold the images (they wait here until released); collect() then gives them in order,
    and discard() drops another request's encodings that had not started."""
    import threading

    engine = Engine.load(BUILTIN["tiny"])
    engine.encode_threads = 1
    release, real_encode = threading.Event(), engine._encode

    def encode(index, seed, image, request):
        assert release.wait(timeout=30), "generate_together waited for the encoding"
        return real_encode(index, seed, image, request)

    monkeypatch.setattr(engine, "_encode", encode)
    requests = [GenerationRequest(prompt="x", negative_prompt="", seeds=[1, 2]) for _ in range(2)]
    first, second = engine.generate_together(requests, collect=False)
    assert first.images == [] and len(first.pending) == 2  # returned with the encodings held
    held = list(second.pending)
    second.discard()
    assert all(future.cancelled() for future in held)  # queued behind the first's: never started
    release.set()
    assert [i.seed for i in first.collect().images] == [1, 2] and first.failure is None

"""Loading a model once and running batched, seeded generations with it."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from generation.engine.registry import ModelSpec

log = logging.getLogger(__name__)

OUTPUT_SIZE = 1024
MAX_SEED = 2**32 - 1
# Encodings a customer can choose: PIL format name, file extension, content type.
OUTPUT_FORMATS = {
    "png": ("PNG", "png", "image/png"),
    "jpeg": ("JPEG", "jpg", "image/jpeg"),
    "webp": ("WEBP", "webp", "image/webp"),
}
DEFAULT_QUALITY = 90  # jpeg/webp without output_quality
# zlib level and strategy of PNG outputs: level 1 with Z_RLE takes about 0.4x the CPU of level 4
# (0.75-0.85x of plain level 1) for 2 % fewer bytes than level 4; higher levels cost 1.5-4x for at
# most 4 % less (docs/benchmarks.md, bench/png_levels.py).
PNG_COMPRESS_LEVEL = 1
PNG_STRATEGY = 3  # zlib's Z_RLE (Pillow's compress_type)
# Threads that resize and encode a generation's images while its next batch runs.
ENCODE_THREADS = max(1, min(4, os.cpu_count() or 1))


# Called after every denoising step with (step, steps) of the whole request, counted across its
# pipeline calls: 1..steps. It may raise GenerationCancelled to stop the generation at once.
StepHook = Callable[[int, int], None]
# Called with (k, pictures) for the k-th partial image (0-based) of a request that asked for
# ``partial_images``: the first image's intermediate latents, decoded (SD-family pipelines only).
PreviewHook = Callable[[int, list], None]


class EncodingFailed(Exception):
    """An image could not be resized or encoded in its output format (the cause is chained)."""


class GenerationCancelled(Exception):
    """Raised by a step hook to stop a generation between two steps; :meth:`Engine.generate`
    lets it through without decoding or encoding anything."""


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    negative_prompt: str
    seeds: list[int]  # one per image; len(seeds) is the number of images
    width: int = OUTPUT_SIZE  # the images delivered; generated at the model's bucket and resized
    height: int = OUTPUT_SIZE
    steps: int | None = None  # None: the model's default
    guidance: float | None = None
    output_format: str = "png"
    quality: int | None = None  # jpeg/webp; None: DEFAULT_QUALITY
    partial_images: int = 0  # previews decoded from intermediate latents, spread over the steps


@dataclass(frozen=True)
class GeneratedImage:
    index: int
    seed: int
    data: bytes  # encoded in the request's output_format
    width: int
    height: int
    sha256: str
    image: Any = field(default=None, repr=False, compare=False)  # the decoded RGB picture, for moderation


@dataclass
class GenerationResult:
    images: list[GeneratedImage]
    timings_ms: dict[str, float] = field(default_factory=dict)
    batches: list[int] = field(default_factory=list)  # images per pipeline call, in order
    failure: Exception | None = None  # EncodingFailed: its images could not all be encoded
    # Encodings still running on the engine's threads (or to run, without threads): collect()
    pending: list = field(default_factory=list, repr=False)

    def collect(self) -> GenerationResult:
        """Wait for the images' encoding: ``images`` (in order), or ``failure`` if one could not be
        encoded. ``timings_ms["encode"]``: the wait (the part that did not overlap). Once done, a
        second call changes nothing."""
        if not self.pending:
            return self
        pending, self.pending = self.pending, []
        started = time.perf_counter()
        try:
            self.images = [item.result() if isinstance(item, Future) else item() for item in pending]
        except Exception as exc:
            self.failure = EncodingFailed(f"{type(exc).__name__}: {exc}")
            self.failure.__cause__ = exc
            _cancel(pending)
        self.timings_ms["encode"] = (time.perf_counter() - started) * 1000
        return self

    def discard(self) -> None:
        """Not wanted after all (its task was cancelled): what has not started is not encoded."""
        pending, self.pending = self.pending, []
        _cancel(pending)


def _cancel(pending: list) -> None:
    for item in pending:
        if isinstance(item, Future):
            item.cancel()


def _pipeline_class(family: str):
    import diffusers

    return {
        "sd": diffusers.StableDiffusionPipeline,
        "sdxl": diffusers.StableDiffusionXLPipeline,
        "flux": diffusers.FluxPipeline,
    }[family]


def _revision_of(pipe, spec: ModelSpec) -> str:
    if spec.revision:
        return spec.revision
    # Hub downloads live in .../snapshots/<commit sha>/: that sha is the exact revision loaded.
    path = str(getattr(pipe.config, "_name_or_path", "") or "")
    tail = os.path.basename(path.rstrip("/"))
    if re.fullmatch(r"[0-9a-f]{40}", tail):
        return tail
    return "unpinned"


def _smaller_batch(batch: int) -> int:
    """The batch to try after ``batch`` ran out of memory: 6 -> 3 -> 2 -> 1 (half, rounded up, and
    at least one less), so a device that fits two images runs two at a time, not one."""
    return max(1, min(batch - 1, -(-batch // 2)))


def _is_out_of_memory(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


class Engine:
    """One loaded pipeline. Build it with :meth:`load` once per worker process."""

    def __init__(self, spec: ModelSpec, pipe: Any, *, device: str, dtype: str, revision: str, load_ms: float):
        self.spec = spec
        self.pipe = pipe
        self.device = device
        self.dtype = dtype
        self.revision = revision
        self.load_ms = load_ms
        # The largest batch known to fit at each generation size, after a batch ran out of memory
        # there: later requests start at it instead of failing at max_batch again.
        self.batch_fits: dict[tuple[int, int], int] = {}
        # Threads that resize and encode images while the next batch runs; 0: each image after
        # the last pipeline call, in this thread (the worker sets it from GENERATION_ENCODE_THREADS).
        self.encode_threads = ENCODE_THREADS
        # The worker returns from a generation before its images are encoded and collects them
        # on its stage thread while the next inference runs: on an accelerator. On a CPU the
        # encoding and the inference share the same cores, and collecting first measured 7-10%
        # more images/s (docs/benchmarks.md, "Worker throughput").
        self.defer_encoding = not device.startswith("cpu")
        self._encoders: ThreadPoolExecutor | None = None

    # 1. Loading --------------------------------------------------------------------------------
    @classmethod
    def load(cls, spec: ModelSpec, *, device: str | None = None) -> Engine:
        import torch

        started = time.perf_counter()
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype_name = spec.dtype if device.startswith("cuda") else "float32"
        torch_dtype = getattr(torch, dtype_name)
        if spec.family == "tiny":
            from generation.engine.tiny import build_tiny_pipeline, weights_digest

            pipe = build_tiny_pipeline(spec.native_size)
            revision = f"tiny-{weights_digest(pipe)}"
        elif spec.family == "still":
            from generation.engine.still import StillImagePipeline

            pipe = StillImagePipeline.from_source(spec.source)
            revision = f"still-{pipe.digest}"
        else:
            kwargs: dict[str, Any] = {"torch_dtype": torch_dtype, "use_safetensors": True}
            if spec.revision:
                kwargs["revision"] = spec.revision
            if spec.variant and device.startswith("cuda"):
                kwargs["variant"] = spec.variant
            if os.path.isdir(spec.source):
                kwargs["local_files_only"] = True
            if spec.family == "sd":
                kwargs.update(safety_checker=None, requires_safety_checker=False)
            pipe = _pipeline_class(spec.family).from_pretrained(spec.source, **kwargs)
            revision = _revision_of(pipe, spec)
        pipe = pipe.to(device)
        pipe.set_progress_bar_config(disable=True)
        load_ms = (time.perf_counter() - started) * 1000
        log.info("loaded model %s (%s) on %s/%s in %.0f ms", spec.name, revision, device, dtype_name, load_ms)
        return cls(spec, pipe, device=device, dtype=dtype_name, revision=revision, load_ms=load_ms)

    @property
    def scheduler_name(self) -> str:
        scheduler = getattr(self.pipe, "scheduler", None)
        return type(scheduler).__name__ if scheduler is not None else "none"

    def describe(self) -> dict[str, Any]:
        return {
            "model": self.spec.name,
            "model_version": self.revision,
            "scheduler": self.scheduler_name,
            "steps": self.spec.steps,
            "guidance": self.spec.guidance,
            "device": self.device,
            "dtype": self.dtype,
            "native_size": self.spec.native_size,
        }

    # 2. Inference ------------------------------------------------------------------------------
    def settings_for(self, request: GenerationRequest) -> dict[str, Any]:
        """Steps, guidance and the pipeline's size for ``request`` (the model's defaults filled in)."""
        return {
            "steps": request.steps if request.steps is not None else self.spec.steps,
            "guidance": request.guidance if request.guidance is not None else self.spec.guidance,
            "generation_size": list(self.spec.generation_size(request.width, request.height)),
        }

    def batch_key(self, request: GenerationRequest) -> tuple:
        """Requests with the same key can share pipeline calls (:meth:`generate_together`): the
        same steps, guidance and generation size, a negative prompt in all or in none, and no
        partial images (those preview one request's latents)."""
        run = self.settings_for(request)
        negative = self.spec.supports_negative_prompt and bool(request.negative_prompt)
        return (run["steps"], run["guidance"], tuple(run["generation_size"]), negative, request.partial_images)

    def _call(self, requests: list[GenerationRequest], items: list[tuple[int, int]], *, on_step_end=None):
        """One pipeline call for ``items`` ((request number, seed) each): a single request's
        images take its prompt once (``num_images_per_prompt``), several requests' one prompt per
        image. Each image's starting noise comes from its own seed's generator either way."""
        import torch

        first = requests[items[0][0]]
        run = self.settings_for(first)
        # CPU generators: the same seed gives the same starting noise on any device and in any batch.
        generators = [torch.Generator("cpu").manual_seed(seed) for _, seed in items]
        owners = [requests[r] for r, _ in items]
        kwargs: dict[str, Any] = {
            "prompt": first.prompt,
            "num_images_per_prompt": len(items),
            "generator": generators,
            "num_inference_steps": run["steps"],
            "guidance_scale": run["guidance"],
            "width": run["generation_size"][0],
            "height": run["generation_size"][1],
            "output_type": "pil",
        }
        if len({r for r, _ in items}) > 1:
            kwargs.update(prompt=[o.prompt for o in owners], num_images_per_prompt=1)
        if self.spec.supports_negative_prompt and first.negative_prompt:
            negatives = [o.negative_prompt for o in owners]
            kwargs["negative_prompt"] = negatives if isinstance(kwargs["prompt"], list) else first.negative_prompt
        if on_step_end is None and self.spec.step_delay:
            on_step_end = self._step_callback(None, done=0, planned_calls=1, steps=run["steps"])
        if on_step_end is not None:
            # diffusers calls it after each step with (pipe, i, t, tensors) and takes back the
            # tensors it returns; an empty dict changes none. An exception it raises ends the call.
            kwargs["callback_on_step_end"] = on_step_end
        with torch.inference_mode():
            return self.pipe(**kwargs).images

    def _preview_callback(self, request: GenerationRequest, on_preview: PreviewHook, steps: int):
        """A step hook of the first pipeline call that decodes its latents ``partial_images``
        times, evenly over the steps (never at the last one: the finished image follows)."""
        wanted = {
            max(1, round(steps * (k + 1) / (request.partial_images + 1))): k for k in range(request.partial_images)
        }
        wanted.pop(steps, None)

        def on_latents(i: int, tensors: dict) -> None:
            k = wanted.get(i + 1)
            latents = tensors.get("latents")
            if k is not None and latents is not None and latents.ndim == 4 and hasattr(self.pipe, "vae"):
                on_preview(k, self._decode_latents(latents[:1]))

        return on_latents

    def _decode_latents(self, latents) -> list:
        import torch

        with torch.inference_mode():
            vae = self.pipe.vae
            decoded = vae.decode(latents.to(vae.dtype) / vae.config.scaling_factor, return_dict=False)[0]
            return self.pipe.image_processor.postprocess(decoded, output_type="pil")

    def _step_callback(self, on_step: StepHook | None, *, done: int, planned_calls: int, steps: int, on_latents=None):
        """diffusers' ``callback_on_step_end`` for one pipeline call: the model's ``step_delay``,
        then ``on_step(step, steps)`` counted over the whole request (``done`` calls already ran,
        ``planned_calls`` in all)."""
        delay = self.spec.step_delay

        def on_step_end(pipe, i: int, timestep, tensors: dict) -> dict:
            if delay:
                time.sleep(delay)
            if on_latents is not None and done == 0:
                on_latents(i, tensors)
            if on_step is not None:
                per_call = getattr(pipe, "num_timesteps", None) or steps
                on_step(done * per_call + i + 1, planned_calls * per_call)
            return {}

        return on_step_end

    def generate(
        self, request: GenerationRequest, *, on_step: StepHook | None = None, on_preview: PreviewHook | None = None
    ) -> GenerationResult:
        """1. split the seeds into batches of at most ``max_batch`` (smaller after an out-of-memory
        error: 6 -> 3 -> 2 -> 1, remembered for the size),
        2. one pipeline call per batch at the model's size for the request's aspect ratio,
        3. resize every image to the request's width x height and encode it in its format, on the
           encoding threads while the next batch runs (Pillow releases the GIL).

        ``on_step`` (optional) is told every step; if it raises :class:`GenerationCancelled` the
        pipeline stops there and the exception comes out of this call (nothing more is encoded).
        After an out-of-memory split the count of steps is planned again from the batch that failed.
        ``timings_ms``: ``inference`` (the pipeline calls), ``encode`` (waited for encoding after
        the last call: the part that did not overlap). An image that cannot be encoded raises
        :class:`EncodingFailed`."""
        result = self.generate_together([request], on_step=on_step, on_preview=on_preview)[0]
        if result.failure is not None:
            raise result.failure
        return result

    def generate_together(
        self,
        requests: list[GenerationRequest],
        *,
        on_step: StepHook | None = None,
        on_preview: PreviewHook | None = None,
        collect: bool = True,
    ) -> list[GenerationResult]:
        """:meth:`generate` for several requests with one :meth:`batch_key` at once: their images,
        in order, fill the same pipeline calls (each with its own prompt, negative prompt and
        seed, so each image is the one its request alone gives, within the backend's arithmetic),
        and each request gets its own result. ``on_step`` counts the steps of all of them;
        ``on_preview`` is for a single request. A request whose images cannot all be encoded gets
        its result's ``failure`` (an :class:`EncodingFailed`), the others their images.
        ``collect=False`` returns as soon as the last pipeline call ends, the images still being
        encoded: each result's :meth:`GenerationResult.collect` waits for them (the worker does it
        on its stage thread while its next inference runs)."""
        _check_together(self, requests)
        results = [GenerationResult(images=[]) for _ in requests]
        encoding: list[list[Future | Callable[[], GeneratedImage]]] = [[] for _ in requests]
        try:
            batches, inference = self._run_batches(requests, encoding, on_step, on_preview)
        except BaseException:
            _cancel([item for pending in encoding for item in pending])  # nothing more is encoded
            raise
        for result, pending in zip(results, encoding, strict=True):
            result.batches, result.pending = list(batches), pending
            result.timings_ms["inference"] = inference
            if collect:
                result.collect()
        return results

    def _run_batches(
        self,
        requests: list[GenerationRequest],
        encoding: list[list],
        on_step: StepHook | None,
        on_preview: PreviewHook | None,
    ) -> tuple[list[int], float]:
        """The pipeline calls of ``requests``; each batch's images go to the encoders as it ends.
        Returns the images per call and the milliseconds spent in the calls."""
        items = [(r, seed) for r, request in enumerate(requests) for seed in request.seeds]
        size = tuple(self.settings_for(requests[0])["generation_size"])
        batch = min(self.spec.max_batch, len(items), self.batch_fits.get(size, self.spec.max_batch))
        position, inference, batches = 0, 0.0, []
        while position < len(items):
            chunk = items[position : position + batch]
            started = time.perf_counter()
            hooks = self._hooks(requests, len(items), batches, position, batch, on_step, on_preview)
            try:
                images = self._call(requests, chunk, on_step_end=hooks)
            except GenerationCancelled:
                raise
            except Exception as exc:
                if batch > 1 and _is_out_of_memory(exc):
                    batch = self.batch_fits[size] = _smaller_batch(len(chunk))
                    log.warning("out of memory at batch %d; retrying with %d", len(chunk), batch)
                    self._free_memory()
                    continue
                raise
            finally:
                inference += time.perf_counter() - started
            batches.append(len(chunk))
            for (r, seed), image in zip(chunk, images, strict=True):
                encode = partial(self._encode, len(encoding[r]), seed, image, requests[r])
                encoding[r].append(self._encoder_pool().submit(encode) if self.encode_threads else encode)
            position += len(chunk)
        return batches, inference * 1000

    def _hooks(self, requests, total: int, batches: list[int], position: int, batch: int, on_step, on_preview):
        """The step callback of the next pipeline call, or None when nothing listens."""
        request = requests[0]
        steps = self.settings_for(request)["steps"]
        done = len(batches)
        planned = done + -(-(total - position) // batch)
        on_latents = None
        if on_preview is not None and request.partial_images and len(requests) == 1:
            on_latents = self._preview_callback(request, on_preview, steps)
        if not (on_step or on_latents):
            return None
        return self._step_callback(on_step, done=done, planned_calls=planned, steps=steps, on_latents=on_latents)

    def _encoder_pool(self) -> ThreadPoolExecutor:
        if self._encoders is None:
            self._encoders = ThreadPoolExecutor(max_workers=self.encode_threads, thread_name_prefix="encode")
        return self._encoders

    def _free_memory(self) -> None:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    @staticmethod
    def _encode(index: int, seed: int, image, request: GenerationRequest) -> GeneratedImage:
        from PIL import Image

        image = image.convert("RGB")
        size = (request.width, request.height)
        if image.size != size:
            image = image.resize(size, Image.Resampling.LANCZOS)
        data = encode_image(image, request.output_format, request.quality)
        return GeneratedImage(
            index=index,
            seed=seed,
            data=data,
            width=size[0],
            height=size[1],
            sha256=hashlib.sha256(data).hexdigest(),
            image=image,
        )

    def warm_up(self) -> float:
        """One small generation so the first real task does not pay for lazy initialisation."""
        started = time.perf_counter()
        self._call([GenerationRequest(prompt="warm up", negative_prompt="", seeds=[0])], [(0, 0)])
        return (time.perf_counter() - started) * 1000


def _check_together(engine: Engine, requests: list[GenerationRequest]) -> None:
    if not requests or any(not request.seeds for request in requests):
        raise ValueError("at least one seed is needed")
    if any(not 0 <= s <= MAX_SEED for request in requests for s in request.seeds):
        raise ValueError("seeds must be in 0..2**32-1")
    if len({engine.batch_key(request) for request in requests}) > 1:
        raise ValueError("requests generated together need the same steps, guidance, size and negative prompt use")


def encode_image(image, output_format: str, quality: int | None = None) -> bytes:
    """``image`` (RGB) as PNG (lossless; ``quality`` ignored), JPEG or WebP at ``quality``."""
    pil_format = OUTPUT_FORMATS[output_format][0]
    buffer = io.BytesIO()
    if pil_format == "PNG":
        image.save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL, compress_type=PNG_STRATEGY)
    else:
        image.save(buffer, format=pil_format, quality=quality or DEFAULT_QUALITY)
    return buffer.getvalue()

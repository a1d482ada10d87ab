"""The customer's choices for one request (DESIGN.md section 10, "Customer choices"): model, size,
format, steps and guidance, checked against the chosen model's registry entry.

Shared by the v2 submit (``options``) and the OpenAI-compatible endpoint; no Django imports, so
the rules can be read (and tested) on their own."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from generation.engine.registry import ModelSpec
from generation.engine.runner import OUTPUT_FORMATS, OUTPUT_SIZE

# The options this module decides, in the order their errors are reported.
CHOICE_KEYS = (
    "model",
    "aspect_ratio",
    "width",
    "height",
    "output_format",
    "output_quality",
    "num_inference_steps",
    "guidance_scale",
)
SIDE_MIN, SIDE_MAX, SIDE_STEP = 512, 2048, 64
MAX_PIXELS = 4_194_304
# An image above one megapixel is billed as ceil(pixels / MEGAPIXEL) images.
MEGAPIXEL = 1_048_576


class ChoiceError(ValueError):
    """A choice that is not allowed: ``field`` names the option (as the client spelled it)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Choices:
    """What a task will be made with. ``steps``/``guidance`` None: the model's defaults."""

    model: str
    width: int = OUTPUT_SIZE
    height: int = OUTPUT_SIZE
    output_format: str = "png"
    output_quality: int | None = None
    steps: int | None = None
    guidance: float | None = None
    given: dict[str, Any] = field(default_factory=dict)  # the options as sent, echoed in the task

    @property
    def billable_per_image(self) -> int:
        return billable_images(self.width, self.height)

    def task_fields(self) -> dict[str, Any]:
        """The Task's fields these choices fill."""
        return {
            "model": self.model,
            "width": self.width,
            "height": self.height,
            "output_format": self.output_format,
            "output_quality": self.output_quality,
            "steps": self.steps,
            "guidance": self.guidance,
            "options_given": self.given,
        }


def billable_images(width: int, height: int, count: int = 1) -> int:
    """How many images ``count`` images of ``width`` x ``height`` are billed as."""
    return count * max(1, math.ceil(width * height / MEGAPIXEL))


def _size(spec: ModelSpec, given: dict[str, Any]) -> tuple[int, int]:
    ratio = given.get("aspect_ratio")
    has_side = "width" in given or "height" in given
    if ratio is not None:
        if has_side:
            raise ChoiceError("aspect_ratio", "Give aspect_ratio or width and height, not both.")
        if ratio not in spec.sizes:
            raise ChoiceError(
                "aspect_ratio", f"Model {spec.name!r} makes the aspect ratios {', '.join(spec.sizes)}; not {ratio!r}."
            )
        return spec.sizes[ratio]
    if not has_side:
        return spec.sizes["1:1"]
    for name in ("width", "height"):
        if name not in given:
            raise ChoiceError(name, "width and height are given together.")
        value = given[name]
        if not SIDE_MIN <= value <= SIDE_MAX or value % SIDE_STEP:
            raise ChoiceError(name, f"{name} must be a multiple of {SIDE_STEP} from {SIDE_MIN} to {SIDE_MAX}.")
    if given["width"] * given["height"] > MAX_PIXELS:
        raise ChoiceError("width", f"width x height must be at most {MAX_PIXELS} pixels.")
    return given["width"], given["height"]


def _format(given: dict[str, Any]) -> tuple[str, int | None]:
    output_format = given.get("output_format", "png")
    if output_format not in OUTPUT_FORMATS:
        raise ChoiceError("output_format", f"output_format must be one of {', '.join(OUTPUT_FORMATS)}.")
    quality = given.get("output_quality")
    if quality is not None:
        if output_format == "png":
            raise ChoiceError("output_quality", "output_quality is for jpeg and webp; png is lossless.")
        if not 1 <= quality <= 100:
            raise ChoiceError("output_quality", "output_quality must be from 1 to 100.")
    return output_format, quality


def _bounded(spec: ModelSpec, given: dict[str, Any]) -> tuple[int | None, float | None]:
    steps = given.get("num_inference_steps")
    low, high = spec.steps_range
    if steps is not None and not low <= steps <= high:
        raise ChoiceError("num_inference_steps", f"Model {spec.name!r} takes {low} to {high} steps.")
    guidance = given.get("guidance_scale")
    low_g, high_g = spec.guidance_range
    if guidance is not None and not (math.isfinite(guidance) and low_g <= guidance <= high_g):
        raise ChoiceError("guidance_scale", f"Model {spec.name!r} takes a guidance_scale from {low_g} to {high_g}.")
    return steps, None if guidance is None else float(guidance)


def resolve_choices(
    given: dict[str, Any], *, default_model: str, registry: dict[str, ModelSpec], neg_text: str = ""
) -> Choices:
    """Check ``given`` (only the keys the client sent, types already checked) against the model it
    names (or ``default_model``) and fill in the rest; raises :class:`ChoiceError`."""
    name = given.get("model", default_model)
    spec = registry.get(name)
    if spec is None:
        raise ChoiceError("model", f"Unknown model {name!r}; GET /api/v2/models lists them.")
    if neg_text and not spec.supports_negative_prompt:
        raise ChoiceError("neg_text", f"Model {name!r} does not take a negative prompt.")
    width, height = _size(spec, given)
    output_format, quality = _format(given)
    steps, guidance = _bounded(spec, given)
    return Choices(
        model=name,
        width=width,
        height=height,
        output_format=output_format,
        output_quality=quality,
        steps=steps,
        guidance=guidance,
        given={key: given[key] for key in CHOICE_KEYS if key in given},
    )

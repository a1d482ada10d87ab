"""Model registry: name -> where the weights come from and how to run them."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

Family = Literal["tiny", "sd", "sdxl", "flux", "still"]

# Output size per aspect ratio: SDXL's training buckets (about one megapixel, multiples of 64) and
# FLUX's (multiples of 16). A model generates at its bucket for the ratio, scaled by
# native_size / 1024 (the tiny models generate small and are resized up to the bucket).
SDXL_SIZES: dict[str, tuple[int, int]] = {
    "1:1": (1024, 1024),
    "16:9": (1344, 768),
    "9:16": (768, 1344),
    "4:3": (1152, 896),
    "3:4": (896, 1152),
    "3:2": (1216, 832),
    "2:3": (832, 1216),
    "21:9": (1536, 640),
}
FLUX_SIZES: dict[str, tuple[int, int]] = {
    "1:1": (1024, 1024),
    "16:9": (1360, 768),
    "9:16": (768, 1360),
    "4:3": (1152, 864),
    "3:4": (864, 1152),
    "3:2": (1248, 832),
    "2:3": (832, 1248),
    "21:9": (1568, 672),
}


@dataclass(frozen=True)
class ModelSpec:
    name: str
    family: Family
    source: str  # hub id or local directory ("builtin" for tiny)
    steps: int
    guidance: float
    native_size: int
    dtype: str = "float16"  # used on CUDA; the CPU always runs float32
    revision: str | None = None  # hub revision to pin
    variant: str | None = None  # e.g. "fp16" weight files on the hub
    max_batch: int = 6  # images per pipeline call before splitting
    # Cross-task batching: a worker that starts a task also starts queued tasks of other requests
    # with the same settings (size, steps, guidance, negative prompt or none), up to this many
    # images in all, and runs them in the same pipeline calls. 0: one task at a time.
    batch_images: int = 0
    supports_negative_prompt: bool = True
    # Seconds added to every denoising step: a test model with slow steps (progress, cancel while
    # running). Only the offline families (tiny, still) take it; a real model is as slow as it is.
    step_delay: float = 0.0
    # What a customer may choose (DESIGN.md section 10, "Customer choices").
    sizes: dict[str, tuple[int, int]] = field(default_factory=lambda: dict(SDXL_SIZES))
    steps_range: tuple[int, int] = (1, 50)
    guidance_range: tuple[float, float] = (0.0, 20.0)
    # Price of one image of this model = the plan's price per image x price_factor.
    price_factor: str = "1"

    @property
    def queue(self) -> str:
        return f"generation-{self.name}"

    @property
    def price(self) -> Decimal:
        return Decimal(self.price_factor)

    def bucket_for(self, width: int, height: int) -> tuple[int, int]:
        """The model's own size whose aspect ratio is nearest to ``width`` x ``height``."""
        target = math.log(width / height)
        return min(self.sizes.values(), key=lambda size: abs(math.log(size[0] / size[1]) - target))

    def generation_size(self, width: int, height: int) -> tuple[int, int]:
        """What the pipeline is asked for when the output is ``width`` x ``height``: the nearest
        bucket scaled by native_size / 1024, in multiples of 8 (the output is resized from it)."""
        scale = self.native_size / 1024
        return tuple(max(8, round(side * scale / 8) * 8) for side in self.bucket_for(width, height))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


BUILTIN: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        # Built offline from configuration; outputs are noise. Runs the whole diffusers path.
        ModelSpec(name="tiny", family="tiny", source="builtin", steps=4, guidance=5.0, native_size=64, dtype="float32"),
        ModelSpec(
            name="sdxl-turbo",
            family="sdxl",
            source="stabilityai/sdxl-turbo",
            steps=1,
            guidance=0.0,
            native_size=512,
            variant="fp16",
        ),
        ModelSpec(
            name="sdxl",
            family="sdxl",
            source="stabilityai/stable-diffusion-xl-base-1.0",
            steps=30,
            guidance=7.0,
            native_size=1024,
            variant="fp16",
            max_batch=4,
        ),
        ModelSpec(
            name="flux-schnell",
            family="flux",
            source="black-forest-labs/FLUX.1-schnell",
            steps=4,
            guidance=0.0,
            native_size=1024,
            dtype="bfloat16",
            max_batch=2,
            # FLUX.1-schnell is guidance-distilled: it has no negative prompt.
            supports_negative_prompt=False,
            sizes=dict(FLUX_SIZES),
            steps_range=(1, 8),
            guidance_range=(0.0, 0.0),
        ),
        # A FLUX-like tiny model (FLUX's sizes, no negative prompt, no guidance): the CPU path for
        # models of that kind, built offline like ``tiny``.
        ModelSpec(
            name="tiny-flux",
            family="tiny",
            source="builtin",
            steps=4,
            guidance=0.0,
            native_size=64,
            dtype="float32",
            supports_negative_prompt=False,
            sizes=dict(FLUX_SIZES),
            steps_range=(1, 8),
            guidance_range=(0.0, 0.0),
            price_factor="2",
        ),
    )
}


def build_registry(overrides: dict[str, dict[str, Any]] | None = None) -> dict[str, ModelSpec]:
    """The built-in entries with ``overrides`` applied: a known name changes fields of its entry,
    a new name adds an entry (it must then give family, source, steps, guidance, native_size)."""
    registry = dict(BUILTIN)
    allowed = {f.name for f in fields(ModelSpec)} - {"name"}
    for name, values in (overrides or {}).items():
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"model {name!r}: unknown fields {sorted(unknown)}")
        registry[name] = replace(registry[name], **values) if name in registry else ModelSpec(name=name, **values)
    for spec in registry.values():
        if spec.family not in ("tiny", "sd", "sdxl", "flux", "still"):
            raise ValueError(f"model {spec.name!r}: unknown family {spec.family!r}")
        if spec.step_delay and (spec.family not in ("tiny", "still") or not 0 < spec.step_delay <= 60):
            raise ValueError(f"model {spec.name!r}: step_delay is for the tiny and still families, 0..60 seconds")
        if not 0 <= spec.batch_images <= 64:
            raise ValueError(f"model {spec.name!r}: batch_images must be 0 (off) to 64")
        if spec.native_size % 8 or spec.native_size <= 0:
            raise ValueError(f"model {spec.name!r}: native_size must be a positive multiple of 8")
        registry[spec.name] = _checked_choices(spec)
    return registry


def _checked_choices(spec: ModelSpec) -> ModelSpec:
    """Sizes, bounds and price as tuples and checked (JSON overrides give lists)."""
    sizes = {str(ratio): (int(w), int(h)) for ratio, (w, h) in dict(spec.sizes).items()}
    if "1:1" not in sizes or any(w <= 0 or h <= 0 or w % 8 or h % 8 for w, h in sizes.values()):
        raise ValueError(f"model {spec.name!r}: sizes need a '1:1' entry and positive multiples of 8")
    steps = tuple(int(v) for v in spec.steps_range)
    guidance = tuple(float(v) for v in spec.guidance_range)
    if not 1 <= steps[0] <= spec.steps <= steps[1] or not guidance[0] <= spec.guidance <= guidance[1]:
        raise ValueError(f"model {spec.name!r}: steps/guidance must lie within steps_range/guidance_range")
    try:
        if Decimal(spec.price_factor) < 0:
            raise InvalidOperation
    except InvalidOperation:
        raise ValueError(f"model {spec.name!r}: price_factor must be a decimal >= 0") from None
    return replace(spec, sizes=sizes, steps_range=steps, guidance_range=guidance, price_factor=str(spec.price_factor))

"""Model registry: name -> where the weights come from and how to run them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

Family = Literal["tiny", "sd", "sdxl", "flux", "still"]


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
    supports_negative_prompt: bool = True
    # Seconds added to every denoising step: a test model with slow steps (progress, cancel while
    # running). Only the offline families (tiny, still) take it; a real model is as slow as it is.
    step_delay: float = 0.0

    @property
    def queue(self) -> str:
        return f"generation-{self.name}"

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
        if spec.native_size % 8 or spec.native_size <= 0:
            raise ValueError(f"model {spec.name!r}: native_size must be a positive multiple of 8")
    return registry

"""The generation engine: model registry, loading and inference. No Django imports here."""

from generation.engine.registry import ModelSpec, build_registry
from generation.engine.runner import (
    EncodingFailed,
    Engine,
    GeneratedImage,
    GenerationCancelled,
    GenerationRequest,
    GenerationResult,
    PreviewHook,
    StepHook,
)

__all__ = [
    "EncodingFailed",
    "Engine",
    "GeneratedImage",
    "GenerationCancelled",
    "GenerationRequest",
    "GenerationResult",
    "ModelSpec",
    "PreviewHook",
    "StepHook",
    "build_registry",
]

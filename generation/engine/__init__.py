"""The generation engine: model registry, loading and inference. No Django imports here."""

from generation.engine.registry import ModelSpec, build_registry
from generation.engine.runner import (
    Engine,
    GeneratedImage,
    GenerationCancelled,
    GenerationRequest,
    GenerationResult,
    StepHook,
)

__all__ = [
    "Engine",
    "GeneratedImage",
    "GenerationCancelled",
    "GenerationRequest",
    "GenerationResult",
    "ModelSpec",
    "StepHook",
    "build_registry",
]

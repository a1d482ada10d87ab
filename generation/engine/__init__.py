"""The generation engine: model registry, loading and inference. No Django imports here."""

from generation.engine.registry import ModelSpec, build_registry
from generation.engine.runner import Engine, GeneratedImage, GenerationRequest, GenerationResult

__all__ = ["Engine", "GeneratedImage", "GenerationRequest", "GenerationResult", "ModelSpec", "build_registry"]

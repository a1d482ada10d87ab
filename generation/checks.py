"""The rules of generation's settings (the model registry, moderation), registered with the
platform's settings checks (``imgplatform.checks``) when the app starts (generation/apps.py)."""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from imgplatform.checks import rule


@rule("imagegen.E006")
def _models() -> Iterator[str]:
    if settings.DEFAULT_MODEL not in settings.MODEL_REGISTRY:
        yield f"DEFAULT_MODEL {settings.DEFAULT_MODEL!r} is not in the model registry"


@rule("imagegen.E007")
def _moderation() -> Iterator[str]:
    from moderation.policy import policy_errors
    from moderation.text import load_terms

    errors = policy_errors({"image_thresholds": settings.MODERATION_IMAGE_THRESHOLDS})
    if errors:
        yield "MODERATION_IMAGE_THRESHOLDS: " + " ".join(errors)
    try:
        load_terms(settings.MODERATION_TERMS_FILE)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        yield f"MODERATION_TERMS_FILE: {exc}"

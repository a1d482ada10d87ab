"""Moderation with this deployment's settings and a project's policy (the Django side)."""

from __future__ import annotations

import logging
import threading

from django.conf import settings

from moderation.image import ImageModerator, ImagePolicy
from moderation.policy import image_policy, term_list
from moderation.text import TextVerdict, load_terms

log = logging.getLogger(__name__)

_moderator: ImageModerator | None = None
_lock = threading.Lock()


def prompt_verdict(*, project, text_data: str, neg_text: str) -> TextVerdict:
    terms = term_list(load_terms(settings.MODERATION_TERMS_FILE), project.moderation_policy)
    return terms.check({"text_data": text_data, "neg_text": neg_text})


def image_policy_for(project) -> ImagePolicy:
    return image_policy(settings.MODERATION_IMAGE_THRESHOLDS, project.moderation_policy)


def load_image_moderator() -> ImageModerator:
    """The image detectors of this process, loaded once (the worker loads them at start)."""
    global _moderator
    with _lock:
        if _moderator is None:
            _moderator = ImageModerator.load(
                nudenet_path=settings.MODERATION_NUDENET_PATH or None, clip_path=settings.MODERATION_CLIP_PATH or None
            )
        return _moderator


def reset_image_moderator() -> None:
    """Forget the loaded detectors (after MODERATION_* settings change, e.g. in tests)."""
    global _moderator
    with _lock:
        _moderator = None

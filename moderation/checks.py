"""Moderation with this deployment's settings and a project's policy (the Django side)."""

from __future__ import annotations

import logging
import threading

from django.conf import settings

from moderation.classifier import TextClassifier
from moderation.image import ImageModerator, ImagePolicy
from moderation.policy import image_policy, term_list
from moderation.text import TextVerdict, load_terms

log = logging.getLogger(__name__)

_moderator: ImageModerator | None = None
_lock = threading.Lock()


_classifier: TextClassifier | None = None


def prompt_verdict(*, project, text_data: str, neg_text: str) -> TextVerdict:
    terms = term_list(load_terms(settings.MODERATION_TERMS_FILE), project.moderation_policy)
    fields = {"text_data": text_data, "neg_text": neg_text}
    verdict = terms.check(fields)
    classifier = load_text_classifier()
    if classifier is not None:
        verdict = verdict.with_classifier(classifier.opinion(fields, settings.MODERATION_TEXT_CLASSIFIER_BLOCK_AT))
    return verdict


def load_text_classifier() -> TextClassifier | None:
    """The optional prompt classifier of this process (MODERATION_TEXT_CLASSIFIER_PATH), loaded once."""
    global _classifier
    path = settings.MODERATION_TEXT_CLASSIFIER_PATH
    if not path:
        return None
    with _lock:
        if _classifier is None:
            _classifier = TextClassifier.load(path)
            log.info("loaded prompt classifier %s", _classifier.name)
        return _classifier


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
    """Forget the loaded detectors and classifier (after MODERATION_* settings change, e.g. in tests)."""
    global _moderator, _classifier
    with _lock:
        _moderator = None
        _classifier = None

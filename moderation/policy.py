"""A project's moderation policy: its own prompt terms and image thresholds on top of the
deployment's. Stored as JSON on the project::

    {
      "image_thresholds": {"FACE_FEMALE": 0.5, "BUTTOCKS_EXPOSED": null},
      "terms": {"violence": ["laser sword"]},
      "allow": ["nude study"]
    }

``image_thresholds`` overrides the deployment's per label (``null`` turns a label off);
``terms`` adds prompt terms per category; ``allow`` lets phrases through (never the ``minors``
checks). No Django here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from moderation.image import KNOWN_LABELS, ImagePolicy
from moderation.text import CATEGORIES, TermList

POLICY_KEYS = ("image_thresholds", "terms", "allow")


def policy_errors(policy: Any) -> list[str]:
    """Everything wrong with ``policy``, as sentences; empty when it is valid."""
    if not isinstance(policy, Mapping):
        return ["The policy must be a JSON object."]
    errors = [f"Unknown key {key!r}; known: {', '.join(POLICY_KEYS)}." for key in policy if key not in POLICY_KEYS]
    thresholds = policy.get("image_thresholds", {})
    if not isinstance(thresholds, Mapping):
        errors.append("image_thresholds must be an object of label -> score.")
    else:
        for label, value in thresholds.items():
            if label not in KNOWN_LABELS:
                errors.append(f"Unknown image label {label!r}; known: {', '.join(KNOWN_LABELS)}.")
            elif value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                errors.append(f"The threshold of {label} must be a number from 0 to 1, or null.")
            elif value is not None and not 0 <= value <= 1:
                errors.append(f"The threshold of {label} must be from 0 to 1.")
    terms = policy.get("terms", {})
    if not isinstance(terms, Mapping):
        errors.append("terms must be an object of category -> list of terms.")
    else:
        for category, words in terms.items():
            if category not in CATEGORIES:
                errors.append(f"Unknown category {category!r}; known: {', '.join(CATEGORIES)}.")
            elif not isinstance(words, list) or not all(isinstance(w, str) and w.strip("* ") for w in words):
                errors.append(f"terms.{category} must be a list of non-empty strings.")
    allow = policy.get("allow", [])
    if not isinstance(allow, list) or not all(isinstance(w, str) and w.strip("* ") for w in allow):
        errors.append("allow must be a list of non-empty strings.")
    return errors


def image_policy(defaults: Mapping[str, float | None], policy: Mapping | None) -> ImagePolicy:
    merged = {**defaults, **(policy or {}).get("image_thresholds", {})}
    return ImagePolicy({label: float(value) for label, value in merged.items() if value is not None})


def term_list(base: TermList, policy: Mapping | None) -> TermList:
    if not policy or not (policy.get("terms") or policy.get("allow")):
        return base
    return _extended(base, json.dumps({"categories": policy.get("terms", {}), "allow": policy.get("allow", [])}))


@lru_cache(maxsize=256)
def _extended(base: TermList, extra: str) -> TermList:
    return base.extended(json.loads(extra))

"""The API's JSON renderer: DRF's, able to write out text that UTF-8 cannot carry."""

from __future__ import annotations

from typing import Any

from imgplatform.parsers import SURROGATE
from rest_framework import renderers

REPLACEMENT = "\ufffd"


def scrub_surrogates(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings (object keys included) replaced by U+FFFD,
    the Unicode replacement character. For rows stored before the parser refused them (SQLite's
    JSON columns keep the ``\\ud800`` escape), and anything else that would fail UTF-8 encoding."""
    if isinstance(value, str):
        return SURROGATE.sub(REPLACEMENT, value)
    if isinstance(value, dict):
        return {scrub_surrogates(k): scrub_surrogates(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_surrogates(v) for v in value]
    return value


class JSONRenderer(renderers.JSONRenderer):
    """DRF's JSON renderer; a response holding a lone surrogate (which DRF's UTF-8 output cannot
    encode: a 500) is written with U+FFFD in its place. The usual case pays nothing extra."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            return super().render(scrub_surrogates(data), accepted_media_type, renderer_context)

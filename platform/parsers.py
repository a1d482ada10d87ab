"""Request body parsers: DRF's, with every way a body can fail to parse turned into a 400, and
text that no UTF-8 can carry (lone surrogates) refused before any view sees it."""

from __future__ import annotations

import re
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

SURROGATE = re.compile("[\ud800-\udfff]")
LONE_SURROGATE = "a lone surrogate (a \\ud800 to \\udfff escape that is not half of a pair)"


def find_surrogate(value: Any) -> str | None:
    """The path (``options.neg_text``, ``metadata.<key>``, ``body`` for the top) of the first string,
    object key included, that holds a lone surrogate, or None. JSON's ``\\ud800`` escape is the only
    way one gets in (raw bytes of one are not UTF-8, and query strings, forms and headers are
    decoded with replacement): such a string can be neither stored in PostgreSQL nor written out
    as UTF-8, so it is refused before anything is stored, billed or echoed. Iterative, so a deep
    body cannot exhaust the stack; the path never contains the offending text."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if SURROGATE.search(item):
                return path or "body"
        elif isinstance(item, dict):
            for key, child in item.items():
                key_text = str(key)
                if SURROGATE.search(key_text):
                    return f"{path}.<key>" if path else "<key>"
                stack.append((child, f"{path}.{key_text}" if path else key_text))
        elif isinstance(item, list):
            stack.extend((child, path) for child in item)
    return None


def refuse_surrogates(value: Any) -> Any:
    """``value``, or a ParseError (400 ``invalid_request``) naming where a lone surrogate is."""
    where = find_surrogate(value)
    if where is not None:
        raise ParseError(f"JSON parse error - the body holds {LONE_SURROGATE}, at {where}.")
    return value


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser; a body nested deeper than Python's parser can follow (``[[[[...]]]]``
    within MAX_REQUEST_BYTES) is a 400 like any other unparseable body, not a RecursionError, and
    so is a body holding a lone surrogate anywhere (``"\\ud800"`` as a value or a key)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.")
        return refuse_surrogates(data)

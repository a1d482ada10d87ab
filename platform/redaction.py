"""Secrets never reach a log line: a formatter that blanks them in whatever it writes."""

from __future__ import annotations

import logging
import re

# igk_<key id>_<secret>: the key id (not secret, shown in the admin) stays, the secret goes.
_API_KEY = re.compile(r"\b(igk_[0-9A-Za-z]{1,32})_[0-9A-Za-z_\-]+")
_WEBHOOK_SECRET = re.compile(r"\bwhsec_[0-9A-Za-z+/=_\-]+")
# An Authorization value in a logged header or dict: "Token abc...", "Bearer abc...".
_AUTH_VALUE = re.compile(r"(?i)\b(token|bearer|basic)(\s+|%20)[^\s'\",;]{8,}")


def redact(text: str) -> str:
    text = _API_KEY.sub(r"\1_[redacted]", text)
    text = _WEBHOOK_SECRET.sub("whsec_[redacted]", text)
    return _AUTH_VALUE.sub(r"\1 [redacted]", text)


class RedactingFormatter(logging.Formatter):
    """A plain formatter whose output (message, arguments, traceback) has secrets blanked."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))

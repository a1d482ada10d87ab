"""Standard Webhooks signatures, made with the ``standardwebhooks`` package. No Django imports.

A secret is ``whsec_`` + base64 of random bytes (``accounts.models.new_webhook_secret`` makes
them). Projects created before callbacks landed got their secret from ``secrets.token_urlsafe``
(base64url: ``-`` and ``_``), which Standard Webhooks libraries decode with the standard
alphabet, dropping those characters or failing outright. So a secret is always used and shown in
its canonical form: the same key bytes, standard base64.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"  # new secrets: accounts.models.new_webhook_secret


def canonical_secret(secret: str) -> str:
    """``whsec_`` + standard base64 of the key bytes, whichever base64 alphabet ``secret`` used."""
    body = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    body = body.rstrip("=").replace("-", "+").replace("_", "/")
    try:
        key = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the webhook secret is not base64") from None
    if len(key) < 16:
        raise ValueError("the webhook secret is shorter than 16 bytes")
    return SECRET_PREFIX + base64.b64encode(key).decode("ascii")


def encode_body(payload: Any) -> str:
    """The exact text that is signed and sent."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True)


def signature_header(*, secrets: Sequence[str], msg_id: str, timestamp: datetime, body: str) -> str:
    """``v1,<sig>`` per secret, space-separated (during a rotation the old and the new one)."""
    return " ".join(Webhook(canonical_secret(s)).sign(msg_id, timestamp, body) for s in secrets)


def webhook_headers(*, secrets: Sequence[str], msg_id: str, timestamp: datetime, body: str) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature_header(secrets=secrets, msg_id=msg_id, timestamp=timestamp, body=body),
    }

"""Signatures are Standard Webhooks', made and checked with the ``standardwebhooks`` package."""

import base64
import binascii
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from accounts.models import new_webhook_secret as new_secret
from callbacks.signing import canonical_secret, encode_body, webhook_headers


def test_new_secrets_verify_with_the_reference_library():
    now = datetime.now(UTC)  # at test time: the verifier refuses messages older than 5 min
    secret = new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    body = encode_body({"id": "t", "state": "succeeded"})
    headers = webhook_headers(secrets=[secret], msg_id="msg_1", timestamp=now, body=body)
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(body, headers) == {"id": "t", "state": "succeeded"}
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace("succeeded", "failed"), headers)


def test_during_a_rotation_both_secrets_sign():
    now = datetime.now(UTC)  # at test time: the verifier refuses messages older than 5 min
    old, new = new_secret(), new_secret()
    body = encode_body({"x": 1})
    headers = webhook_headers(secrets=[new, old], msg_id="msg_2", timestamp=now, body=body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers) == {"x": 1}


def test_a_base64url_secret_is_used_in_its_canonical_form():
    now = datetime.now(UTC)  # at test time: the verifier refuses messages older than 5 min
    """Projects' first secrets were made with token_urlsafe; '-' and '_' are not standard base64,
    and the reference library drops them (here it even fails). The canonical form keeps the key."""
    key = bytes([0xFB, 0xFF, 0xBF] * 10 + [0xFB])  # base64url full of '-' and '_'
    legacy = "whsec_" + base64.urlsafe_b64encode(key).decode().rstrip("=")
    assert "-" in legacy and "_" in legacy
    with pytest.raises(binascii.Error):
        Webhook(legacy)
    canonical = canonical_secret(legacy)
    assert base64.b64decode(canonical[6:]) == key
    assert canonical_secret(canonical) == canonical
    body = encode_body({"k": "v"})
    assert Webhook(canonical).verify(body, webhook_headers(secrets=[legacy], msg_id="m", timestamp=now, body=body))


def test_garbage_secrets_are_refused():
    for bad in ("whsec_", "whsec_!!!!", "whsec_abc"):
        with pytest.raises(ValueError):
            canonical_secret(bad)

"""Output of the callbacks API (and its OpenAPI description)."""

from __future__ import annotations

import ipaddress
import re

from rest_framework import serializers

from callbacks.models import CallbackAttempt, CallbackDelivery

# What the tenant is told about a failed attempt: what went wrong, in its class, without the
# platform's side of the network path. The full text stays in the database for the operator (admin).
_SUMMARIES = (
    # A certificate's names and chain (a TLS-inspecting egress proxy's, say) are the platform's.
    ("TLS certificate not valid for this host", "TLS certificate not valid for this host"),
    ("TLS error", "TLS error (the handshake with the receiver failed)"),
    ("internal error before sending", "internal error before sending"),
)
_IP_LIKE = re.compile(
    r"(?<![\w.:])(?:\d{1,3}(?:\.\d{1,3}){3}|(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{0,4}|\d{1,3}(?:\.\d{1,3}){3}))(?![\w.:])"
)


def _address(match: re.Match) -> str:
    try:
        ipaddress.ip_address(match.group(0))
    except ValueError:
        return match.group(0)
    return "[address]"


def tenant_error(text: str) -> str:
    """An attempt's error as its tenant sees it: TLS and internal errors summarised to their class,
    and the addresses the platform resolved or connected to (internal ones, or an egress proxy's)
    left out."""
    if not text:
        return text
    for prefix, summary in _SUMMARIES:
        if text.startswith(prefix):
            return summary
    return _IP_LIKE.sub(_address, text)


# Integer fields are declared: a model field's derived bounds depend on the database backend, and
# the published schema must not.
class CallbackAttemptSerializer(serializers.ModelSerializer):
    number = serializers.IntegerField(help_text="1 for the first attempt")
    status_code = serializers.IntegerField(
        allow_null=True, help_text="The receiver's HTTP status; null when no response came"
    )

    class Meta:
        model = CallbackAttempt
        fields = [
            "number",
            "trigger",
            "started_at",
            "status_code",
            "latency_ms",
            "error",
            "response_excerpt",
            "next_attempt_at",
        ]
        extra_kwargs = {
            "error": {"help_text": "Why the attempt failed (empty on success)"},
            "response_excerpt": {"help_text": "The start of the receiver's response body"},
            "next_attempt_at": {"help_text": "When the next attempt was scheduled after this one failed"},
        }

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["error"] = tenant_error(data["error"])
        return data


class CallbackDeliverySerializer(serializers.ModelSerializer):
    attempts_count = serializers.IntegerField()
    last_status_code = serializers.IntegerField(allow_null=True)
    attempts = CallbackAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = CallbackDelivery
        fields = [
            "webhook_id",
            "event_type",
            "url",
            "status",
            "attempts_count",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
            "finished_at",
            "attempts",
        ]
        extra_kwargs = {"webhook_id": {"help_text": "The `webhook-id` header, the same on every attempt"}}

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["last_error"] = tenant_error(data["last_error"])
        return data


class TaskCallbacksSerializer(serializers.Serializer):
    task_id = serializers.UUIDField()
    deliveries = CallbackDeliverySerializer(many=True)


class WebhookSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="whsec_...: verify callbacks with it (Standard Webhooks)")
    previous_secret_expires_at = serializers.DateTimeField(
        allow_null=True, help_text="After a rotation the old secret also signs (a second v1 signature) until then"
    )
    rotated_at = serializers.DateTimeField(allow_null=True)

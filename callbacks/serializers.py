"""Output of the callbacks API (and its OpenAPI description)."""

from __future__ import annotations

from rest_framework import serializers

from callbacks.models import CallbackAttempt, CallbackDelivery


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


class TaskCallbacksSerializer(serializers.Serializer):
    task_id = serializers.UUIDField()
    deliveries = CallbackDeliverySerializer(many=True)


class WebhookSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="whsec_...: verify callbacks with it (Standard Webhooks)")
    previous_secret_expires_at = serializers.DateTimeField(
        allow_null=True, help_text="After a rotation the old secret also signs (a second v1 signature) until then"
    )
    rotated_at = serializers.DateTimeField(allow_null=True)

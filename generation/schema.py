"""Serializers that describe responses in the OpenAPI schema (responses are built by
``serializers.task_object``; tests check that real responses validate against this schema)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers

from accounts.models import Scope
from generation.models import Task

PROJECT_ID_HELP = "Your project's id (1..2**52): stable, but not a counter, so it tells nothing about other projects"


@extend_schema_field(OpenApiTypes.ANY)
class AnyJSONField(serializers.JSONField):
    """Any JSON value, null included. (``allow_null`` would document a oneOf of "anything" and
    "null", which null matches twice.)"""

    def validate_empty_values(self, data):
        if data is None:
            return True, None
        return super().validate_empty_values(data)


class _PromptModerationSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["pass", "block"])
    categories = serializers.ListField(
        child=serializers.ChoiceField(choices=["sexual", "minors", "violence", "hate", "self_harm"])
    )


class _WithheldImageSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    labels = serializers.ListField(child=serializers.CharField(), help_text="Detector labels that blocked it")
    scores = serializers.DictField(child=serializers.FloatField(), help_text="Score of each blocking label")
    thresholds = serializers.DictField(child=serializers.FloatField(), help_text="The policy's blocking scores")


class ModerationSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=Task.Moderation.choices)
    prompt = _PromptModerationSerializer(allow_null=True)
    images_withheld = serializers.IntegerField(help_text="Images generated but not returned (flagged)")
    withheld = _WithheldImageSerializer(many=True)


class ProblemSerializer(serializers.Serializer):
    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(help_text="Stable, machine-readable error code.")
    task_id = serializers.UUIDField(required=False)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)
    moderation = ModerationSerializer(required=False, help_text="With moderation_blocked_* codes")
    cap = serializers.ChoiceField(
        choices=["tenant", "project", "end_user", "prepaid_credit"], required=False, help_text="With quota_exceeded"
    )
    rate_limit = serializers.ChoiceField(
        choices=["requests_per_minute", "queued_tasks"], required=False, help_text="With rate_limited: which limit"
    )
    limit = serializers.CharField(
        required=False,
        help_text="With quota_exceeded: the cap, or the credit available; with rate_limited: the limit's value",
    )
    spent = serializers.CharField(required=False, help_text="With quota_exceeded: delivered this month")
    pending = serializers.CharField(required=False, help_text="With quota_exceeded: worst case of unfinished tasks")
    required = serializers.CharField(required=False, help_text="With quota_exceeded: this task's worst case")
    currency = serializers.CharField(required=False)
    scope = serializers.ChoiceField(
        choices=Scope.values,
        required=False,
        help_text="With forbidden: the API key scope the request needs and the key lacks",
    )


# An error answer in every API view's OpenAPI responses (generation's, billing's, callbacks').
PROBLEM = OpenApiResponse(ProblemSerializer, description="application/problem+json")


def problem_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """``{status: PROBLEM}`` for each of ``statuses``, for ``extend_schema(responses=...)``."""
    return dict.fromkeys(statuses, PROBLEM)


class _StatusSerializer(serializers.Serializer):
    code = serializers.CharField(help_text='"0" on success, "202" while queued or running, else HTTP-like')
    message = serializers.CharField()


class _OptionsSerializer(serializers.Serializer):
    neg_text = serializers.CharField()
    num_images = serializers.IntegerField()
    seed = serializers.IntegerField(help_text="Base seed; image i uses (seed + i) mod 2**32")
    moderation = serializers.CharField(required=False)
    end_user = serializers.CharField(required=False)
    model = serializers.CharField(required=False, help_text="The customer's choices: only those given")
    aspect_ratio = serializers.CharField(required=False)
    width = serializers.IntegerField(required=False)
    height = serializers.IntegerField(required=False)
    output_format = serializers.CharField(required=False)
    output_quality = serializers.IntegerField(required=False)
    num_inference_steps = serializers.IntegerField(required=False)
    guidance_scale = serializers.FloatField(required=False)


class _InputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    created_on = serializers.DateTimeField()
    text_data = serializers.CharField()
    options = _OptionsSerializer()
    model = serializers.CharField()
    model_version = serializers.CharField(allow_null=True)
    charge = serializers.CharField(help_text="Decimal amount charged for this task")
    user_id = serializers.IntegerField(
        allow_null=True, help_text="The API key that submitted the task (1..2**52, stable, not a counter)"
    )
    project_id = serializers.IntegerField(
        help_text="Your project's id (1..2**52): stable, but not a counter, so it tells nothing about other projects"
    )


class _ImageSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    path = serializers.CharField()
    message = serializers.CharField()
    url = serializers.URLField(help_text="Signed link; expires after IMAGE_LINK_TTL seconds")
    seed = serializers.IntegerField()
    sha256 = serializers.CharField()


class _OutputSerializer(serializers.Serializer):
    images = _ImageSerializer(many=True)
    watermarked_images = serializers.ListField(child=serializers.DictField())
    s3_bucket = serializers.CharField(allow_null=True)
    s3_domain = serializers.CharField(allow_null=True)


class _ResponseSerializer(serializers.Serializer):
    input = _InputSerializer()
    output = _OutputSerializer(many=True)


class _StatusEntrySerializer(serializers.Serializer):
    status = _StatusSerializer()
    response = _ResponseSerializer()


class ReproducibilitySerializer(serializers.Serializer):
    model = serializers.CharField()
    model_version = serializers.CharField(allow_null=True, help_text="null until a worker started the task")
    scheduler = serializers.CharField(allow_null=True)
    steps = serializers.IntegerField(allow_null=True, help_text="null: the model's default, not started yet")
    guidance = serializers.FloatField(allow_null=True)
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    generation_size = serializers.ListField(
        child=serializers.IntegerField(), allow_null=True, help_text="What the pipeline made before resizing"
    )
    output_format = serializers.CharField()
    output_quality = serializers.IntegerField(allow_null=True)
    dtype = serializers.CharField(allow_null=True)
    device = serializers.CharField(allow_null=True)
    seeds = serializers.ListField(child=serializers.IntegerField(), help_text="Seed of image i, in order")


class TaskObjectSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    project_id = serializers.IntegerField(
        help_text="Your project's id (1..2**52): stable, but not a counter, so it tells nothing about other projects"
    )
    created_on = serializers.DateTimeField()
    state = serializers.ChoiceField(choices=Task.State.choices)
    status = _StatusEntrySerializer(many=True)
    error = ProblemSerializer(
        allow_null=True,
        help_text=(
            "Why the task failed (null otherwise; or why the platform cancelled it: tenant_suspended). "
            "Task error codes: moderation_blocked_prompt 422, moderation_blocked_image 422 (nothing charged, "
            "not retried); generation_failed 500 (the model, or encoding its images, failed); "
            "moderation_failed 500 (the image moderator failed: fail closed, nothing stored); "
            "storage_failed 503 (the images could not be stored: none kept); worker_lost 503 (its worker "
            "died on every allowed run); service_unavailable 503 (it could not be queued). "
            "Only succeeded tasks are charged; the detail names the stage that failed."
        ),
    )
    callback_url = serializers.URLField(allow_null=True)
    from_cache = serializers.BooleanField()
    metadata = AnyJSONField()
    started_on = serializers.DateTimeField(allow_null=True)
    finished_on = serializers.DateTimeField(allow_null=True)
    timings_ms = serializers.DictField(child=serializers.FloatField())
    moderation = ModerationSerializer()
    reproducibility = ReproducibilitySerializer(help_text="Extension: what any image can be made again with")


class TaskPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = TaskObjectSerializer(many=True)

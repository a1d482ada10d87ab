"""Input validation and the task object (Hive's shape, extensions beside it)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import QueryDict
from imgplatform.parsers import LONE_SURROGATE, SURROGATE, find_surrogate
from imgplatform.problems import CODES, problem_body
from imgplatform.publicids import to_public
from rest_framework import serializers

from generation import storage
from generation.callback_url import callback_url_refusal
from generation.engine.runner import MAX_SEED, OUTPUT_FORMATS
from generation.models import Task
from generation.options import SIDE_MAX, SIDE_MIN, ChoiceError, resolve_choices
from generation.schema import AnyJSONField

MAX_TEXT = 2000
MAX_IMAGES = 6
MAX_METADATA_BYTES = 4096


class StrictCharField(serializers.CharField):
    """A string and only a string (DRF's CharField would turn 123 into "123")."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer (not true/false, not 2.5), or a string of digits from a form."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not (
            isinstance(data, int) or (isinstance(data, str) and re.fullmatch(r"\d{1,12}", data))
        ):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictNumberField(serializers.FloatField):
    """A JSON number (not true/false, not NaN), or a decimal number as a string from a form."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not (
            isinstance(data, int | float) or (isinstance(data, str) and re.fullmatch(r"-?\d{1,6}(\.\d{1,6})?", data))
        ):
            self.fail("invalid")
        value = super().to_internal_value(data)
        if value != value or value in (float("inf"), float("-inf")):
            self.fail("invalid")
        return value


class OptionsSerializer(serializers.Serializer):
    neg_text = StrictCharField(max_length=MAX_TEXT, required=False, allow_blank=True, trim_whitespace=True)
    num_images = StrictIntegerField(min_value=1, max_value=MAX_IMAGES, required=False)
    seed = StrictIntegerField(min_value=0, max_value=MAX_SEED, required=False)
    moderation = serializers.ChoiceField(choices=Task.Moderation.choices, required=False)
    end_user = StrictCharField(max_length=128, required=False, allow_blank=True)
    # Customer choices (generation/options.py checks them against the model).
    model = StrictCharField(max_length=64, required=False, help_text="A name from GET /api/v2/models")
    aspect_ratio = StrictCharField(max_length=8, required=False, help_text="e.g. 16:9; the model's sizes")
    width = StrictIntegerField(min_value=SIDE_MIN, max_value=SIDE_MAX, required=False, help_text="Multiple of 64")
    height = StrictIntegerField(min_value=SIDE_MIN, max_value=SIDE_MAX, required=False, help_text="Multiple of 64")
    output_format = serializers.ChoiceField(choices=list(OUTPUT_FORMATS), required=False)
    output_quality = StrictIntegerField(min_value=1, max_value=100, required=False, help_text="jpeg and webp")
    num_inference_steps = StrictIntegerField(min_value=1, max_value=1000, required=False)
    guidance_scale = StrictNumberField(min_value=0, max_value=100, required=False)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("options must be a JSON object.")
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({key: [f"Unknown option {key!r}."] for key in unknown})
        return super().to_internal_value(data)


class CallbackUrlField(serializers.URLField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        # The SSRF rules first, so that e.g. http://2130706433/ is refused as loopback rather than
        # as "not a URL" (platform/ssrf.py; checked again at every delivery).
        refusal = callback_url_refusal(data.strip())
        if refusal:
            raise serializers.ValidationError(f"callback_url is not allowed: {refusal}.")
        url = super().to_internal_value(data.strip())
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise serializers.ValidationError("callback_url must be http or https.")
        if parts.username or parts.password:
            raise serializers.ValidationError("callback_url must not carry credentials.")
        return url


MAX_METADATA_DEPTH = 32


def _json_problem(value, depth: int = 0) -> str | None:
    """Why PostgreSQL's jsonb (or anything downstream) would refuse ``value``, or None: a NUL
    character (jsonb cannot store U+0000), a lone surrogate (not a character: no UTF-8 encodes
    it) or nesting deeper than MAX_METADATA_DEPTH."""
    if depth > MAX_METADATA_DEPTH:
        return f"metadata must not be nested more than {MAX_METADATA_DEPTH} levels deep."
    if isinstance(value, str):
        if "\x00" in value:
            return "metadata must not contain NUL characters (U+0000)."
        if SURROGATE.search(value):
            return "metadata must not contain lone surrogates (U+D800 to U+DFFF)."
        return None
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, list):
        items = value
    else:
        return None
    for item in items:
        problem = _json_problem(item, depth + 1)
        if problem:
            return problem
    return None


class TaskSubmitSerializer(serializers.Serializer):
    """``{"text_data": ..., "options": {...}, "callback_url": ...}``; ``neg_text`` and
    ``num_images`` are accepted at the top level too."""

    text_data = StrictCharField(max_length=MAX_TEXT, trim_whitespace=True, allow_blank=False)
    options = OptionsSerializer(required=False)
    neg_text = StrictCharField(max_length=MAX_TEXT, required=False, allow_blank=True)
    num_images = StrictIntegerField(min_value=1, max_value=MAX_IMAGES, required=False)
    callback_url = CallbackUrlField(max_length=2048, required=False, allow_blank=True)
    metadata = AnyJSONField(required=False, help_text="Any JSON (4 KB at most), echoed back")

    def to_internal_value(self, data):
        if isinstance(data, QueryDict):  # form-encoded: one value per field, options as a JSON string
            data = data.dict()
            if isinstance(data.get("options"), str):
                try:
                    data["options"] = json.loads(data["options"]) if data["options"].strip() else {}
                except (ValueError, RecursionError):
                    raise serializers.ValidationError(
                        {"options": ["options must be a JSON object (as a string in a form)."]}
                    )
                if find_surrogate(data["options"]) is not None:  # as the JSON parser refuses them
                    raise serializers.ValidationError({"options": [f"options must not hold {LONE_SURROGATE}."]})
        if not isinstance(data, dict):
            raise serializers.ValidationError({"body": ["The body must be a JSON object."]})
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({key: [f"Unknown field {key!r}."] for key in unknown})
        return super().to_internal_value(data)

    def validate_metadata(self, value):
        problem = _json_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        if value is not None and len(json.dumps(value)) > MAX_METADATA_BYTES:
            raise serializers.ValidationError(f"metadata must be at most {MAX_METADATA_BYTES} bytes as JSON.")
        return value

    def validate(self, attrs):
        options = dict(attrs.get("options") or {})
        for key in ("neg_text", "num_images"):
            if key in attrs:
                if key in options and options[key] != attrs[key]:
                    raise serializers.ValidationError(
                        {key: [f"{key} is given at the top level and in options with different values."]}
                    )
                options[key] = attrs[key]
        default_model = self.context.get("default_model") or settings.DEFAULT_MODEL
        try:
            choices = resolve_choices(
                options,
                default_model=default_model,
                registry=settings.MODEL_REGISTRY,
                neg_text=options.get("neg_text", ""),
            )
        except ChoiceError as error:
            raise serializers.ValidationError({"options": {error.field: [error.message]}}) from None
        return {
            "text_data": attrs["text_data"],
            "neg_text": options.get("neg_text", ""),
            "num_images": options.get("num_images", 1),
            "seed": options.get("seed"),
            "moderation": options.get("moderation", Task.Moderation.STRICT),
            "end_user": options.get("end_user", ""),
            "callback_url": attrs.get("callback_url", ""),
            "metadata": attrs.get("metadata"),
            "choices": choices,
        }


def _iso(dt) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt else None


STATUS_BY_STATE = {
    Task.State.QUEUED: ("202", "QUEUED"),
    Task.State.RUNNING: ("202", "RUNNING"),
    Task.State.SUCCEEDED: ("0", "SUCCESS"),
    Task.State.CANCELLED: ("499", "CANCELLED"),
}


def task_status(task: Task) -> dict[str, str]:
    if task.state == Task.State.FAILED:
        http = CODES.get(task.error_code, (500, ""))[0]
        return {"code": str(http), "message": f"FAILED: {task.error_detail or task.error_code}"}
    code, message = STATUS_BY_STATE[task.state]
    if task.state == Task.State.CANCELLED and task.error_detail:  # why (a suspension)
        message = f"{message}: {task.error_detail}"
    return {"code": code, "message": message}


def task_moderation(task: Task) -> dict[str, Any]:
    """What moderation decided, for the customer: the prompt's categories and, per image that was
    withheld, the labels that blocked it with their scores. (Matched terms stay in the audit.)"""
    report = task.moderation_report or {}
    prompt = report.get("prompt") or {}
    withheld = [
        {
            "index": image.index,
            "labels": image.moderation.get("flagged", []),
            "scores": {k: image.moderation.get("scores", {}).get(k) for k in image.moderation.get("flagged", [])},
            "thresholds": image.moderation.get("thresholds", {}),
        }
        for image in task.images.all()
        if image.flagged
    ]
    return {
        "mode": task.moderation,
        "prompt": {"decision": prompt.get("decision"), "categories": prompt.get("categories", [])} if prompt else None,
        "images_withheld": len(withheld),
        "withheld": withheld,
    }


def task_error(task: Task) -> dict[str, Any] | None:
    if task.state == Task.State.CANCELLED and task.error_code:  # cancelled by the platform (a suspension)
        return problem_body(task.error_code, task.error_detail or task.error_code, task_id=str(task.id))
    if task.state != Task.State.FAILED:
        return None
    extra: dict[str, Any] = {}
    if task.error_code.startswith("moderation_blocked"):  # not moderation_failed: nothing was decided
        extra["moderation"] = task_moderation(task)
    return problem_body(task.error_code, task.error_detail or task.error_code, task_id=str(task.id), **extra)


def task_reproducibility(task: Task) -> dict[str, Any]:
    """Everything needed to make any image of the task again (extension): what ran it is known
    once a worker started it, the request's part (model, size, seeds) from the start."""
    run = task.run_info or {}
    return {
        "model": task.model,
        "model_version": task.model_version or None,
        "scheduler": run.get("scheduler"),
        "steps": run.get("steps", task.steps),
        "guidance": run.get("guidance", task.guidance),
        "width": task.width,
        "height": task.height,
        "generation_size": run.get("generation_size"),
        "output_format": task.output_format,
        "output_quality": task.output_quality,
        "dtype": run.get("dtype"),
        "device": run.get("device"),
        "seeds": [task.image_seed(i) for i in range(task.num_images)],
    }


def task_object(task: Task, *, base_url: str) -> dict[str, Any]:
    """The task object of the API and of callbacks. ``task.images`` should be prefetched."""
    images = _delivered_images(task, base_url=base_url) if task.state == Task.State.SUCCEEDED else []
    return {
        "id": str(task.id),
        "project_id": to_public("project", task.project_id),
        "created_on": _iso(task.created_at),
        "state": task.state,
        "status": [
            {
                "status": task_status(task),
                "response": {
                    "input": {
                        "id": str(task.id),
                        "created_on": _iso(task.created_at),
                        "text_data": task.text_data,
                        "options": task_options(task),
                        "model": task.model,
                        "model_version": task.model_version or None,
                        "charge": f"{task.charge:.5f}",
                        "user_id": to_public("api_key", task.api_key_id),
                        "project_id": to_public("project", task.project_id),
                    },
                    "output": [{"images": images, "watermarked_images": [], "s3_bucket": None, "s3_domain": None}]
                    if task.state == Task.State.SUCCEEDED
                    else [],
                },
            }
        ],
        "error": task_error(task),
        "callback_url": task.callback_url or None,
        "from_cache": False,
        "metadata": task.metadata,
        "started_on": _iso(task.started_at),
        "finished_on": _iso(task.finished_at),
        "timings_ms": task.timings_ms or {},
        "moderation": task_moderation(task),
        "reproducibility": task_reproducibility(task),
    }


def task_options(task: Task) -> dict[str, Any]:
    """The request's options as the task object echoes them: the Hive's, and the customer's
    choices as given."""
    options: dict[str, Any] = {"neg_text": task.neg_text, "num_images": task.num_images, "seed": task.seed}
    if task.moderation != Task.Moderation.STRICT:
        options["moderation"] = task.moderation
    if task.end_user:
        options["end_user"] = task.end_user
    options.update(task.options_given or {})  # the customer's choices, only those given
    return options


def _delivered_images(task: Task, *, base_url: str) -> list[dict[str, Any]]:
    return [
        {
            "index": image.index,
            "width": image.width,
            "height": image.height,
            "path": image.storage_path,
            "message": "410" if image.expired_at else "200",
            "url": storage.image_url(image.storage_path, base_url=base_url),
            "seed": image.seed,
            "sha256": image.sha256,
            **({"expired_on": _iso(image.expired_at)} if image.expired_at else {}),
        }
        for image in task.images.all()
        if image.delivered
    ]

"""OpenAI-compatible images (DESIGN.md section 10): ``POST /v1/images/generations``,
``GET /v1/models`` and ``GET /v1/models/<id>`` in the shapes the official ``openai`` SDK reads.

Underneath it is the same task as ``/api/v2/task/sync``: the same key (``Authorization: Bearer``),
moderation, caps and credit, rate limits, tenancy and billing; the task's id comes back in the
``X-Task-Id`` header, so ``GET /api/v2/task/<id>`` shows it. Errors are OpenAI's
``{"error": {"message", "type", "param", "code"}}``."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from django.conf import settings
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from imgplatform.offloop import release_request_thread, rendered, run_sync
from imgplatform.problems import CODES
from redis.exceptions import RedisError
from rest_framework import serializers
from rest_framework.response import Response

from accounts.api import TenantAPIView
from accounts.models import Scope
from generation import catalog, events, limits, selectors, services, storage, waiters
from generation.api import _drf_async, _is_final, base_url
from generation.models import Task
from generation.options import ChoiceError, resolve_choices
from generation.serializers import MAX_IMAGES, MAX_TEXT, StrictCharField, StrictIntegerField

log = logging.getLogger(__name__)

# OpenAI's sizes -> width x height; "auto" is the model's 1:1 size.
SIZES = ["auto", "1024x1024", "1536x1024", "1024x1536", "1792x1024", "1024x1792"]
# OpenAI's parameter for each of our option names, for errors.
PARAM_OF = {"width": "size", "height": "size", "aspect_ratio": "size", "output_quality": "output_compression"}
# Our problem codes -> (OpenAI error type, OpenAI error code). The HTTP status is the problem's
# own (imgplatform.problems.CODES) but where OpenAI's SDK expects another: OPENAI_STATUS.
ERRORS = {
    "invalid_request": ("invalid_request_error", None),
    "unauthenticated": ("invalid_request_error", "invalid_api_key"),
    "forbidden": ("invalid_request_error", "forbidden"),
    "not_found": ("invalid_request_error", "not_found"),
    "method_not_allowed": ("invalid_request_error", "method_not_allowed"),
    "moderation_blocked_prompt": ("image_generation_user_error", "content_policy_violation"),
    "moderation_blocked_image": ("image_generation_user_error", "content_policy_violation"),
    "quota_exceeded": ("insufficient_quota", "insufficient_quota"),
    "rate_limited": ("requests", "rate_limit_exceeded"),
    "idempotency_conflict": ("invalid_request_error", "idempotency_conflict"),
    "service_unavailable": ("server_error", "service_unavailable"),
    "worker_lost": ("server_error", "worker_lost"),
    "generation_failed": ("server_error", "generation_failed"),
    "moderation_failed": ("server_error", "moderation_failed"),
    "storage_failed": ("server_error", "storage_failed"),
}
# A blocked prompt is OpenAI's 400 content_policy_violation (ours: 422); quota is its 429 (ours:
# 402), which tells the SDK not to retry.
OPENAI_STATUS = {"moderation_blocked_prompt": 400, "moderation_blocked_image": 400, "quota_exceeded": 429}


def openai_error(problem: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """A problem+json body as OpenAI's error: (status, body)."""
    code = problem.get("code", "internal_error")
    if code in ERRORS:
        status = OPENAI_STATUS.get(code, CODES[code][0])
        kind, error_code = ERRORS[code]
    else:
        status, kind, error_code = problem.get("status", 500), "server_error", code
    param = None
    if problem.get("errors"):
        field = next(iter(problem["errors"]))
        param = PARAM_OF.get(field, field)
    return status, {"error": {"message": problem.get("detail", ""), "type": kind, "param": param, "code": error_code}}


class OpenAIView(TenantAPIView):
    """Errors in OpenAI's shape (a 429 for quota tells the SDK not to retry: it would not help)."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if isinstance(response.data, dict) and "code" in response.data:
            status, body = openai_error(response.data)
            response.status_code, response.data = status, body
            response.content_type = "application/json"
            if response.data["error"]["code"] == "insufficient_quota":
                response["x-should-retry"] = "false"
        return response


class ImageGenerationSerializer(serializers.Serializer):
    prompt = StrictCharField(max_length=MAX_TEXT, trim_whitespace=True, allow_blank=False)
    model = StrictCharField(max_length=64, required=False, allow_null=True)
    n = StrictIntegerField(min_value=1, max_value=MAX_IMAGES, required=False, allow_null=True)
    size = serializers.ChoiceField(choices=SIZES, required=False, allow_null=True)
    response_format = serializers.ChoiceField(choices=["url", "b64_json"], required=False, allow_null=True)
    output_format = serializers.ChoiceField(choices=["png", "jpeg", "webp"], required=False, allow_null=True)
    output_compression = StrictIntegerField(
        min_value=0, max_value=100, required=False, allow_null=True, help_text="jpeg/webp quality (0 counts as 1)"
    )
    user = StrictCharField(max_length=128, required=False, allow_blank=True, help_text="Your end user's id")
    stream = serializers.BooleanField(required=False, allow_null=True)
    partial_images = StrictIntegerField(min_value=0, max_value=3, required=False, allow_null=True)
    # Accepted for the SDK's sake and not used: the model decides these.
    quality = serializers.ChoiceField(
        choices=["auto", "standard", "hd", "low", "medium", "high"], required=False, allow_null=True
    )
    style = serializers.ChoiceField(choices=["vivid", "natural"], required=False, allow_null=True)
    background = serializers.ChoiceField(choices=["auto", "opaque"], required=False, allow_null=True)
    moderation = serializers.ChoiceField(choices=["auto", "low"], required=False, allow_null=True)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"body": ["The body must be a JSON object."]})
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({key: [f"Unknown parameter {key!r}."] for key in unknown})
        return super().to_internal_value(data)

    def validate(self, attrs):
        given: dict[str, Any] = {}
        if attrs.get("model"):
            given["model"] = attrs["model"]
        if attrs.get("size") not in (None, "auto"):
            given["width"], given["height"] = (int(side) for side in attrs["size"].split("x"))
        if attrs.get("output_format"):
            given["output_format"] = attrs["output_format"]
        if attrs.get("output_compression") is not None and given.get("output_format", "png") != "png":
            given["output_quality"] = max(1, attrs["output_compression"])
        try:
            choices = resolve_choices(
                given, default_model=self.context["default_model"], registry=settings.MODEL_REGISTRY
            )
        except ChoiceError as error:
            raise serializers.ValidationError({PARAM_OF.get(error.field, error.field): [error.message]}) from None
        return {
            "input": services.TaskInput(
                text_data=attrs["prompt"],
                num_images=attrs.get("n") or 1,
                end_user=attrs.get("user", ""),
                choices=choices,
                partial_images=attrs.get("partial_images") or 0 if attrs.get("stream") else 0,
            ),
            "response_format": attrs.get("response_format") or "url",
            "stream": bool(attrs.get("stream")),
            "partial_images": attrs.get("partial_images") or 0,
        }


def _image_bytes(image) -> bytes:
    with storage.image_storage().open(image.storage_path, "rb") as handle:
        return handle.read()


def images_response(task: Task, *, response_format: str, url: str) -> dict[str, Any]:
    """OpenAI's ``ImagesResponse`` for a succeeded task."""
    data = []
    for image in task.images.all():
        if not image.delivered:
            continue
        if response_format == "b64_json":
            data.append({"b64_json": base64.b64encode(_image_bytes(image)).decode(), "revised_prompt": None})
        else:
            data.append({"url": storage.image_url(image.storage_path, base_url=url), "revised_prompt": None})
    return {
        "created": int(task.created_at.timestamp()),
        "data": data,
        "output_format": task.output_format,
        "size": f"{task.width}x{task.height}",
    }


def task_problem(task: Task) -> dict[str, Any]:
    """The problem of a task that did not succeed (failed, cancelled)."""
    if task.state == Task.State.FAILED:
        return {"code": task.error_code, "detail": task.error_detail or task.error_code}
    return {"code": "generation_failed", "detail": f"The task ended {task.state}."}


@extend_schema_view(
    post=extend_schema(
        operation_id="openai_images_generate",
        summary="OpenAI-compatible: generate images",
        description=(
            "For the official `openai` SDK (`base_url=<host>/v1`, `api_key=<key>`). The same task as "
            "`POST /api/v2/task/sync` underneath (moderation, billing, limits, tenancy); its id is in the "
            "`X-Task-Id` header. `size` maps to width x height (`auto`: the model's 1:1 size), `output_compression` "
            "is the jpeg/webp quality, `user` the end user. With `stream: true` the answer is server-sent events: "
            "`image_generation.partial_image` (`partial_images` of them per image, decoded from intermediate "
            "latents) then one `image_generation.completed` per image. Errors: "
            '`{"error": {"message", "type", "param", "code"}}`; a blocked prompt or image is 400 '
            "`content_policy_violation`, caps and credit 429 `insufficient_quota`, the rate limit 429 "
            "`rate_limit_exceeded`."
        ),
        request=ImageGenerationSerializer,
        responses={
            200: inline_serializer(
                "ImagesResponse",
                {
                    "created": serializers.IntegerField(),
                    "data": serializers.ListField(child=serializers.DictField(), help_text='[{"url"} | {"b64_json"}]'),
                    "output_format": serializers.CharField(),
                    "size": serializers.CharField(),
                },
            ),
            **{code: OpenApiResponse(description="OpenAI error object") for code in (400, 401, 403, 429, 500, 503)},
        },
    )
)
class ImageGenerationsView(OpenAIView):
    """The DRF half (auth, rate limit, validation, submit); :func:`image_generations` waits."""

    required_scope = Scope.GENERATE

    def post(self, request):
        default = self.client.project.model or settings.DEFAULT_MODEL
        serializer = ImageGenerationSerializer(data=request.data, context={"default_model": default})
        serializer.is_valid(raise_exception=True)
        params = serializer.validated_data
        task = services.task_submit(client=self.client, data=params["input"], sync=True, redis_down=self.redis_down)
        pending = Response(status=200, headers={"X-Task-Id": str(task.id)})
        pending.pending = (task.id, params)
        if task.is_final:
            return self.answer(task.id, params)
        return pending

    def answer(self, task_id, params: dict) -> Response:
        task = selectors.access_task_by_id(tenant=self.tenant, task_id=task_id)
        headers = {"X-Task-Id": str(task.id)}
        if task.state == Task.State.SUCCEEDED:
            body = images_response(task, response_format=params["response_format"], url=base_url(self.request))
            return Response(body, headers=headers)
        if not task.is_final:
            status, body = (
                503,
                {
                    "error": {
                        "message": f"The task did not finish within {settings.OPENAI_WAIT_SECONDS} s; "
                        f"GET /api/v2/task/{task.id} shows it.",
                        "type": "server_error",
                        "param": None,
                        "code": "timeout",
                    }
                },
            )
        else:
            status, body = openai_error(task_problem(task))
        return Response(body, status=status, headers=headers)

    def finished_answer(self, task_id, params: dict):
        return rendered(self.finalize_response(self.request, self.answer(task_id, params)))


@_drf_async(ImageGenerationsView)
async def image_generations(request, view: ImageGenerationsView, pending):
    """Waits for the task on the event loop (no thread held), within the tenant's and the process's
    limits of waiting requests; beyond them the task is cancelled (nothing charged) and the answer
    is 429. With ``stream`` the answer is an event stream."""
    task_id, params = pending
    tenant = view.tenant
    if params["stream"]:
        return stream_response(view, task_id, params)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.OPENAI_WAIT_SECONDS
    async with limits.async_sync_wait_slot(tenant=tenant, seconds=settings.OPENAI_WAIT_SECONDS) as wait:
        if wait <= 0:
            return await run_sync(_too_many_waits, view, task_id)
        await release_request_thread()
        if (remaining := deadline - loop.time()) > 0:
            await waiters.wait_for_end(task_id, remaining, is_final=partial(run_sync, _is_final, tenant, task_id))
    return await run_sync(view.finished_answer, task_id, params)


def _too_many_waits(view: ImageGenerationsView, task_id):
    task = selectors.access_task_by_id(tenant=view.tenant, task_id=task_id)
    if not task.is_final:
        services.task_cancel(task=task)
    body = {
        "error": {
            "message": "Too many requests of this tenant are waiting for images; retry shortly.",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
    return rendered(view.finalize_response(view.request, Response(body, status=429, headers={"Retry-After": "1"})))


# --- Streaming -------------------------------------------------------------------------------
def _event(name: str, data: dict) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _image_event(task: Task, kind: str, b64: str, **extra) -> dict[str, Any]:
    return {
        "type": f"image_generation.{kind}",
        "b64_json": b64,
        "created_at": int(task.created_at.timestamp()),
        "size": f"{task.width}x{task.height}",
        "quality": "auto",
        "background": "opaque",
        "output_format": task.output_format,
        **extra,
    }


def _completed_events(view: ImageGenerationsView, task_id) -> list[bytes]:
    task = selectors.access_task_by_id(tenant=view.tenant, task_id=task_id)
    if task.state != Task.State.SUCCEEDED:
        _, body = openai_error(task_problem(task))
        return [_event("error", body)]
    usage = {
        "input_tokens": 0,
        "output_tokens": 0,
        "total_tokens": 0,
        "input_tokens_details": {"image_tokens": 0, "text_tokens": 0},
    }
    return [
        _event("image_generation.completed", _image_event(task, "completed", b64, usage=usage))
        for b64 in (base64.b64encode(_image_bytes(i)).decode() for i in task.images.all() if i.delivered)
    ]


def stream_response(view: ImageGenerationsView, task_id, params: dict) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_stream(view, task_id, params), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    response["X-Task-Id"] = str(task_id)
    return response


async def _stream(view: ImageGenerationsView, task_id, params: dict) -> AsyncIterator[bytes]:
    """Partial images as the worker publishes them (``partial_image`` events of the task), then
    the finished images; the stream ends with the task."""
    tenant = view.tenant
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.OPENAI_WAIT_SECONDS
    await release_request_thread()
    sent: set[int] = set()
    async with waiters.hub().listen(task_id) as listener:  # subscribed before anything is read
        while True:
            final = await run_sync(_is_final, tenant, task_id)
            for chunk in await run_sync(_new_partials, view, task_id, sent):
                yield chunk
            remaining = deadline - loop.time()
            if final or remaining <= 0:
                break
            await listener.get(min(remaining, settings.EVENTS_KEEPALIVE_SECONDS))  # any event: look again
    for chunk in await run_sync(_completed_events, view, task_id):
        yield chunk


def _new_partials(view: ImageGenerationsView, task_id, sent: set[int]) -> list[bytes]:
    """Partial-image events not sent yet (they are kept in Redis: one published before the stream
    subscribed is not lost); none when Redis is away."""
    try:
        kept = events.partial_images(task_id)
    except RedisError:
        return []
    if not set(kept) - sent:
        return []
    task = selectors.access_task_by_id(tenant=view.tenant, task_id=task_id)
    chunks = []
    for index in sorted(set(kept) - sent):
        sent.add(index)
        body = _image_event(task, "partial_image", kept[index], partial_image_index=index)
        chunks.append(_event("image_generation.partial_image", body))
    return chunks


# --- Models ----------------------------------------------------------------------------------
def openai_model(entry: dict[str, Any]) -> dict[str, Any]:
    return {"id": entry["name"], "object": "model", "created": 0, "owned_by": "imagegen", "imagegen": entry}


MODEL_SCHEMA = inline_serializer(
    "OpenAIModel",
    {
        "id": serializers.CharField(),
        "object": serializers.CharField(),
        "created": serializers.IntegerField(),
        "owned_by": serializers.CharField(),
        "imagegen": catalog.ModelSerializer(help_text="The entry of GET /api/v2/models"),
    },
)


@extend_schema_view(
    get=extend_schema(
        operation_id="openai_models_list",
        summary="OpenAI-compatible: the models",
        responses={
            200: inline_serializer(
                "OpenAIModelList",
                {"object": serializers.CharField(), "data": serializers.ListField(child=MODEL_SCHEMA)},
            )
        },
    )
)
class OpenAIModelListView(OpenAIView):
    required_scope = Scope.READ

    def get(self, request):
        default = self.client.project.model or settings.DEFAULT_MODEL
        entries = catalog.model_catalog(self.tenant, default=default)
        return Response({"object": "list", "data": [openai_model(entry) for entry in entries]})


@extend_schema_view(
    get=extend_schema(
        operation_id="openai_models_retrieve", summary="OpenAI-compatible: one model", responses=MODEL_SCHEMA
    )
)
class OpenAIModelDetailView(OpenAIView):
    required_scope = Scope.READ

    def get(self, request, model_id: str):
        default = self.client.project.model or settings.DEFAULT_MODEL
        for entry in catalog.model_catalog(self.tenant, default=default):
            if entry["name"] == model_id:
                return Response(openai_model(entry))
        return Response(
            {
                "error": {
                    "message": f"No model {model_id!r}.",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "model_not_found",
                }
            },
            status=404,
        )

"""The v2 task API (The Hive's contract plus extensions). Thin views: validation in serializers,
writes in services, reads in selectors."""

from __future__ import annotations

import mimetypes

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from imgplatform.problems import PROBLEM_CONTENT_TYPE, Problem
from redis.exceptions import RedisError
from rest_framework import serializers
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import TenantAPIView
from generation import limits, queues, schema, selectors, services, storage
from generation.models import Task
from generation.serializers import TaskSubmitSerializer, task_object

PROBLEM = OpenApiResponse(schema.ProblemSerializer, description="application/problem+json")
ERRORS = {code: PROBLEM for code in (400, 401, 403, 404, 413, 503)}
SUBMIT_ERRORS = {**ERRORS, 402: PROBLEM, 409: PROBLEM}
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The same key and body within 24 h returns the first task (header Idempotent-Replayed: true) "
    "and charges nothing new; the same key with another body is 409 idempotency_conflict.",
)


def base_url(request) -> str:
    return settings.PUBLIC_BASE_URL or request.build_absolute_uri("/").rstrip("/")


class _SubmitView(TenantAPIView):
    sync = False

    def _submit(self, request) -> Task:
        key = request.headers.get("Idempotency-Key", "")
        if len(key) > 255 or not key.isprintable():
            raise Problem("invalid_request", "Idempotency-Key must be at most 255 printable characters.")
        serializer = TaskSubmitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return services.task_submit(
            client=self.client,
            data=services.TaskInput(**serializer.validated_data),
            sync=self.sync,
            idempotency_key=key,
            redis_down=self.redis_down,
        )

    @staticmethod
    def _replay_headers(task: Task) -> dict[str, str]:
        return {"Idempotent-Replayed": "true"} if getattr(task, "replayed", False) else {}


@extend_schema_view(
    post=extend_schema(
        operation_id="task_submit_async",
        summary="Submit a task; answers at once",
        request=TaskSubmitSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: schema.TaskObjectSerializer, **SUBMIT_ERRORS},
    )
)
class TaskAsyncView(_SubmitView):
    def post(self, request):
        task = self._submit(request)
        return Response(task_object(task, base_url=base_url(request)), headers=self._replay_headers(task))


@extend_schema_view(
    post=extend_schema(
        operation_id="task_submit_sync",
        summary="Submit a task and wait for it",
        description=(
            "Waits up to SYNC_WAIT_SECONDS for the task to finish. A finished task answers 200; a failed one "
            "answers its problem (with the task under `task`); one still running answers 202 with the task "
            "to poll at the `Location` header. A tenant has at most TENANT_MAX_SYNC_WAITS (or its own limit) "
            "requests waiting at once; beyond that, /sync answers 202 at once."
        ),
        request=TaskSubmitSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            200: schema.TaskObjectSerializer,
            202: schema.TaskObjectSerializer,
            422: PROBLEM,
            500: PROBLEM,
            **SUBMIT_ERRORS,
        },
    )
)
class TaskSyncView(_SubmitView):
    sync = True

    def post(self, request):
        task = self._submit(request)
        replay = self._replay_headers(task)
        if not task.is_final:  # a blocked prompt has ended already
            # At most the tenant's limit of /sync requests wait at once; the others answer at once.
            with limits.sync_wait_slot(tenant=self.tenant, seconds=settings.SYNC_WAIT_SECONDS) as wait:
                try:
                    queues.wait_finished(task.id, wait)
                except RedisError:
                    pass  # answer with what the database says; the client can poll
        task = selectors.access_task_by_id(tenant=self.tenant, task_id=task.id)
        body = task_object(task, base_url=base_url(request))
        if task.state == Task.State.FAILED:
            problem = {**body["error"], "task": body}
            return Response(problem, status=problem["status"], content_type=PROBLEM_CONTENT_TYPE, headers=replay)
        if not task.is_final:
            return Response(body, status=202, headers={"Location": f"/api/v2/task/{task.id}", **replay})
        return Response(body, headers=replay)


@extend_schema_view(
    get=extend_schema(
        operation_id="task_get", summary="Poll a task", responses={200: schema.TaskObjectSerializer, **ERRORS}
    )
)
class TaskDetailView(TenantAPIView):
    def get(self, request, task_id: str):
        task = selectors.access_task_by_id(tenant=self.tenant, task_id=task_id)
        return Response(task_object(task, base_url=base_url(request)))


@extend_schema_view(
    post=extend_schema(
        operation_id="task_cancel",
        summary="Cancel a queued or running task",
        description="A queued task is never started; a running one is stopped within one step of its "
        "pipeline. Either way nothing is charged, a prepaid hold is released and one callback is sent. "
        "A finished task is 409 task_not_cancellable.",
        request=None,
        responses={200: schema.TaskObjectSerializer, 409: PROBLEM, **ERRORS},
    )
)
class TaskCancelView(TenantAPIView):
    def post(self, request, task_id: str):
        task = selectors.access_task_by_id(tenant=self.tenant, task_id=task_id)
        task = services.task_cancel(task=task, redis_down=self.redis_down)
        return Response(task_object(task, base_url=base_url(request)))


class TaskFilterSerializer(serializers.Serializer):
    state = serializers.MultipleChoiceField(choices=Task.State.choices, required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    project_id = serializers.IntegerField(required=False, min_value=1)


class TaskCursorPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 20
    page_size_query_param = "limit"
    max_page_size = 100


@extend_schema_view(
    get=extend_schema(
        operation_id="task_list",
        summary="List your tasks, newest first",
        parameters=[
            OpenApiParameter(
                "state", OpenApiTypes.STR, many=True, enum=Task.State.values, description="Repeat or comma-separate."
            ),
            OpenApiParameter("created_after", OpenApiTypes.DATETIME),
            OpenApiParameter("created_before", OpenApiTypes.DATETIME),
            OpenApiParameter("project_id", OpenApiTypes.INT),
            OpenApiParameter("limit", OpenApiTypes.INT, description="1..100, default 20"),
            OpenApiParameter("cursor", OpenApiTypes.STR),
        ],
        responses={200: schema.TaskPageSerializer, **ERRORS},
    )
)
class TaskListView(TenantAPIView):
    def get(self, request):
        raw = request.query_params
        data = {k: raw.get(k) for k in ("created_after", "created_before", "project_id") if raw.get(k)}
        states = [s for value in raw.getlist("state") for s in value.split(",") if s]
        if states:
            data["state"] = states
        filters = TaskFilterSerializer(data=data)
        filters.is_valid(raise_exception=True)
        params = filters.validated_data
        qs = selectors.task_list(
            tenant=self.tenant,
            states=sorted(params.get("state", [])),
            created_after=params.get("created_after"),
            created_before=params.get("created_before"),
            project_id=params.get("project_id"),
        )
        paginator = TaskCursorPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        url = base_url(request)
        return paginator.get_paginated_response([task_object(task, base_url=url) for task in page])


@extend_schema_view(
    get=extend_schema(
        operation_id="image_file",
        summary="An image, by the signed link in a task object",
        auth=[],
        responses={(200, "image/png"): OpenApiTypes.BINARY, 404: PROBLEM},
    )
)
class ImageFileView(APIView):
    """The link itself is the credential: signed, naming one file, expiring."""

    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request, token: str):
        path = storage.path_from_token(token)
        if path is None or not storage.image_storage().exists(path):
            raise Problem("not_found", "This image link is invalid or has expired.")
        response = FileResponse(storage.image_storage().open(path, "rb"), content_type=mimetypes.guess_type(path)[0])
        response["Cache-Control"] = f"private, max-age={settings.IMAGE_LINK_TTL}"
        return response

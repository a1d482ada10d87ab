"""The v2 task API (The Hive's contract plus extensions). Thin views: validation in serializers,
writes in services, reads in selectors."""

from __future__ import annotations

import asyncio
import json
import logging
import mimetypes
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from functools import partial

from django.conf import settings
from django.http import FileResponse, StreamingHttpResponse
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from imgplatform.offloop import release_request_thread, rendered, run_sync
from imgplatform.problems import PROBLEM_CONTENT_TYPE, Problem
from imgplatform.publicids import from_public
from imgplatform.renderers import JSONRenderer
from redis.exceptions import RedisError
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import TenantAPIView
from accounts.models import Scope
from generation import limits, queues, schema, selectors, services, storage, waiters
from generation.models import Task
from generation.retention import image_is_expired
from generation.serializers import TaskSubmitSerializer, task_object

log = logging.getLogger(__name__)
PROBLEM = schema.PROBLEM
ERRORS = schema.problem_responses(400, 401, 403, 404, 413, 503)
SUBMIT_ERRORS = {**ERRORS, 402: PROBLEM, 409: PROBLEM}
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The same key and body within 24 h returns the first task (header Idempotent-Replayed: true) "
    "and charges nothing new; the same key with another body is 409 idempotency_conflict. A 503 "
    "service_unavailable (the task could not be queued) releases the key: retry with the same key.",
)


def base_url(request) -> str:
    return settings.PUBLIC_BASE_URL or request.build_absolute_uri("/").rstrip("/")


class _SubmitView(TenantAPIView):
    required_scope = Scope.GENERATE
    sync = False

    def _submit(self, request) -> Task:
        key = request.headers.get("Idempotency-Key", "")
        if len(key) > 255 or not key.isprintable():
            raise Problem("invalid_request", "Idempotency-Key must be at most 255 printable characters.")
        serializer = TaskSubmitSerializer(data=request.data, context={"default_model": self.client.project.model})
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
    """The DRF half of ``POST /task/sync`` (authentication, rate limit, parsing, validation, submit,
    problem+json), run on the sync pool by :func:`task_sync`, which does the waiting on the event
    loop. A task that needs a wait comes back as a response carrying ``pending`` (never sent)."""

    sync = True

    def post(self, request):
        task = self._submit(request)
        replayed = getattr(task, "replayed", False)
        if task.is_final:  # a blocked prompt has ended already
            return self.answer(task.id, replayed=replayed)
        pending = Response(status=202)
        pending.pending = (task.id, replayed)
        return pending

    def answer(self, task_id, *, replayed: bool) -> Response:
        """The task as it is now: 200 finished, its problem when failed, 202 with ``Location``."""
        replay = {"Idempotent-Replayed": "true"} if replayed else {}
        task = selectors.access_task_for(client=self.client, task_id=task_id)
        body = task_object(task, base_url=base_url(self.request))
        if task.state == Task.State.FAILED:
            problem = {**body["error"], "task": body}
            return Response(problem, status=problem["status"], content_type=PROBLEM_CONTENT_TYPE, headers=replay)
        if not task.is_final:
            return Response(body, status=202, headers={"Location": f"/api/v2/task/{task.id}", **replay})
        return Response(body, headers=replay)

    def finished_answer(self, task_id, *, replayed: bool):
        return rendered(self.finalize_response(self.request, self.answer(task_id, replayed=replayed)))


def _is_final(tenant, task_id) -> bool:
    return Task.objects.for_tenant(tenant).filter(pk=task_id, state__in=Task.FINAL_STATES).exists()


def _rendered_unless_pending(sync_view, request, *args, **kwargs):
    """The DRF view's response, rendered in the same call on the sync pool (Django's async handler
    would hand it to a thread once more to render it), unless the view left it ``pending`` for the
    async view to finish."""
    response = sync_view(request, *args, **kwargs)
    return response if getattr(response, "pending", None) is not None else rendered(response)


def _drf_async(view_class):
    """An async Django view that runs ``view_class`` (a DRF view) on the sync pool and, when it
    hands back a ``pending`` response, awaits on the loop. The function carries ``cls`` and
    ``initkwargs`` as DRF's ``as_view()`` does, so drf-spectacular documents ``view_class``."""
    sync_view = view_class.as_view()

    def decorate(handler):
        async def view(request, *args, **kwargs):
            response = await run_sync(_rendered_unless_pending, sync_view, request, *args, **kwargs)
            if getattr(response, "pending", None) is None:
                return response
            return await handler(request, response.renderer_context["view"], response.pending)

        view.cls = view_class
        view.initkwargs = {}
        view.csrf_exempt = True  # API keys, no cookies: as DRF's as_view()
        view.__name__ = view.__qualname__ = handler.__name__
        view.__doc__ = handler.__doc__
        return view

    return decorate


@_drf_async(TaskSyncView)
async def task_sync(request, view: TaskSyncView, pending):
    """Waits for the task on the event loop: no thread and no database connection is held while it
    waits (generation/waiters.py wakes it). Within the process's and the tenant's limits it waits
    up to SYNC_WAIT_SECONDS; beyond either it answers at once (202 with the task).

    The wait is counted from the moment the task exists, so time spent queued for the sync pool
    after that (the slot's Redis call, the first read of the row) comes out of the wait instead of
    adding to it, and the answers of a burst of waits fall due as spread out as their submits were."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.SYNC_WAIT_SECONDS
    task_id, replayed = pending
    tenant = view.tenant
    async with limits.async_sync_wait_slot(tenant=tenant, seconds=settings.SYNC_WAIT_SECONDS) as wait:
        if wait > 0:
            await release_request_thread()  # the wait holds no thread
        if wait > 0 and (remaining := deadline - loop.time()) > 0:
            await waiters.wait_for_end(task_id, remaining, is_final=partial(run_sync, _is_final, tenant, task_id))
    return await run_sync(view.finished_answer, task_id, replayed=replayed)


class EventStreamRenderer(JSONRenderer):
    """``text/event-stream`` for content negotiation and the schema; the stream itself is written by
    :func:`task_events`, and errors before it starts are problem+json (JSON)."""

    media_type = "text/event-stream"
    format = "event-stream"


EVENTS_DESCRIPTION = """Server-sent events about one task, then the stream closes:

```
event: queued
data: {"id": "...", "state": "queued", "queue_position": 3}

event: running
data: {"id": "...", "state": "running"}

event: progress
data: {"id": "...", "state": "running", "step": 7, "steps": 30}

event: done
data: <the whole task object, as GET /api/v2/task/{task_id} returns it>
```

`queued` comes first while the task waits (`queue_position`: 1 is the next job to start; null
while its start is deferred; sent again when the position moves, checked every
EVENTS_KEEPALIVE_SECONDS), `progress` as the pipeline runs (at most a few a second), `done`
always last. A finished task sends only `done` (so reconnecting after `done` gets `done` again). A
comment line (`: keep-alive`) every EVENTS_KEEPALIVE_SECONDS (15 s) keeps proxies from closing an
idle stream. Same authentication and 404 rules as `GET /api/v2/task/{task_id}`."""


@extend_schema_view(
    get=extend_schema(
        operation_id="task_events",
        summary="Follow a task as server-sent events",
        description=EVENTS_DESCRIPTION,
        parameters=[OpenApiParameter("format", exclude=True)],  # DRF's ?format= has no use here
        responses={(200, "text/event-stream"): OpenApiTypes.STR, **ERRORS},
    )
)
class TaskEventsView(TenantAPIView):
    """The DRF half of ``GET /task/<id>/events``: authentication, rate limit and the 404 of another
    tenant's task; :func:`task_events` streams."""

    renderer_classes = [JSONRenderer, EventStreamRenderer]
    required_scope = Scope.READ

    def get(self, request, task_id: str):
        task = selectors.access_task_for(client=self.client, task_id=task_id)
        pending = Response(status=200)
        pending.pending = task.id
        return pending

    def snapshot(self, task_id) -> dict:
        return task_snapshot(selectors.access_task_for(client=self.client, task_id=task_id), self.request)


def task_snapshot(task: Task, request) -> dict:
    """The task now: ``state``, the whole task object when final, its queue position when queued."""
    snap = {"state": task.state}
    if task.is_final:
        snap["task"] = task_object(task, base_url=base_url(request))
    elif task.state == Task.State.QUEUED:
        try:
            snap["queue_position"] = queues.job_position(task)
        except RedisError:
            snap["queue_position"] = None
    return snap


def sse(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


@_drf_async(TaskEventsView)
async def task_events(request, view: TaskEventsView, task_id):
    """Streams the task's events; the stream holds no thread and no database connection while idle."""
    response = event_stream_response(task_id, partial(view.snapshot, task_id))
    if view.rate_decision is not None:
        for name, value in view.rate_decision.headers().items():
            response.headers.setdefault(name, value)
    return response


def event_stream_response(task_id, snapshot: Callable[[], dict]) -> StreamingHttpResponse:
    """The ``text/event-stream`` response of ``task_id``; ``snapshot()`` (sync, run on the sync pool)
    reads the task: ``{"state", "task" (when final), "queue_position" (when queued)}``. Shared by
    the API and the admin's task page."""
    response = StreamingHttpResponse(_event_stream(task_id, snapshot), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass events on as they come
    return response


class _StreamState:
    """What a task's event stream has sent, and what it sends next for a row or a message."""

    def __init__(self, ident: str):
        self.ident = ident
        self.running_sent = False
        self.queued_sent: tuple | None = None  # the queue position last sent
        self.finished = False

    def queued(self, position) -> list[bytes]:
        if self.running_sent or self.queued_sent == (position,):  # sent the first time and when it moved
            return []
        self.queued_sent = (position,)
        return [sse("queued", {"id": self.ident, "state": "queued", "queue_position": position})]

    def running(self) -> list[bytes]:
        if self.running_sent:
            return []
        self.running_sent = True
        return [sse("running", {"id": self.ident, "state": "running"})]

    def on_snapshot(self, snap: dict) -> list[bytes]:
        if "task" in snap:
            self.finished = True
            return [sse("done", snap["task"])]
        if snap["state"] == Task.State.QUEUED:
            return self.queued(snap.get("queue_position"))
        return self.running() if snap["state"] == Task.State.RUNNING else []

    def on_message(self, message: dict) -> list[bytes]:
        event = message.get("event")
        if event == "position":
            # Only a place in the queue: a queued row whose job is out of the list was just taken
            # by a worker (`running` follows) or put off for later; neither is news to send.
            position = message.get("queue_position")
            return self.queued(position) if isinstance(position, int) else []
        if event == "running":
            return self.running()
        if event == "progress":
            step = {k: message[k] for k in ("step", "steps") if isinstance(message.get(k), int)}
            return [*self.running(), sse("progress", {"id": self.ident, "state": "running", **step})]
        return []


async def _event_stream(task_id, snapshot: Callable[[], dict]) -> AsyncIterator[bytes]:
    """A comment goes out when nothing else did for EVENTS_KEEPALIVE_SECONDS: messages that send
    nothing (the sweep's unchanged queue position) do not put it off. The row is read at the start
    and when the task ended (`done`) or may have (`resync`); the hub's sweep reads the rows of every
    waited-on task at once and says `resync` for one that ended without its `done` (Redis failed)."""
    ident = str(task_id)
    keepalive = settings.EVENTS_KEEPALIVE_SECONDS
    loop = asyncio.get_running_loop()
    try:
        await release_request_thread()  # the stream holds no thread
        async with waiters.hub().listen(task_id) as listener:  # subscribed before the row is read
            state = _StreamState(ident)
            snap = await run_sync(snapshot)
            last_sent = loop.time()
            while True:
                if chunks := state.on_snapshot(snap):
                    for chunk in chunks:
                        yield chunk
                    last_sent = loop.time()
                if state.finished:
                    return
                snap = None
                while snap is None:
                    message = await listener.get(last_sent + keepalive - loop.time())
                    if message is None:
                        yield b": keep-alive\n\n"
                        last_sent = loop.time()
                    elif message.get("event") in ("done", "resync"):
                        snap = await run_sync(snapshot)
                    elif chunks := state.on_message(message):
                        for chunk in chunks:
                            yield chunk
                        last_sent = loop.time()
    except asyncio.CancelledError:
        raise  # the client went away
    except Exception:
        log.exception("event stream of task %s ended early", ident)


@extend_schema_view(
    get=extend_schema(
        operation_id="task_get", summary="Poll a task", responses={200: schema.TaskObjectSerializer, **ERRORS}
    )
)
class TaskDetailView(TenantAPIView):
    required_scope = Scope.READ

    def get(self, request, task_id: str):
        task = selectors.access_task_for(client=self.client, task_id=task_id)
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
    required_scope = Scope.GENERATE

    def post(self, request, task_id: str):
        task = selectors.access_task_for(client=self.client, task_id=task_id)
        task = services.task_cancel(task=task, redis_down=self.redis_down)
        return Response(task_object(task, base_url=base_url(request)))


class TaskFilterSerializer(serializers.Serializer):
    state = serializers.MultipleChoiceField(choices=Task.State.choices, required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    # Within a 64-bit column on every database (SQLite would raise OverflowError beyond it).
    project_id = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


def _project_pk(public: int | None) -> int | None:
    """The primary key behind a ``project_id`` filter; one that stands for no project (0 is no
    primary key) matches nothing, as another tenant's project does."""
    if public is None:
        return None
    pk = from_public("project", public)
    return 0 if pk is None else pk


class TaskCursorPagination(CursorPagination):
    """DRF's cursor pagination; a cursor that is not one it wrote (garbage, or base64 of a position
    that is not a time: ``p=notadate``) is a 400 ``invalid_request`` on ``cursor``, never a 404
    or a database error."""

    ordering = ("-created_at", "-id")
    page_size = 20
    page_size_query_param = "limit"
    max_page_size = 100

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            cursor = None
            valid = False
        else:
            valid = cursor is None or cursor.position is None or _cursor_time(cursor.position) is not None
        if not valid:
            message = "cursor is not valid: use the `next` or `previous` link of a page as it is."
            raise Problem("invalid_request", message, errors={"cursor": [message]})
        return cursor


def _cursor_time(position: str) -> datetime | None:
    """The time a cursor's position names (timezone-aware and within what every database stores),
    or None."""
    try:
        value = parse_datetime(position)
        if value is None or value.tzinfo is None:
            return None
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


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
            OpenApiParameter("project_id", OpenApiTypes.INT, description="The `project_id` your tasks show"),
            OpenApiParameter("limit", OpenApiTypes.INT, description="1..100, default 20"),
            OpenApiParameter("cursor", OpenApiTypes.STR),
        ],
        responses={200: schema.TaskPageSerializer, **ERRORS},
    )
)
class TaskListView(TenantAPIView):
    required_scope = Scope.READ

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
            project=self.bound_project,
            states=sorted(params.get("state", [])),
            created_after=params.get("created_after"),
            created_before=params.get("created_before"),
            project_id=_project_pk(params.get("project_id")),
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
        responses={(200, "image/png"): OpenApiTypes.BINARY, 404: PROBLEM, 410: PROBLEM},
    )
)
class ImageFileView(APIView):
    """The link itself is the credential: signed, naming one file, expiring."""

    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request, token: str):
        link = storage.link_from_token(token)
        path = link[0] if link else None
        if link is None or _suspended_link(*link):
            raise Problem("not_found", "This image link is invalid or has expired.")
        if image_is_expired(path):
            raise Problem("gone", "This image was deleted after its project's retention period.")
        if not storage.image_storage().exists(path):
            raise Problem("not_found", "This image link is invalid or has expired.")
        response = FileResponse(storage.image_storage().open(path, "rb"), content_type=mimetypes.guess_type(path)[0])
        response["Cache-Control"] = f"private, max-age={settings.IMAGE_LINK_TTL}"
        return response


def _suspended_link(path: str, minted_at) -> bool:
    """A link of a tenant that is suspended, or was when the link was minted, serves nothing."""
    from accounts.services import minted_while_suspended

    parts = path.split("/")
    try:
        task_id = uuid.UUID(parts[1]) if len(parts) > 2 else None
    except ValueError:
        task_id = None
    tenant_id = Task.unscoped_objects.filter(pk=task_id).values_list("tenant_id", flat=True).first()
    return tenant_id is not None and minted_while_suspended(tenant_id=tenant_id, minted_at=minted_at)

"""The operator's task pages: a list that answers in a fixed number of queries, a read-only detail
page (the request as sent, timings, seeds, moderation, thumbnails of delivered images) and
one-click actions: cancel a queued or running task, retry a failed one. Actions need the change
permission on tasks, so a view-only (support) user cannot run them.

Billing adds the ledger to the task page (billing/admin.py), callbacks its deliveries and the
redeliver action (callbacks/admin.py): accounts/admin_extend.py."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import DurationField, ExpressionWrapper, F
from django.http import Http404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from imgplatform.listing import EstimatedCountPaginator, distinct_values
from imgplatform.offloop import run_sync
from imgplatform.problems import Problem
from imgplatform.renderers import scrub_surrogates

from accounts.admin_buttons import ButtonsMixin
from generation import services, storage
from generation.api import event_stream_response, task_snapshot
from generation.models import Image, Task
from generation.search import task_search

THUMBNAIL_PX = 128


def human_duration(delta: timedelta | None) -> str:
    """850 ms, 12.3 s, 4 min 3 s, 2 h 5 min, 3 d 4 h."""
    if delta is None:
        return "-"
    seconds = delta.total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def _pretty_json(value) -> str:
    if value in (None, {}, []):
        return "-"
    # Rows stored before the parser refused lone surrogates: shown with U+FFFD (a page must be UTF-8).
    return format_html(
        "<pre>{}</pre>", json.dumps(scrub_surrogates(value), indent=2, sort_keys=True, ensure_ascii=False)
    )


STAGES = ("moderation_prompt", "queue_wait", "generation", "moderation", "storage", "total")


def _stage(item) -> tuple[float, str]:
    """Stages in the order they happen; a stage's parts (generation_unet, ...) after it."""
    name = item[0]
    for order, stage in enumerate(STAGES):
        if name == stage or name.startswith(stage + "_") and stage != "moderation":
            return order, "" if name == stage else name
    return len(STAGES) - 1.5, name  # unknown stages: before the total


class ImageInline(admin.TabularInline):
    model = Image
    extra = 0
    can_delete = False
    fields = (
        "index",
        "thumbnail",
        "seed",
        "decision",
        "flagged_labels",
        "scores",
        "storage_path",
        "sha256",
        "size_bytes",
        "expired_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="image")
    def thumbnail(self, image):
        # Through the same signed, expiring link the API gives; never for a withheld image (it
        # has no stored file, and its pixels must not reach anyone's screen).
        if not image.delivered:
            return "withheld" if image.flagged else "-"
        if image.expired_at:
            return "expired (retention)"
        url = storage.image_url(image.storage_path, base_url="")
        return format_html(
            '<a href="{}" target="_blank" rel="noopener"><img class="task-thumbnail" src="{}" width="{}" height="{}" '
            'alt="image {}"></a>',
            url,
            url,
            THUMBNAIL_PX,
            THUMBNAIL_PX,
            image.index,
        )

    @admin.display(description="moderation")
    def decision(self, image):
        return "withheld (flagged)" if image.flagged else ("delivered" if image.storage_path else "not stored")

    @admin.display(description="flagged by")
    def flagged_labels(self, image):
        flagged = image.moderation.get("flagged", [])
        thresholds = image.moderation.get("thresholds", {})
        return ", ".join(f"{label} (≥ {thresholds.get(label)})" for label in flagged) or "-"

    @admin.display(description="scores")
    def scores(self, image):
        scores = image.moderation.get("scores", {})
        return format_html_join(", ", "{}: {}", ((label, f"{value:.3f}") for label, value in scores.items())) or "-"


class ErrorCodeFilter(admin.SimpleListFilter):
    """Failure codes present among the tasks, plus "none": read from the index of error codes one
    code at a time, not by a DISTINCT over the tasks."""

    title = "error code"
    parameter_name = "error_code__exact"  # the same links as Django's own field filter

    def lookups(self, request, model_admin):
        codes = distinct_values(Task._meta.db_table, "error_code", exclude="")
        return [("-", "none")] + [(code, code) for code in codes]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "-":
            return queryset.filter(error_code="")
        if value:
            return queryset.filter(error_code=value)
        return queryset


class ModelFilter(admin.SimpleListFilter):
    """The models of the catalog (settings.MODEL_REGISTRY), not a DISTINCT over the tasks; a model
    no longer configured is still found by its link (``?model__exact=<name>``)."""

    title = "model"
    parameter_name = "model__exact"

    def lookups(self, request, model_admin):
        return [(name, name) for name in sorted(settings.MODEL_REGISTRY)]

    def queryset(self, request, queryset):
        return queryset.filter(model=self.value()) if self.value() else queryset


@admin.register(Task)
class TaskAdmin(ButtonsMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "state",
        "tenant",
        "project",
        "images",
        "model",
        "charge",
        "duration",
        "error_code",
        "created_at",
    )
    list_select_related = ("tenant", "project", "project__tenant")
    list_filter = ("state", ErrorCodeFilter, "tenant", ModelFilter, "moderation", "created_at")
    search_fields = ("text_data",)  # searched by get_search_results: ids and prompt words, on indexes
    search_help_text = (
        "A task id, the start of one (4 or more characters, e.g. 3fa85f64), or words of the prompt "
        '(all of them; "a phrase", -excluded).'
    )
    # The list never counts every task (PostgreSQL's estimate past 1,000 rows, at most 200 pages), its
    # drill-down reads two dates (templatetags/task_admin.py): a million tasks list as fast as a thousand.
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    inlines = [ImageInline]
    actions = ["cancel_queued", "retry_failed"]
    fieldsets = (
        (
            "Request (as the customer sent it)",
            {
                "fields": (
                    "id", "tenant", "project", "api_key", "request_body", "text_data", "neg_text", "num_images",
                    "seed", "seed_given", "moderation", "end_user", "callback_url", "metadata_json", "sync",
                )
            },
        ),
        (
            "Outcome",
            {
                "fields": (
                    "state", "live_progress", "error_code", "error_detail", "images_delivered", "charge", "hold_amount",
                    "attempts",
                    "worker_name", "job_id",
                )
            },
        ),
        ("Timings", {"fields": ("created_at", "started_at", "finished_at", "duration", "stage_timings")}),
        ("How it ran", {"fields": ("model", "model_version", "run_info_json", "seeds")}),
        ("Moderation", {"fields": ("prompt_moderation", "moderation_share", "moderation_report_json")}),
    )  # fmt: skip

    class Media:
        js = ("generation/task_live.js",)  # a file, not inline: the admin's CSP allows no inline script

    def get_readonly_fields(self, request, obj=None):
        return [name for _, options in self.fieldsets for name in options["fields"]]

    # --- live progress: a staff-only event stream of the task (the API's, without an API key) ----
    def get_urls(self):
        return [
            path("<path:object_id>/events/", self.events_view, name="generation_task_events"),
            *super().get_urls(),
        ]

    def _events_access(self, request, object_id) -> Task:
        """Session authentication (staff) and the view permission, as the admin's own pages."""
        if not (request.user.is_active and request.user.is_staff):
            raise PermissionDenied
        try:
            task = Task.unscoped_objects.filter(pk=uuid.UUID(str(object_id))).first()
        except ValueError:
            task = None
        if task is None:
            raise Http404("No task with this id.")
        if not self.has_view_permission(request, task):
            raise PermissionDenied
        return task

    def _events_snapshot(self, request, task_id) -> dict:
        task = Task.unscoped_objects.prefetch_related("images").get(pk=task_id)
        return task_snapshot(task, request)

    async def events_view(self, request, object_id):
        """``text/event-stream`` of one task for its admin page; holds no thread while idle."""
        task = await run_sync(self._events_access, request, object_id)
        return event_stream_response(task.pk, partial(self._events_snapshot, request, task.pk))

    @admin.display(description="live")
    def live_progress(self, task):
        url = reverse("admin:generation_task_events", args=[task.pk])
        return format_html(
            '<div id="task-live" data-events-url="{}" data-final="{}"><span class="task-live-text">{}</span> '
            '<progress class="task-live-bar" max="1" value="0" hidden></progress></div>',
            url,
            "true" if task.is_final else "false",
            task.state,
        )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(run_time=ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField()))
        )

    def get_search_results(self, request, queryset, search_term):
        return task_search(queryset, search_term), False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the ledger points at tasks; they are history

    # --- columns ---------------------------------------------------------------------------
    @admin.display(description="images", ordering="images_delivered")
    def images(self, task):
        return f"{task.images_delivered}/{task.num_images}"

    @admin.display(description="duration", ordering="run_time")
    def duration(self, task):
        """Run time: from a worker starting it to its end (still running: until now)."""
        if task.started_at is None:
            return "-"
        return human_duration((task.finished_at or timezone.now()) - task.started_at)

    # --- detail ----------------------------------------------------------------------------
    @admin.display(description="request body")
    def request_body(self, task):
        options = {"num_images": task.num_images}
        if task.neg_text:
            options["neg_text"] = task.neg_text
        if task.seed_given:
            options["seed"] = task.seed
        if task.moderation != Task.Moderation.STRICT:
            options["moderation"] = task.moderation
        if task.end_user:
            options["end_user"] = task.end_user
        options.update(task.options_given or {})  # model, size, format, steps, guidance as given
        body = {"text_data": task.text_data, "options": options}
        if task.callback_url:
            body["callback_url"] = task.callback_url
        if task.metadata is not None:
            body["metadata"] = task.metadata
        return format_html(
            "<pre>{}</pre>POST /api/v2/task/{}",
            json.dumps(scrub_surrogates(body), indent=2, ensure_ascii=False),
            ("sync" if task.sync else "async"),
        )

    @admin.display(description="metadata")
    def metadata_json(self, task):
        return _pretty_json(task.metadata)

    @admin.display(description="run info")
    def run_info_json(self, task):
        return _pretty_json(task.run_info)

    @admin.display(description="moderation report")
    def moderation_report_json(self, task):
        return _pretty_json(task.moderation_report)

    @admin.display(description="time per stage")
    def stage_timings(self, task):
        timings = task.timings_ms or {}
        if not timings:
            return "-"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td></tr>",
            ((stage, human_duration(timedelta(milliseconds=ms))) for stage, ms in sorted(timings.items(), key=_stage)),
        )
        return format_html('<table class="stage-timings">{}</table>', rows)

    @admin.display(description="seeds")
    def seeds(self, task):
        given = "given by the customer" if task.seed_given else "drawn at random"
        seeds = ", ".join(str(task.image_seed(i)) for i in range(task.num_images))
        return f"base {task.seed} ({given}); image 0..{task.num_images - 1}: {seeds}"

    @admin.display(description="prompt moderation")
    def prompt_moderation(self, task):
        prompt = (task.moderation_report or {}).get("prompt") or {}
        if not prompt:
            return "-"
        matches = format_html_join(
            "",
            "<li>{} in {}: “{}” <small>(rule {})</small></li>",
            ((m["category"], m["field"], m["term"], m.get("rule", "terms")) for m in prompt.get("matches", [])),
        )
        return format_html("{}<ul>{}</ul>", prompt.get("decision"), matches)

    @admin.display(description="moderation share of the task time")
    def moderation_share(self, task):
        timings = task.timings_ms or {}
        if not timings.get("total") or "moderation" not in timings:
            return "-"
        share = timings["moderation"] / timings["total"]
        return f"{timings['moderation']:.0f} ms of {timings['total']:.0f} ms ({share:.0%})"

    # --- actions ---------------------------------------------------------------------------
    def _cancel(self, request, task) -> bool:
        try:
            services.task_cancel(task=task, actor=request.user)
        except Problem as problem:
            self.message_user(request, f"{task.id}: {problem.detail}", messages.WARNING)
            return False
        self.message_user(request, f"{task.id}: cancelled; nothing is charged.", messages.SUCCESS)
        return True

    def _retry(self, request, task) -> bool:
        try:
            services.task_retry(task=task, actor=request.user)
        except Problem as problem:
            self.message_user(request, f"{task.id}: not retried: {problem.detail}", messages.ERROR)
            return False
        self.message_user(
            request,
            f"{task.id}: queued again for attempt {task.attempts + 1}; it is billed only if it succeeds.",
            messages.SUCCESS,
        )
        return True

    @admin.action(description="Cancel (queued or running tasks; the hold is released)", permissions=["change"])
    def cancel_queued(self, request, queryset):
        for task in queryset:
            self._cancel(request, task)

    @admin.action(description="Retry (failed tasks: a new attempt, billed once if it succeeds)", permissions=["change"])
    def retry_failed(self, request, queryset):
        for task in queryset:
            self._retry(request, task)

    # --- the same actions as buttons on the task page ------------------------------------------
    BUTTONS = {"cancel": "cancel_queued", "retry": "retry_failed"}

    def task_buttons(self, task) -> list[tuple[str, str, bool]]:
        """(what, label, shown) of each button on ``task``'s page (``task`` None: no such task)."""
        return [
            ("cancel", "Cancel", bool(task and task.state in (Task.State.QUEUED, Task.State.RUNNING))),
            ("retry", "Retry", bool(task and task.state == Task.State.FAILED)),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        task = self.get_object(request, object_id)
        can_act = task is not None and self.has_change_permission(request, task)
        extra_context = {
            **(extra_context or {}),
            # Everything here is read-only: no save buttons, only the actions.
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
            "buttons": [(what, label) for what, label, shown in self.task_buttons(task) if shown and can_act],
        }
        return super().change_view(request, object_id, form_url, extra_context)

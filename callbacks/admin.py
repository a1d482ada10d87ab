"""Operators' pages for callbacks: deliveries with every attempt (redeliver one or many), endpoints
marked gone by a 410 (clear the mark); and callbacks' part of other apps' pages
(accounts/admin_extend.py): the project's webhook secret (shown, rotated), a task's deliveries,
their attempts and its redeliver action and button."""

from django.conf import settings
from django.contrib import admin, messages
from django.db import transaction
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from accounts.admin_extend import inserted, registered_admin, replaces_admin
from accounts.models import Project
from callbacks import selectors, services
from callbacks.models import CallbackAttempt, CallbackDelivery, CallbackEndpoint
from generation.models import Task


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CallbackAttemptInline(_ReadOnlyInline):
    model = CallbackAttempt
    fields = (
        "number",
        "trigger",
        "started_at",
        "address",
        "status_code",
        "latency_ms",
        "error",
        "response_excerpt",
        "next_attempt_at",
    )
    readonly_fields = fields


class CallbackDeliveryInline(_ReadOnlyInline):
    """The task page's callbacks (on generation's TaskAdmin, below)."""

    model = CallbackDelivery
    fields = (
        "webhook_id",
        "event_type",
        "status",
        "attempts_count",
        "last_status_code",
        "last_error",
        "next_attempt_at",
    )
    readonly_fields = fields
    show_change_link = True


@admin.register(CallbackDelivery)
class CallbackDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "webhook_id",
        "event_type",
        "status",
        "attempts_count",
        "last_status_code",
        "next_attempt_at",
        "tenant",
        "task_link",
        "created_at",
    )
    list_select_related = ("tenant",)
    list_filter = ("status", "event_type", "tenant", "created_at")
    search_fields = ("=webhook_id", "url")
    date_hierarchy = "created_at"
    inlines = [CallbackAttemptInline]
    actions = ["redeliver_now"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields] + ["task_link"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="task")
    def task_link(self, obj):
        url = reverse("admin:generation_task_change", args=[obj.task_id])
        return format_html('<a href="{}">{}</a>', url, obj.task_id)

    @admin.action(description="Redeliver now (same webhook-id)", permissions=["change"])
    def redeliver_now(self, request, queryset):
        with transaction.atomic():
            for delivery in queryset:
                done, message = services.callback_redeliver(delivery=delivery)
                self.message_user(request, message, messages.SUCCESS if done else messages.WARNING)


@admin.register(CallbackEndpoint)
class CallbackEndpointAdmin(admin.ModelAdmin):
    list_display = ("url", "project", "tenant", "gone_at", "gone_webhook_id")
    list_select_related = ("project", "project__tenant", "tenant")
    list_filter = (("gone_at", admin.EmptyFieldListFilter), "tenant")
    search_fields = ("url",)
    actions = ["clear_gone"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Clear the gone mark (deliver to this URL again)", permissions=["change"])
    def clear_gone(self, request, queryset):
        for endpoint in queryset:
            services.endpoint_clear_gone(endpoint=endpoint)
        self.message_user(
            request,
            f"{queryset.count()} endpoint(s) cleared; deliveries skipped meanwhile can be redelivered.",
            messages.SUCCESS,
        )


class ProjectWebhookSecretMixin:
    """On accounts' ProjectAdmin (below): the webhook secret as receivers must use it, and rotation.

    The secret signs callbacks, so whoever reads it can forge them: it is shown only to users who
    may rotate it (the project's change permission), never to view-only roles such as Support. A
    new secret is shown once, on the page answering the rotation (``Cache-Control: no-store``),
    never in a message: Django keeps messages in a signed, not encrypted, cookie."""

    SECRET_FIELD = "webhook_signing_secret"
    HIDDEN_FIELD = "webhook_signing_secret_hidden"

    def _may_see_secret(self, request, obj=None) -> bool:
        return self.has_change_permission(request, obj)

    def _hide_secret(self, request, fields, obj=None):
        if self._may_see_secret(request, obj):
            return fields
        return type(fields)(self.HIDDEN_FIELD if field == self.SECRET_FIELD else field for field in fields)

    def get_fields(self, request, obj=None):
        return self._hide_secret(request, super().get_fields(request, obj), obj)

    def get_readonly_fields(self, request, obj=None):
        return self._hide_secret(request, super().get_readonly_fields(request, obj), obj)

    @admin.display(description="webhook secret")
    def webhook_signing_secret_hidden(self, obj):
        return "shown only to operators who may rotate it"

    @admin.display(description="webhook secret")
    def webhook_signing_secret(self, obj):
        if obj is None or obj.pk is None:
            return "made when the project is saved"
        info = selectors.webhook_secret_get(project=obj)
        if info.previous_secret_expires_at:
            return format_html(
                "<code>{}</code><br>rotated {}; the previous secret also signs until {}",
                info.secret,
                timezone.localtime(info.rotated_at).strftime("%Y-%m-%d %H:%M"),
                timezone.localtime(info.previous_secret_expires_at).strftime("%Y-%m-%d %H:%M"),
            )
        return format_html("<code>{}</code>", info.secret)

    @admin.action(
        description="Rotate webhook secret (the old one keeps signing for a grace period)", permissions=["change"]
    )
    def rotate_webhook_secret(self, request, queryset):
        rotated = []
        for project in queryset:
            secret = services.webhook_secret_rotate(project=project, actor=request.user)  # writes its audit row
            rotated.append({"project": project, "secret": secret})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Webhook secrets rotated",
            "rotated": rotated,
            "grace": settings.CALLBACK_SECRET_ROTATION_GRACE,
        }
        response = TemplateResponse(request, "admin/accounts/project/secret_rotated.html", context)
        response["Cache-Control"] = "no-store"
        return response


_ProjectAdmin = registered_admin(Project)


@replaces_admin(Project)
class ProjectCallbacksAdmin(ProjectWebhookSecretMixin, _ProjectAdmin):
    # The secret is shown in the form receivers verify with, and changed only by rotation.
    fields = inserted(_ProjectAdmin.fields, "webhook_signing_secret", before="new_key")
    readonly_fields = (*_ProjectAdmin.readonly_fields, "webhook_signing_secret")
    actions = [*_ProjectAdmin.actions, "rotate_webhook_secret"]


_TaskAdmin = registered_admin(Task)


@replaces_admin(Task)
class TaskCallbacksAdmin(_TaskAdmin):
    """Generation's task page with its deliveries and their attempts, and redelivery (an action and a
    button)."""

    inlines = [*_TaskAdmin.inlines, CallbackDeliveryInline]
    actions = [*_TaskAdmin.actions, "redeliver_callback"]
    fieldsets = (*_TaskAdmin.fieldsets, ("Callback attempts", {"fields": ("callback_attempts",)}))
    BUTTONS = {**_TaskAdmin.BUTTONS, "redeliver": "redeliver_callback"}

    def task_buttons(self, task) -> list[tuple[str, str, bool]]:
        shown = bool(task and task.callback_url and task.is_final)
        return [*super().task_buttons(task), ("redeliver", "Redeliver callback", shown)]

    @admin.display(description="attempts")
    def callback_attempts(self, task):
        attempts = CallbackAttempt.unscoped_objects.filter(delivery__task=task).select_related("delivery")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    a.delivery.webhook_id,
                    a.number,
                    a.trigger,
                    a.started_at.strftime("%Y-%m-%d %H:%M:%S") if a.started_at else "-",
                    a.status_code or "-",
                    a.error or "-",
                    a.next_attempt_at.strftime("%Y-%m-%d %H:%M:%S") if a.next_attempt_at else "-",
                )
                for a in attempts.order_by("delivery_id", "number")
            ),
        )
        if not rows:
            return "none" if not task.callback_url else "none yet"
        return format_html(
            "<table><tr><th>webhook-id</th><th>#</th><th>trigger</th><th>started</th><th>status</th><th>error</th>"
            "<th>next</th></tr>{}</table>",
            rows,
        )

    def _redeliver(self, request, task) -> bool:
        # The message about the task's latest end (a retried task's earlier one reported a failure).
        deliveries = list(CallbackDelivery.unscoped_objects.filter(task=task).order_by("-created_at", "-id")[:1])
        if not deliveries:
            reason = "it has no callback_url" if not task.callback_url else "no callback has been made for it yet"
            self.message_user(request, f"{task.id}: nothing to redeliver ({reason}).", messages.WARNING)
            return False
        done_any = False
        with transaction.atomic():  # the attempt is enqueued when this commits
            for delivery in deliveries:
                done, message = services.callback_redeliver(delivery=delivery)
                self.message_user(request, f"{task.id}: {message}", messages.SUCCESS if done else messages.WARNING)
                done_any |= done
                if done:
                    self.log_change(request, task, f"Callback {delivery.webhook_id} redelivered.")
        return done_any

    @admin.action(description="Redeliver callback now (same webhook-id)", permissions=["change"])
    def redeliver_callback(self, request, queryset):
        for task in queryset:
            self._redeliver(request, task)

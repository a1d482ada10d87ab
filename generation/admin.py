from django.contrib import admin
from django.utils.html import format_html, format_html_join

from callbacks.admin import CallbackDeliveryInline
from generation.models import Image, Task


class ImageInline(admin.TabularInline):
    model = Image
    extra = 0
    can_delete = False
    fields = ("index", "seed", "decision", "flagged_labels", "scores", "storage_path", "sha256", "size_bytes")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

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


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "state",
        "tenant",
        "project",
        "num_images",
        "images_delivered",
        "model",
        "charge",
        "error_code",
        "created_at",
    )
    list_select_related = ("tenant", "project")
    list_filter = ("state", "error_code", "moderation", "model", "created_at")
    search_fields = ("=id", "text_data")
    date_hierarchy = "created_at"
    inlines = [ImageInline, CallbackDeliveryInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields] + ["prompt_moderation", "moderation_share"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="prompt moderation")
    def prompt_moderation(self, task):
        prompt = (task.moderation_report or {}).get("prompt") or {}
        if not prompt:
            return "-"
        matches = format_html_join(
            "", "<li>{} in {}: “{}”</li>", ((m["category"], m["field"], m["term"]) for m in prompt.get("matches", []))
        )
        return format_html("{}<ul>{}</ul>", prompt.get("decision"), matches)

    @admin.display(description="moderation share of the task time")
    def moderation_share(self, task):
        timings = task.timings_ms or {}
        if not timings.get("total") or "moderation" not in timings:
            return "-"
        share = timings["moderation"] / timings["total"]
        return f"{timings['moderation']:.0f} ms of {timings['total']:.0f} ms ({share:.0%})"

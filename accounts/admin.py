from django.contrib import admin, messages
from django.utils import timezone

from accounts.models import ApiKey, Membership, Project, Tenant
from accounts.services import api_key_create
from callbacks.admin import ProjectWebhookSecretMixin


class ProjectInline(admin.TabularInline):
    model = Project
    extra = 0
    fields = ("name", "model", "retention_days", "created_at")
    readonly_fields = ("created_at",)
    show_change_link = True


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [ProjectInline, MembershipInline]
    actions = ["suspend", "reactivate"]

    @admin.action(description="Suspend (their keys stop working at once)")
    def suspend(self, request, queryset):
        queryset.update(status=Tenant.Status.SUSPENDED)

    @admin.action(description="Reactivate")
    def reactivate(self, request, queryset):
        queryset.update(status=Tenant.Status.ACTIVE)


@admin.register(Project)
class ProjectAdmin(ProjectWebhookSecretMixin, admin.ModelAdmin):
    list_display = ("id", "name", "tenant", "model", "created_at")
    list_select_related = ("tenant",)
    search_fields = ("name", "tenant__name")
    list_filter = ("model",)
    # The secret is shown in the form receivers verify with, and changed only by rotation.
    readonly_fields = ("webhook_signing_secret", "created_at")
    autocomplete_fields = ("tenant",)
    fields = (
        "tenant", "name", "model", "retention_days", "moderation_policy", "monthly_spend_cap",
        "end_user_monthly_cap", "webhook_signing_secret", "created_at",
    )  # fmt: skip
    actions = ["rotate_webhook_secret"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = (
        "display_prefix",
        "name",
        "tenant",
        "project",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    list_select_related = ("tenant", "project")
    list_filter = ("revoked_at",)
    search_fields = ("key_id", "name", "tenant__name")
    fields = ("project", "name", "expires_at", "key_id", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("key_id", "created_at", "last_used_at", "revoked_at")
    autocomplete_fields = ("project",)
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + (("project",) if obj else ())

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        issued = api_key_create(project=obj.project, name=obj.name, expires_at=obj.expires_at)
        obj.pk, obj.key_id, obj.tenant_id = issued.api_key.pk, issued.api_key.key_id, issued.api_key.tenant_id
        messages.warning(request, f"New API key (shown once, copy it now): {issued.raw_key}")

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())

"""The operator's pages for tenants, projects and keys: suspend and reactivate (keys stop at once:
authentication reads the tenant's status on every request), keys created with the secret shown
once on a page of its own, and revocation. Every action and button needs the change permission,
so view-only (support) staff cannot run them.

Billing adds the plan, caps and usage this month to the tenant and project pages (billing/admin.py),
callbacks the project's webhook secret (callbacks/admin.py): accounts/admin_extend.py."""

from __future__ import annotations

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import User
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin_buttons import ButtonsMixin
from accounts.admin_secrets import SecretLookupsRefused
from accounts.models import ApiKey, Membership, Project, Scope, Tenant, all_scopes
from accounts.services import api_key_create, api_key_revoke, tenant_reactivate, tenant_suspend


class ProjectInline(admin.TabularInline):
    model = Project
    extra = 0
    fields = ("name", "model", "retention_days", "monthly_spend_cap", "end_user_monthly_cap", "created_at")
    readonly_fields = ("created_at",)
    show_change_link = True


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


class ApiKeyInline(admin.TabularInline):
    """Keys, read-only: created on the key page (secret shown once), revoked there or by action."""

    model = ApiKey
    extra = 0
    can_delete = False
    fields = ("display_prefix", "name", "project", "scope_list", "tenant_wide", "created_at", "last_used_at",
              "expires_at", "revoked_at")  # fmt: skip
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = "API keys"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("project", "project__tenant")

    @admin.display(description="scopes")
    def scope_list(self, key):
        return ", ".join(key.scopes or ())


@admin.register(Tenant)
class TenantAdmin(ButtonsMixin, admin.ModelAdmin):
    list_display = ("name", "slug", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    fieldsets = (
        (None, {"fields": ("name", "slug", "status", "created_at")}),
        (
            "Limits (empty: the deployment's default)",
            {"fields": ("rate_limit_per_minute", "max_queued_tasks", "max_running_tasks", "max_sync_waits")},
        ),
    )
    readonly_fields = ("status", "created_at")
    inlines = [ProjectInline, MembershipInline, ApiKeyInline]
    actions = ["suspend", "reactivate"]
    BUTTONS = {"suspend": "suspend", "reactivate": "reactivate"}

    def change_view(self, request, object_id, form_url="", extra_context=None):
        tenant = self.get_object(request, object_id)
        buttons = []
        if tenant is not None and self.has_change_permission(request, tenant):
            buttons = [("reactivate", "Reactivate")] if not tenant.is_active else [("suspend", "Suspend")]
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "buttons": buttons})

    # --- actions ---------------------------------------------------------------------------
    @admin.action(description="Suspend (their keys stop working, queued tasks are cancelled)", permissions=["change"])
    def suspend(self, request, queryset):
        done = []
        for tenant in queryset.filter(status=Tenant.Status.ACTIVE):
            outcome = tenant_suspend(tenant=tenant, actor=request.user, reason="admin")
            if outcome.changed:  # its audit rows: the history entry and the TenantStatusChange row
                done.append(f"{tenant.name} ({outcome.tasks_cancelled} queued tasks cancelled)")
        self.message_user(
            request,
            f"Suspended {', '.join(done) or 'nobody new'}: their API keys are refused from now on.",
            messages.SUCCESS,
        )

    @admin.action(description="Reactivate", permissions=["change"])
    def reactivate(self, request, queryset):
        suspended = queryset.filter(status=Tenant.Status.SUSPENDED)
        names = [t.name for t in suspended if tenant_reactivate(tenant=t, actor=request.user, reason="admin")]
        self.message_user(
            request, f"Reactivated {', '.join(names) or 'nobody new'}: their keys work again.", messages.SUCCESS
        )


@admin.register(Project)
class ProjectAdmin(SecretLookupsRefused, admin.ModelAdmin):
    list_display = ("id", "name", "tenant", "model", "monthly_spend_cap", "end_user_monthly_cap", "created_at")
    list_select_related = ("tenant",)
    search_fields = ("name", "tenant__name")
    list_filter = ("model",)
    readonly_fields = ("public_id", "created_at", "new_key")
    autocomplete_fields = ("tenant",)
    fields = (
        "tenant", "name", "public_id", "model", "retention_days", "moderation_policy", "monthly_spend_cap",
        "end_user_monthly_cap", "new_key", "created_at",
    )  # fmt: skip
    inlines = [ApiKeyInline]

    @admin.display(description="API keys")
    def new_key(self, project):
        if project.pk is None:
            return "save the project first"
        url = reverse("admin:accounts_apikey_add") + f"?project={project.pk}"
        return format_html('<a class="addlink" href="{}">Create an API key for this project</a>', url)


class ApiKeyForm(forms.ModelForm):
    """Scopes as checkboxes (the model keeps them as a JSON list)."""

    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=all_scopes,
        required=False,
        help_text="What the key may do; a request outside them is 403 forbidden naming the scope. "
        "None ticked: all four (as keys made before scopes existed).",
    )

    class Meta:
        model = ApiKey
        fields = ("project", "name", "expires_at", "scopes", "tenant_wide", "rate_limit_per_minute")

    def clean_scopes(self):
        chosen = self.cleaned_data["scopes"] or all_scopes()
        return [scope for scope in all_scopes() if scope in chosen]


@admin.register(ApiKey)
class ApiKeyAdmin(SecretLookupsRefused, ButtonsMixin, admin.ModelAdmin):
    form = ApiKeyForm
    list_display = (
        "display_prefix",
        "name",
        "key_status",
        "scope_list",
        "reach",
        "tenant",
        "project",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    list_select_related = ("tenant", "project", "project__tenant")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "tenant_wide", "tenant")
    search_fields = ("key_id", "name", "tenant__name")
    fields = ("project", "name", "expires_at", "scopes", "tenant_wide", "rate_limit_per_minute", "key_id",
              "public_id", "created_at", "last_used_at", "revoked_at")  # fmt: skip
    readonly_fields = ("key_id", "public_id", "created_at", "last_used_at", "revoked_at")
    autocomplete_fields = ("project",)
    actions = ["revoke"]
    BUTTONS = {"revoke": "revoke"}

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + (("project",) if obj else ())

    @admin.display(description="scopes")
    def scope_list(self, key):
        return ", ".join(key.scopes or ())

    @admin.display(description="sees", ordering="tenant_wide")
    def reach(self, key):
        return "every project" if key.tenant_wide else "its project"

    @admin.display(description="status")
    def key_status(self, key):
        if key.is_revoked:
            return "revoked"
        if key.is_expired():
            return "expired"
        return "suspended tenant" if not key.tenant.is_active else "active"

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        issued = api_key_create(
            project=obj.project,
            name=obj.name,
            expires_at=obj.expires_at,
            scopes=obj.scopes,
            tenant_wide=obj.tenant_wide,
            rate_limit_per_minute=obj.rate_limit_per_minute,
        )
        obj.pk, obj.key_id, obj.tenant_id = issued.api_key.pk, issued.api_key.key_id, issued.api_key.tenant_id
        obj.secret_hash, obj.created_at = issued.api_key.secret_hash, issued.api_key.created_at
        obj._state.adding = False
        # Only on the page answering this request: not in a message (stored in the session or a
        # cookie until shown), not in the admin's history, not in any log.
        obj.raw_key_once = issued.raw_key

    def response_add(self, request, obj, post_url_continue=None):
        raw = getattr(obj, "raw_key_once", None)
        if raw is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "API key created",
            "key": obj,
            "raw_key": raw,
            "key_url": reverse("admin:accounts_apikey_change", args=[obj.pk]),
            "project_url": reverse("admin:accounts_project_change", args=[obj.project_id]),
        }
        response = TemplateResponse(request, "admin/accounts/apikey/issued.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        key = self.get_object(request, object_id)
        buttons = []
        if key is not None and not key.is_revoked and self.has_change_permission(request, key):
            buttons = [("revoke", "Revoke this key")]
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "buttons": buttons})

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke(self, request, queryset):
        revoked = []
        for key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(api_key=key, actor=request.user)
            revoked.append(key.display_prefix)
        self.message_user(
            request,
            f"Revoked {', '.join(revoked)}: refused from now on." if revoked else "Nothing to revoke.",
            messages.SUCCESS if revoked else messages.WARNING,
        )


# django-axes' page of admin login attempts (lockouts), with its one action declaring the permission
# it needs like every other admin action (the read-only Support role must not run it).
admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class LoginAttemptAdmin(AccessAttemptAdmin):
    @admin.action(description="Clean up expired attempts", permissions=["delete"])
    def cleanup_expired_attempts(self, request, queryset):
        return super().cleanup_expired_attempts(request, queryset)


# Django's user admin, unchanged but for one rule: no filter on the password hash.
admin.site.unregister(User)


@admin.register(User)
class UserAdmin(SecretLookupsRefused, DjangoUserAdmin):
    pass

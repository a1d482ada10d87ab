"""The operator's billing pages: plans, assignments, accounts and credit, the ledger (read-only),
invoices with their actions, and a usage chart per tenant."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from billing import invoicing, services
from billing.models import (
    BillingAccount,
    CreditEntry,
    DailyUsage,
    Invoice,
    InvoiceLine,
    MoneySum,
    Plan,
    PriceTier,
    TenantPlan,
    UsageLine,
    UsageRecord,
    validate_currency_unchanged,
)


class PriceTierFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        bounds = [
            form.cleaned_data.get("up_to")
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if not bounds:
            raise ValidationError("A plan needs at least one tier.")
        if bounds.count(None) != 1:
            raise ValidationError("Exactly one tier (the last) must have no upper bound.")


class PriceTierInline(admin.TabularInline):
    model = PriceTier
    formset = PriceTierFormSet
    extra = 1


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "currency", "included_images", "monthly_cap", "scheduling_weight", "is_default")
    readonly_fields = ("created_at",)
    inlines = [PriceTierInline]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "scheduling_weight":
            field.required = False  # left out of a form: the default weight, 1
        return field


@admin.register(TenantPlan)
class TenantPlanAdmin(admin.ModelAdmin):
    list_display = ("tenant", "plan", "starts_at", "created_at")
    readonly_fields = ("created_at",)
    list_select_related = ("tenant", "plan")
    autocomplete_fields = ("tenant",)
    list_filter = ("plan",)

    def save_model(self, request, obj, form, change):
        if change:
            raise ValidationError("Plan assignments are history: add a new one instead of editing.")
        validate_currency_unchanged(obj.tenant, obj.plan)
        assignment = services.tenant_plan_assign(
            tenant=obj.tenant, plan=obj.plan, starts_at=obj.starts_at, actor=request.user
        )
        obj.pk, obj.created_at, obj.starts_at = assignment.pk, assignment.created_at, assignment.starts_at
        obj._state.adding = False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)


class CreditGrantForm(forms.Form):
    amount = forms.DecimalField(max_digits=14, decimal_places=5)
    note = forms.CharField(max_length=200, required=False)


def usage_chart(tenant_id: int, days: int = 30) -> str:
    """Daily spend of the last ``days`` days as an inline SVG bar chart (no script, no CDN)."""
    today = timezone.now().date()
    start = today - timedelta(days=days - 1)
    rows = dict(
        DailyUsage.unscoped_objects.filter(tenant_id=tenant_id, day__gte=start)
        .values_list("day")
        .annotate(total=MoneySum("amount"))
        .values_list("day", "total")
    )
    values = [(start + timedelta(days=i), rows.get(start + timedelta(days=i), 0)) for i in range(days)]
    peak = max((float(v) for _, v in values), default=0) or 1.0
    width, height, bar = days * 14, 120, 10
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" fill="#417690"><title>{}: {}</title></rect>',
        (
            (i * 14 + 2, height - h, bar, h, day.isoformat(), f"{value:.5f}")
            for i, (day, value) in enumerate(values)
            for h in [round(float(value) / peak * (height - 10))]
        ),
    )
    return format_html(
        '<svg class="usage-chart" width="{}" height="{}" role="img" aria-label="Daily spend, last {} days">{}</svg>'
        "<div>{} – {}; highest day {}</div>",
        width,
        height,
        days,
        bars,
        start.isoformat(),
        today.isoformat(),
        f"{peak if rows else 0:.5f}",
    )


@admin.register(BillingAccount)
class BillingAccountAdmin(admin.ModelAdmin):
    list_display = ("tenant", "mode", "monthly_cap", "credit_balance", "credit_held", "credit_available")
    list_select_related = ("tenant",)
    list_filter = ("mode",)
    search_fields = ("tenant__name",)
    fields = ("tenant", "mode", "monthly_cap", "credit_balance", "credit_held", "current_plan", "spend_chart")
    readonly_fields = ("credit_balance", "credit_held", "current_plan", "spend_chart")
    autocomplete_fields = ("tenant",)
    change_form_template = "admin/billing/billingaccount/change_form.html"

    @admin.display(description="plan now")
    def current_plan(self, account):
        return services.plan_for(account.tenant) if account.pk else "-"

    @admin.display(description="daily spend, last 30 days")
    def spend_chart(self, account):
        return usage_chart(account.tenant_id) if account.pk else "-"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        account = self.get_object(request, object_id)
        grant = CreditGrantForm(request.POST if "_grant" in request.POST else None, prefix="grant")
        if "_grant" in request.POST and not self.has_change_permission(request, account):
            raise PermissionDenied  # read-only staff (the Support role) see credit, never grant it
        if account is not None and "_grant" in request.POST:
            if grant.is_valid():
                services.credit_grant(
                    tenant=account.tenant,
                    amount=grant.cleaned_data["amount"],
                    note=grant.cleaned_data["note"],
                    by=request.user.get_username(),
                )
                self.message_user(request, f"Granted {grant.cleaned_data['amount']} credit.", messages.SUCCESS)
                return redirect(request.path)
        extra_context = {
            **(extra_context or {}),
            "grant_form": grant,
            "credit_entries": CreditEntry.unscoped_objects.filter(tenant_id=account.tenant_id)[:50] if account else [],
        }
        return super().change_view(request, object_id, form_url, extra_context)


class UsageLineInline(admin.TabularInline):
    model = UsageLine
    extra = 0
    can_delete = False
    fields = ("tier", "images", "unit_price", "amount")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin):
    """The ledger: read-only. Rows are written only when a task finishes."""

    list_display = ("task", "tenant", "project", "end_user", "period", "images", "tier", "unit_price", "amount")
    list_select_related = ("tenant", "project", "project__tenant", "task")
    list_filter = ("period", "currency")
    search_fields = ("=task__id", "end_user", "tenant__name")
    inlines = [UsageLineInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    fields = ("project", "tier", "unit_price", "images", "amount")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ("number", "tenant", "period", "status", "billing_mode", "images", "total", "currency")
    list_select_related = ("tenant",)
    list_filter = ("status", "period", "billing_mode")
    search_fields = ("number", "tenant__name")
    inlines = [InvoiceLineInline]
    actions = ["issue", "mark_paid", "void"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def _act(self, request, queryset, action, verb):
        moved = sum(action(invoice=invoice) for invoice in queryset)
        skipped = queryset.count() - moved
        self.message_user(request, f"{verb} {moved}; {skipped} skipped (not in a state that allows it).")

    @admin.action(description="Issue (draft -> issued)", permissions=["change"])
    def issue(self, request, queryset):
        self._act(request, queryset, invoicing.invoice_issue, "Issued")

    @admin.action(description="Mark paid (issued -> paid)", permissions=["change"])
    def mark_paid(self, request, queryset):
        self._act(request, queryset, invoicing.invoice_mark_paid, "Marked paid")

    @admin.action(description="Void (draft or issued -> void)", permissions=["change"])
    def void(self, request, queryset):
        self._act(request, queryset, invoicing.invoice_void, "Voided")

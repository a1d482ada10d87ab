"""The operator's billing pages: plans, assignments, accounts and credit, the ledger (read-only),
invoices with their actions, and a usage chart per tenant; and billing's part of other apps'
pages (accounts/admin_extend.py): plan, caps and spend this month on tenants and projects, the
ledger row and credit entries on tasks."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import CharField, DecimalField, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from imgplatform.listing import EstimatedCountPaginator
from imgplatform.money import ZERO, MoneySum

from accounts.admin_extend import inserted, registered_admin, replaces_admin
from accounts.models import Project, Tenant
from billing import invoicing, services
from billing.models import (
    BillingAccount,
    CreditEntry,
    DailyUsage,
    Invoice,
    InvoiceLine,
    MonthlyUsage,
    Plan,
    PriceTier,
    TenantPlan,
    UsageLine,
    UsageRecord,
    validate_currency_unchanged,
)
from generation.models import Task


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

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # In the form's transaction: a submit that read the old prices before locking its
        # account reads them again (billing/services.py, task_admit).
        services.plans_changed()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        services.plans_changed()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        services.plans_changed()


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


class CurrencyFilter(admin.SimpleListFilter):
    """The plans' currencies (a ledger row is in its plan's), not a DISTINCT over the ledger."""

    title = "currency"
    parameter_name = "currency__exact"

    def lookups(self, request, model_admin):
        currencies = Plan.objects.order_by("currency").values_list("currency", flat=True).distinct()
        return [(code, code) for code in currencies]

    def queryset(self, request, queryset):
        return queryset.filter(currency=self.value()) if self.value() else queryset


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin):
    """The ledger: read-only. Rows are written only when a task finishes. A row per billed task, so
    the list never counts it whole (imgplatform/listing.py); a task id is found by its index."""

    list_display = ("task", "tenant", "project", "end_user", "period", "images", "tier", "unit_price", "amount")
    list_select_related = ("tenant", "project", "project__tenant", "task")
    list_filter = ("period", CurrencyFilter)
    search_fields = ("end_user", "tenant__name")
    search_help_text = "A task id, or (read through the whole ledger) an end user or a tenant's name."
    inlines = [UsageLineInline]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def get_search_results(self, request, queryset, search_term):
        try:
            return queryset.filter(task_id=uuid.UUID(search_term.strip())), False
        except ValueError:
            return super().get_search_results(request, queryset, search_term)

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


# --- Billing on the pages of tenants, projects and tasks (accounts/admin_extend.py) ---------------
def _this_month():
    return services.period_of(timezone.now())


def _money(value) -> str:
    return f"{value or ZERO:.5f}"


def _cap(value) -> str:
    return "none" if value is None else _money(value)


def _usage_table(rows, *, first: str = "project") -> str:
    body = format_html_join(
        "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", ((p, t, i, _money(a)) for p, t, i, a in rows)
    )
    if not body:
        return "nothing billed this month"
    return format_html(
        '<table class="usage-this-month"><tr><th>{}</th><th>tasks</th><th>images</th><th>spend</th></tr>{}</table>',
        first,
        body,
    )


def _month_usage(**owner) -> str:
    """This month's tasks, images and spend of a tenant (``tenant=``, per project) or a project
    (``project=``, per end user), from the daily rollups."""
    by, first = ("project__name", "project") if "tenant" in owner else ("end_user", "end user")
    rows = (
        DailyUsage.unscoped_objects.filter(**owner, day__gte=_this_month())
        .values(by)
        .annotate(tasks=Sum("tasks"), images=Sum("images"), amount=MoneySum("amount"))
        .order_by(by)
        .values_list(by, "tasks", "images", "amount")
    )
    if by == "end_user":
        rows = [(end_user or "(no end user)", *rest) for end_user, *rest in rows]
    return _usage_table(rows, first=first)


class MonthSpendColumns:
    """List columns from the ``month_images`` and ``month_amount`` annotations (one subquery each,
    so a list page is a fixed number of queries)."""

    @admin.display(description="images this month", ordering="month_images")
    def images_this_month(self, obj):
        return obj.month_images

    @admin.display(description="spend this month", ordering="month_amount")
    def spend_this_month(self, obj):
        return _money(obj.month_amount)


_TenantAdmin = registered_admin(Tenant)


@replaces_admin(Tenant)
class TenantBillingAdmin(MonthSpendColumns, _TenantAdmin):
    """Accounts' tenant page with its plan, billing mode, caps and spend this month."""

    BILLING = ("plan_now", "billing_summary", "usage_this_month", "caps")
    list_display = inserted(
        _TenantAdmin.list_display, "plan", "billing_mode", "images_this_month", "spend_this_month", before="created_at"
    )
    fieldsets = (
        (_TenantAdmin.fieldsets[0][0], {"fields": (*_TenantAdmin.fieldsets[0][1]["fields"], *BILLING)}),
        *_TenantAdmin.fieldsets[1:],
    )
    readonly_fields = (*_TenantAdmin.readonly_fields, *BILLING)

    def get_queryset(self, request):
        month = MonthlyUsage.unscoped_objects.filter(tenant=OuterRef("pk"), period=_this_month())
        plan = TenantPlan.unscoped_objects.filter(tenant=OuterRef("pk"), starts_at__lte=timezone.now()).order_by(
            "-starts_at", "-id"
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                month_images=Coalesce(Subquery(month.values("images")[:1]), Value(0), output_field=IntegerField()),
                month_amount=Coalesce(
                    Subquery(month.values("amount")[:1]), Value(ZERO), output_field=DecimalField(max_digits=14)
                ),
                plan_code=Coalesce(
                    Subquery(plan.values("plan__code")[:1], output_field=CharField()),
                    Value(Plan.objects.filter(is_default=True).values_list("code", flat=True).first() or "default"),
                    output_field=CharField(),
                ),
                mode=Subquery(
                    BillingAccount.unscoped_objects.filter(tenant=OuterRef("pk")).values("mode")[:1],
                    output_field=CharField(),
                ),
            )
        )

    @admin.display(description="plan", ordering="plan_code")
    def plan(self, tenant):
        return tenant.plan_code

    @admin.display(description="billing", ordering="mode")
    def billing_mode(self, tenant):
        return tenant.mode or BillingAccount.Mode.POSTPAID

    @admin.display(description="plan now")
    def plan_now(self, tenant):
        if tenant.pk is None:
            return "-"
        plan = services.plan_for(tenant)
        assign = reverse("admin:billing_tenantplan_add") + f"?tenant={tenant.pk}"
        return format_html(
            '{} ({}, {} images included a month) <a href="{}">assign another plan</a>',
            plan.name,
            plan.currency,
            plan.included_images,
            assign,
        )

    @admin.display(description="billing account")
    def billing_summary(self, tenant):
        if tenant.pk is None:
            return "-"
        account = BillingAccount.unscoped_objects.filter(tenant=tenant).first()
        if account is None:
            return "postpaid (no account settings yet)"
        url = reverse("admin:billing_billingaccount_change", args=[account.pk])
        credit = ""
        if account.mode == BillingAccount.Mode.PREPAID:
            credit = f"; credit {_money(account.credit_balance)}, held {_money(account.credit_held)}, " + (
                f"available {_money(account.credit_available)}"
            )
        return format_html(
            '<a href="{}">{}</a>, monthly cap {}{}', url, account.mode, _cap(account.monthly_cap), credit
        )

    @admin.display(description="usage this month")
    def usage_this_month(self, tenant):
        return "-" if tenant.pk is None else _month_usage(tenant=tenant)

    @admin.display(description="spend caps")
    def caps(self, tenant):
        if tenant.pk is None:
            return "-"
        projects = Project.unscoped_objects.filter(tenant=tenant).order_by("name")
        return (
            format_html_join(
                "",
                "<div>{}: project {}, each end user {}</div>",
                ((p.name, _cap(p.monthly_spend_cap), _cap(p.end_user_monthly_cap)) for p in projects),
            )
            or "no projects"
        )


_ProjectAdmin = registered_admin(Project)


@replaces_admin(Project)
class ProjectBillingAdmin(MonthSpendColumns, _ProjectAdmin):
    """Accounts' project page with its spend this month, per end user."""

    list_display = inserted(_ProjectAdmin.list_display, "images_this_month", "spend_this_month", before="created_at")
    fields = inserted(_ProjectAdmin.fields, "usage_this_month", before="new_key")
    readonly_fields = (*_ProjectAdmin.readonly_fields, "usage_this_month")

    def get_queryset(self, request):
        month = (
            DailyUsage.unscoped_objects.filter(project=OuterRef("pk"), day__gte=_this_month())
            .order_by()
            .values("project")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                month_images=Coalesce(
                    Subquery(month.annotate(s=Sum("images")).values("s")[:1]), Value(0), output_field=IntegerField()
                ),
                month_amount=Coalesce(
                    Subquery(month.annotate(s=MoneySum("amount")).values("s")[:1]),
                    Value(ZERO),
                    output_field=DecimalField(max_digits=14),
                ),
            )
        )

    @admin.display(description="usage this month")
    def usage_this_month(self, project):
        return "-" if project.pk is None else _month_usage(project=project)


_TaskAdmin = registered_admin(Task)


@replaces_admin(Task)
class TaskBillingAdmin(_TaskAdmin):
    """Generation's task page with its ledger row and prepaid credit entries."""

    fieldsets = (*_TaskAdmin.fieldsets, ("Billing", {"fields": ("ledger", "credit_entries")}))

    @admin.display(description="ledger row")
    def ledger(self, task):
        record = UsageRecord.unscoped_objects.filter(task=task).select_related("plan").first()
        if record is None:
            return "not billed (nothing charged)" if task.is_final else "not billed yet"
        url = reverse("admin:billing_usagerecord_change", args=[record.pk])
        lines = format_html_join(
            "",
            "<li>tier {}: {} × {} = {}</li>",
            ((ln.tier, ln.images, ln.unit_price, ln.amount) for ln in record.lines.all()),
        )
        return format_html(
            '<a href="{}">{} images, {} {}</a> ({}, {}, plan {})<ul>{}</ul>',
            url,
            record.images,
            record.amount,
            record.currency,
            record.day,
            record.end_user or "no end user",
            record.plan.code,
            lines,
        )

    @admin.display(description="prepaid credit")
    def credit_entries(self, task):
        entries = CreditEntry.unscoped_objects.filter(task=task).order_by("hold_number", "id")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((e.hold_number, e.kind, e.amount, e.created_at.strftime("%Y-%m-%d %H:%M:%S")) for e in entries),
        )
        if not rows:
            return "none (postpaid)"
        return format_html("<table><tr><th>hold</th><th>kind</th><th>amount</th><th>when</th></tr>{}</table>", rows)

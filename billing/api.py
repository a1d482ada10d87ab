"""Billing API: what a request would cost now, usage reports and invoices (the tenant's own)."""

from __future__ import annotations

import csv
import io

from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from imgplatform.problems import Problem
from imgplatform.renderers import JSONRenderer
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response

from accounts.api import TenantAPIView
from accounts.models import Scope
from billing import selectors, services
from billing.models import Invoice
from generation.schema import ProblemSerializer, problem_responses
from generation.serializers import TaskSubmitSerializer

ERRORS = problem_responses(400, 401, 403, 404)


class CSVRenderer(BaseRenderer):
    """Lets `?format=csv` and `Accept: text/csv` through content negotiation; the views write the
    CSV themselves."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, str | bytes) else ""


# A spreadsheet reads a cell starting with one of these as a formula (=HYPERLINK(...), +cmd|...),
# tab and CR included (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A text cell that a spreadsheet would run as a formula gets a leading ``'`` (shown as text,
    the value otherwise unchanged); numbers, dates and other text pass as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv_response(header: list[str], rows: list[list], filename: str) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_cell(cell) for cell in header])
    writer.writerows([csv_cell(cell) for cell in row] for row in rows)
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- Quote -----------------------------------------------------------------------------------
class _LineSerializer(serializers.Serializer):
    tier = serializers.IntegerField(help_text="0: included images; 1..n: the plan's tiers")
    images = serializers.IntegerField()
    unit_price = serializers.CharField()
    amount = serializers.CharField()


class _CapSerializer(serializers.Serializer):
    cap = serializers.ChoiceField(choices=["tenant", "project", "end_user"])
    limit = serializers.CharField()
    spent = serializers.CharField()
    pending = serializers.CharField()
    remaining = serializers.CharField()


class QuoteSerializer(serializers.Serializer):
    currency = serializers.CharField()
    plan = serializers.CharField()
    images = serializers.IntegerField()
    model = serializers.CharField()
    price_factor = serializers.CharField(help_text="The model's price relative to the plan's price per image")
    billable_images = serializers.IntegerField(
        help_text="What the images are billed as: an image above 1,048,576 pixels counts as ceil(pixels / 1,048,576)"
    )
    amount = serializers.CharField(help_text="The price if delivered now, at this month's volume")
    lines = _LineSerializer(many=True)
    hold = serializers.CharField(help_text="The most it can cost: held on prepaid credit, counted against caps")
    month_images = serializers.IntegerField(help_text="Images delivered to the tenant this month so far")
    caps = _CapSerializer(many=True)
    billing_mode = serializers.CharField()
    credit_available = serializers.CharField(allow_null=True)
    admissible = serializers.BooleanField(help_text="Whether a submit now would be accepted (402 otherwise)")
    refusal = ProblemSerializer(allow_null=True)


@extend_schema_view(
    post=extend_schema(
        operation_id="task_quote",
        summary="What a request would cost now, without running it",
        description="Takes the same body as a submit. Nothing is written or held; a 200 also when the submit "
        "would be refused (see `admissible` and `refusal`).",
        request=TaskSubmitSerializer,
        responses={200: QuoteSerializer, **ERRORS},
    )
)
class QuoteView(TenantAPIView):
    required_scope = Scope.GENERATE  # the price of a submit, asked by who submits

    def post(self, request):
        serializer = TaskSubmitSerializer(data=request.data, context={"default_model": self.client.project.model})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        choices = data["choices"]
        billed = services.Billed(
            images=data["num_images"],
            per_image=choices.billable_per_image,
            factor=settings.MODEL_REGISTRY[choices.model].price,
            model=choices.model,
        )
        quote = services.task_quote(
            tenant=self.tenant, project=self.client.project, end_user=data["end_user"], billed=billed
        )
        return Response(quote)


# --- Usage -----------------------------------------------------------------------------------
class UsageQuerySerializer(serializers.Serializer):
    # "from" is a keyword; the field is renamed below.
    start = serializers.DateField(required=False)
    to = serializers.DateField(required=False)
    group_by = serializers.ChoiceField(choices=list(selectors.GROUPS), default="day")

    def to_internal_value(self, data):
        data = {**{k: data.get(k) for k in ("to", "group_by") if data.get(k)}, "start": data.get("from") or None}
        if data["start"] is None:
            del data["start"]
        return super().to_internal_value(data)


class _UsageRowSerializer(serializers.Serializer):
    day = serializers.DateField(required=False)
    project = serializers.IntegerField(required=False)
    end_user = serializers.CharField(required=False)
    tasks = serializers.IntegerField()
    images = serializers.IntegerField()
    amount = serializers.CharField()


class _UsageTotalSerializer(serializers.Serializer):
    tasks = serializers.IntegerField()
    images = serializers.IntegerField()
    amount = serializers.CharField()


# "from" is a Python keyword, so this one is declared with inline_serializer.
UsageReportSerializer = inline_serializer(
    name="UsageReport",
    fields={
        "from": serializers.DateField(),
        "to": serializers.DateField(),
        "currency": serializers.CharField(),
        "group_by": serializers.CharField(),
        "rows": _UsageRowSerializer(many=True),
        "total": _UsageTotalSerializer(),
    },
)


@extend_schema_view(
    get=extend_schema(
        operation_id="usage_report",
        summary="Usage per day, project or end user (JSON or CSV)",
        description="From the daily rollups. `from`/`to` are dates, both included (default: this month to today). "
        "CSV with `?format=csv` or `Accept: text/csv`. Usage and invoices are the tenant's billing account: "
        "any key with the `billing` scope reads all of it, project-bound or not.",
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE),
            OpenApiParameter("to", OpenApiTypes.DATE),
            OpenApiParameter("group_by", OpenApiTypes.STR, enum=list(selectors.GROUPS)),
            OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "csv"]),
        ],
        responses={200: UsageReportSerializer, **ERRORS},
    )
)
class UsageView(TenantAPIView):
    renderer_classes = [JSONRenderer, CSVRenderer]
    required_scope = Scope.BILLING

    def get(self, request):
        query = UsageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        today = timezone.now().date()
        start = query.validated_data.get("start") or today.replace(day=1)
        end = query.validated_data.get("to") or today
        if end < start:
            raise Problem("invalid_request", "`to` must not be before `from`.")
        if (end - start).days > 366 * 2:
            raise Problem("invalid_request", "A report covers at most two years.")
        group_by = query.validated_data["group_by"]
        report = selectors.usage_report(tenant=self.tenant, start=start, end=end, group_by=group_by)
        report["currency"] = services.plan_for(self.tenant).currency
        if request.accepted_renderer.format == "csv":
            rows = [[row[group_by], row["tasks"], row["images"], row["amount"]] for row in report["rows"]]
            return _csv_response([group_by, "tasks", "images", "amount"], rows, f"usage-{start}-{end}.csv")
        return Response(report)


# --- Invoices --------------------------------------------------------------------------------
class InvoiceLineSerializer(serializers.Serializer):
    project_id = serializers.IntegerField(source="public_project_id", help_text="The project_id tasks show")
    tier = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=5, coerce_to_string=True)
    images = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=5, coerce_to_string=True)


class InvoiceSerializer(serializers.Serializer):
    # Every field declared: inferred integer ranges would depend on the database.
    id = serializers.IntegerField()
    number = serializers.CharField()
    month = serializers.SerializerMethodField()
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=Invoice.Status.choices)
    billing_mode = serializers.ChoiceField(choices=["postpaid", "prepaid"])
    images = serializers.IntegerField()
    total = serializers.DecimalField(max_digits=14, decimal_places=5, coerce_to_string=True)
    lines = InvoiceLineSerializer(many=True)
    issued_at = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    voided_at = serializers.DateTimeField(allow_null=True)

    def get_month(self, invoice) -> str:
        return f"{invoice.period:%Y-%m}"


@extend_schema_view(
    get=extend_schema(
        operation_id="invoice_list", summary="Your invoices", responses={200: InvoiceSerializer(many=True), **ERRORS}
    )
)
class InvoiceListView(TenantAPIView):
    required_scope = Scope.BILLING

    def get(self, request):
        return Response(InvoiceSerializer(selectors.invoice_list(tenant=self.tenant), many=True).data)


@extend_schema_view(
    get=extend_schema(
        operation_id="invoice_get",
        summary="One invoice (JSON, or CSV with ?format=csv)",
        parameters=[OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "csv"])],
        responses={200: InvoiceSerializer, **ERRORS},
    )
)
class InvoiceDetailView(TenantAPIView):
    required_scope = Scope.BILLING
    renderer_classes = [JSONRenderer, CSVRenderer]

    def get(self, request, invoice_id: str):
        invoice = selectors.access_invoice_by_id(tenant=self.tenant, invoice_id=invoice_id)
        if request.accepted_renderer.format == "csv":
            rows = [
                [line.public_project_id, line.tier, line.unit_price, line.images, line.amount]
                for line in invoice.lines.all()
            ]
            rows.append(["total", "", "", invoice.images, invoice.total])
            return _csv_response(
                ["project_id", "tier", "unit_price", "images", "amount"], rows, f"{invoice.number}.csv"
            )
        return Response(InvoiceSerializer(invoice).data)


@extend_schema_view(
    get=extend_schema(
        operation_id="invoice_html",
        summary="One invoice as a printable HTML page (print to PDF from the browser)",
        responses={(200, "text/html"): OpenApiTypes.STR, **ERRORS},
    )
)
class InvoiceHTMLView(TenantAPIView):
    required_scope = Scope.BILLING

    def get(self, request, invoice_id: str):
        invoice = selectors.access_invoice_by_id(tenant=self.tenant, invoice_id=invoice_id)
        html = render_to_string(
            "billing/invoice.html",
            {"invoice": invoice, "tenant": self.tenant, "lines": invoice.lines.select_related("project")},
        )
        return HttpResponse(html, content_type="text/html; charset=utf-8")

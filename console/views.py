"""The console's pages inside the admin: the dashboard and the failures view. Both are wrapped
in ``admin.site.admin_view`` (console/urls.py): staff only, anonymous users go to the login page.

Charts are drawn by console/static/console/charts.js (Chart.js, served from this app's static
files) from a JSON spec embedded with ``json_script``; each chart has a table of the same numbers
next to it."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from console import metrics
from console.queues import rq_status

STATE_COLORS = {
    "queued": "#79aec8",
    "running": "#f0ad4e",
    "succeeded": "#4c9a2a",
    "failed": "#ba2121",
    "cancelled": "#999999",
}
PALETTE = ["#417690", "#f0ad4e", "#16a085", "#8e44ad", "#d35400", "#2c3e50", "#7f8c8d", "#4c9a2a", "#ba2121"]


def _chart(chart_id: str, title: str, labels: list, datasets: list[dict], **options) -> dict:
    return {"id": chart_id, "title": title, "labels": labels, "datasets": datasets, **options}


def _ms(value):
    return None if value is None else round(value, 1)


def dashboard_charts(data: dict) -> list[dict]:
    hourly, daily, revenue = data["hourly"], data["daily"], data["revenue"]
    days = [day.isoformat() for day in revenue["days"]]
    return [
        _by_state(
            "tasks-hourly",
            "Tasks per hour by state",
            [bucket.strftime("%m-%d %H:00") for bucket in hourly["buckets"]],
            hourly,
        ),
        _by_state("tasks-daily", "Tasks per day by state", [b.date().isoformat() for b in daily["buckets"]], daily),
        _chart(
            "failures",
            "Failure rate by error code (% of ended tasks)",
            [entry["code"] for entry in data["summary"]["failures"]],
            [
                {
                    "label": "failure rate %",
                    "data": [round(entry["rate"] * 100, 2) for entry in data["summary"]["failures"]],
                    "color": STATE_COLORS["failed"],
                }
            ],
            horizontal=True,
        ),
        _chart(
            "moderation",
            "Moderation blocks by category (tasks)",
            [f"{entry['stage']}: {entry['category']}" for entry in data["moderation"]],
            [{"label": "tasks blocked", "data": [entry["tasks"] for entry in data["moderation"]], "color": "#8e44ad"}],
            horizontal=True,
        ),
        _chart(
            "timings",
            "Task time by stage (ms)",
            [entry["stage"] for entry in data["timings"]],
            [
                {"label": "p50", "data": [_ms(entry["p50"]) for entry in data["timings"]], "color": "#417690"},
                {"label": "p95", "data": [_ms(entry["p95"]) for entry in data["timings"]], "color": "#f0ad4e"},
            ],
        ),
        _chart("images", "Images delivered per day", days, _per_currency(revenue, "images"), stacked=True),
        _chart("revenue", "Revenue per day", days, _per_currency(revenue, "amount", float, type="line")),
        _chart(
            "tenants",
            "Top tenants (tasks)",
            [entry["name"] for entry in data["tenants"]],
            [
                {
                    "label": "succeeded or other",
                    "data": [entry["tasks"] - entry["failed"] for entry in data["tenants"]],
                    "color": "#417690",
                },
                {"label": "failed", "data": [entry["failed"] for entry in data["tenants"]], "color": "#ba2121"},
            ],
            horizontal=True,
            stacked=True,
        ),
    ]


def _by_state(chart_id: str, title: str, labels: list[str], table: dict) -> dict:
    """Tasks per time bucket, a stacked dataset per state (``metrics.tasks_by_state``)."""
    datasets = [
        {"label": state, "data": [row["counts"][i] for row in table["rows"]], "color": STATE_COLORS[state]}
        for i, state in enumerate(table["states"])
    ]
    return _chart(chart_id, title, labels, datasets, stacked=True)


def _per_currency(revenue: dict, column: str, number=lambda value: value, **options) -> list[dict]:
    """One dataset per currency of ``metrics.revenue_per_day``'s ``column``."""
    return [
        {
            "label": currency,
            "data": [number(row[column]) for row in revenue["rows"] if row["currency"] == currency],
            "color": PALETTE[i % len(PALETTE)],
            **options,
        }
        for i, currency in enumerate(revenue["currencies"])
    ]


def _window_links(request, current: metrics.Window) -> list[dict]:
    return [
        {
            "key": window.key,
            "label": window.label,
            "url": f"{request.path}?window={window.key}",
            "current": window == current,
        }
        for window in metrics.WINDOWS.values()
    ]


def dashboard(request):
    window = metrics.window_for(request.GET.get("window"))
    data = metrics.dashboard(window=window)
    rq = rq_status()
    context = {
        "queue_waits": data["queue_waits"],
        **admin.site.each_context(request),
        "title": "Dashboard",
        "data": data,
        "rq": rq,
        "charts": dashboard_charts(data),
        "windows": _window_links(request, window),
        "failures_url": reverse("console:failures") + f"?window={window.key}",
        "task_changelist": reverse("admin:generation_task_changelist"),
    }
    return render(request, "console/dashboard.html", context)


def failures(request):
    window = metrics.window_for(request.GET.get("window"))
    now = timezone.now()
    data = metrics.failure_groups(start=now - window.span, now=now)
    labels = [day.date().isoformat() for day in data["days"]]
    changelist = reverse("admin:generation_task_changelist")
    for group in data["groups"]:
        group["changelist_url"] = f"{changelist}?{urlencode({'error_code__exact': group['code']})}"
        for example in group["examples"]:
            example["url"] = reverse("admin:generation_task_change", args=[example["pk"]])
        group["sparkline"] = _chart(
            f"trend-{group['code']}",
            f"{group['code']} per day",
            labels,
            [{"label": group["code"], "data": group["trend"], "color": STATE_COLORS["failed"]}],
            sparkline=True,
        )
    trend = _chart(
        "failures-trend",
        "Failed tasks per day by error code",
        labels,
        [
            {"label": group["code"], "data": group["trend"], "color": PALETTE[i % len(PALETTE)]}
            for i, group in enumerate(data["groups"])
        ],
        stacked=True,
    )
    context = {
        **admin.site.each_context(request),
        "title": "Failures",
        "data": data,
        "window": window,
        "windows": _window_links(request, window),
        "charts": [trend] + [group["sparkline"] for group in data["groups"]],
        "dashboard_url": reverse("console:dashboard") + f"?window={window.key}",
    }
    return render(request, "console/failures.html", context)

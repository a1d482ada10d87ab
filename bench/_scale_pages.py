"""The pages bench/scale.py times: every API read of the tenant and every operator page, as
(group, name, client, url, headers). Not a benchmark itself."""

from __future__ import annotations

import base64
from datetime import timedelta
from urllib.parse import urlencode

from _scale_data import COMMON_WORD, RARE_WORD, UNCOMMON_WORD, World


def _cursor_at(moment) -> str:
    """A cursor as DRF's CursorPagination writes it, at ``moment`` (``p``: the created_at)."""
    return base64.b64encode(urlencode({"p": str(moment)}).encode()).decode()


def api_pages(world: World) -> list[tuple[str, str]]:
    day = world.now - timedelta(days=30)
    deep = urlencode({"cursor": _cursor_at(world.now - timedelta(days=60))})
    window = urlencode({"created_after": day.isoformat(), "created_before": (day + timedelta(days=1)).isoformat()})
    year_ago = urlencode(
        {"from": (world.now - timedelta(days=90)).date(), "to": world.now.date(), "group_by": "end_user"}
    )
    return [
        ("tasks", "/api/v2/tasks"),
        ("tasks 100", "/api/v2/tasks?limit=100"),
        ("tasks failed", "/api/v2/tasks?state=failed"),
        ("tasks queued,running", "/api/v2/tasks?state=queued,running"),
        ("tasks one day", f"/api/v2/tasks?{window}"),
        ("tasks cursor 60 d deep", f"/api/v2/tasks?{deep}"),
        ("task", f"/api/v2/task/{world.succeeded_id}"),
        ("usage this month", "/api/v2/usage"),
        ("usage 90 d by end user", f"/api/v2/usage?{year_ago}"),
        ("invoices", "/api/v2/invoices"),
    ]


def admin_pages(world: World) -> list[tuple[str, str]]:
    lists = "/admin/generation/task/"
    week = (world.now - timedelta(days=7)).replace(hour=0, minute=0, second=0, microsecond=0)
    past_week = urlencode({"created_at__gte": str(week), "created_at__lt": str(world.now + timedelta(days=1))})
    month = world.now - timedelta(days=40)
    return [
        ("task list", lists),
        ("task list page 2", f"{lists}?p=2"),
        ("task list page 200", f"{lists}?p=200"),
        ("search id", f"{lists}?q={world.failed_id}"),
        ("search id prefix", f"{lists}?q={world.failed_id[:8]}"),
        (f"search '{COMMON_WORD}'", f"{lists}?q={COMMON_WORD}"),
        (f"search '{UNCOMMON_WORD}'", f"{lists}?q={UNCOMMON_WORD}"),
        (f"search '{RARE_WORD}'", f"{lists}?q={RARE_WORD}"),
        ("search 'red fox watercolor'", f"{lists}?q=red+fox+watercolor"),
        ("filter state failed", f"{lists}?state__exact=failed"),
        ("filter state succeeded", f"{lists}?state__exact=succeeded"),
        ("filter state queued", f"{lists}?state__exact=queued"),
        ("filter error code", f"{lists}?error_code__exact=generation_failed"),
        ("filter model flux-schnell", f"{lists}?model__exact=flux-schnell"),
        ("filter model tiny-flux", f"{lists}?model__exact=tiny-flux"),
        ("filter tenant", f"{lists}?tenant__id__exact={world.tenant_id}"),
        ("filter moderation partial", f"{lists}?moderation__exact=partial"),
        ("filter past 7 days", f"{lists}?{past_week}"),
        ("date drill-down month", f"{lists}?created_at__year={month.year}&created_at__month={month.month}"),
        (
            "date drill-down day",
            f"{lists}?created_at__year={month.year}&created_at__month={month.month}&created_at__day={month.day}",
        ),  # fmt: skip
        ("failed + model + search", f"{lists}?state__exact=failed&model__exact=sdxl&q={COMMON_WORD}"),
        ("task page (succeeded)", f"{lists}{world.succeeded_id}/change/"),
        ("task page (image blocked)", f"{lists}{world.failed_id}/change/"),
        ("usage ledger list", "/admin/billing/usagerecord/"),
        ("dashboard 24h", "/admin/console/?window=24h"),
        ("dashboard 7d", "/admin/console/?window=7d"),
        ("dashboard 30d", "/admin/console/?window=30d"),
        ("failures 24h", "/admin/console/failures/?window=24h"),
        ("failures 7d", "/admin/console/failures/?window=7d"),
        ("failures 30d", "/admin/console/failures/?window=30d"),
    ]


def pages(world: World) -> list[tuple]:
    from django.contrib.auth.models import User
    from django.test import Client

    operator = User.objects.filter(username="scale-ops").first() or User.objects.create_superuser(
        "scale-ops", "ops@example.com", None
    )
    staff, api = Client(), Client()
    staff.force_login(operator)
    key = {"HTTP_AUTHORIZATION": f"Token {world.key}"}
    return [("api", name, api, url, key) for name, url in api_pages(world)] + [
        ("operator", name, staff, url, {}) for name, url in admin_pages(world)
    ]

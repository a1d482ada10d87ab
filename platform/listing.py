"""Admin lists over tables of millions of rows: a paginator that never counts the whole table, the
distinct values of an indexed column read without scanning it, and an index built without
stopping writes.

:class:`EstimatedCountPaginator` counts a list exactly while it is short (a COUNT over at most
``exact_up_to`` + 1 rows, so its cost is bounded whatever the table holds); beyond that it takes
the planner's estimate of the rows (PostgreSQL's statistics, through EXPLAIN: no scan), marks the
count ``estimated`` (the page says "about") and offers at most ``max_pages`` pages (OFFSET reads
every row it skips: a list that long is narrowed with a filter, a search or a date instead).

:func:`distinct_values` reads the distinct values of a column from its B-tree index one jump at a
time (a recursive CTE, "loose index scan"): one index probe per value, however many rows repeat
each one. PostgreSQL and SQLite both run it.
"""

from __future__ import annotations

import json

from django.contrib.postgres.operations import AddIndexConcurrently
from django.core.paginator import Paginator
from django.db import connection
from django.db.migrations import AddIndex
from django.utils.functional import cached_property

EXACT_UP_TO = 1000
MAX_PAGES = 200


class EstimatedCountPaginator(Paginator):
    exact_up_to = EXACT_UP_TO
    max_pages = MAX_PAGES
    estimated = False

    @cached_property
    def count(self) -> int:
        rows = self.object_list.order_by()
        bounded = rows[: self.exact_up_to + 1].count()
        if connection.vendor != "postgresql":  # SQLite: a small database, counted
            return bounded if bounded <= self.exact_up_to else rows.count()
        planned = planned_rows(rows)  # asked either way: a list costs the same queries however long
        if bounded <= self.exact_up_to:
            return bounded
        self.estimated = True
        return max(planned, bounded)

    @cached_property
    def num_pages(self) -> int:
        return min(super().num_pages, self.max_pages)


def planned_rows(queryset) -> int:
    """The rows PostgreSQL's planner expects ``queryset`` to return (EXPLAIN, nothing is read)."""
    plan = json.loads(queryset.explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


def distinct_values(table: str, column: str, *, exclude: str | None = None) -> list:
    """Distinct values of ``column`` in ``table`` in order, one index probe per value (needs an
    index that leads with ``column``); ``exclude`` leaves one value out (e.g. the empty string)."""
    qn = connection.ops.quote_name
    col, tab = qn(column), qn(table)
    keep = f"AND {col} <> %s" if exclude is not None else ""
    params = [exclude, exclude] if exclude is not None else []
    sql = f"""WITH RECURSIVE found(value) AS (
        SELECT (SELECT MIN({col}) FROM {tab} WHERE {col} IS NOT NULL {keep})
        UNION ALL
        SELECT (SELECT MIN({col}) FROM {tab} WHERE {col} > found.value {keep}) FROM found WHERE found.value IS NOT NULL
    ) SELECT value FROM found WHERE value IS NOT NULL"""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


class AddIndexOnline(AddIndexConcurrently):
    """``CREATE INDEX CONCURRENTLY`` on PostgreSQL: the table takes writes while the index builds
    (minutes on millions of tasks); its migration must say ``atomic = False``. Elsewhere (SQLite) a
    plain CREATE INDEX, or nothing with ``postgres_only`` (a GIN index)."""

    def __init__(self, model_name, index, *, postgres_only: bool = False):
        super().__init__(model_name, index)
        self.postgres_only = postgres_only

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        if not self.postgres_only:
            return AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        if not self.postgres_only:
            return AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)

"""The task list's date drill-down without reading the tasks. Django's ``date_hierarchy`` lists the
years, months and days that hold matching tasks with a SELECT DISTINCT over every one of them (half
a second on a million tasks); this one offers every year, month and day between the first and the
last task (two reads of the created_at index), so a period without tasks shows an empty list. The
links and the filtering are Django's own (a created_at range)."""

from __future__ import annotations

import calendar
from datetime import date

from django import template
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

register = template.Library()


def _span(cl) -> tuple | None:
    dates = cl.model._default_manager.order_by(cl.date_hierarchy).values_list(cl.date_hierarchy, flat=True)
    first, last = dates.first(), dates.reverse().first()
    if first is None:
        return None
    return timezone.localtime(first).date(), timezone.localtime(last).date()


def _months(year: int, first: date, last: date) -> list[date]:
    return [
        date(year, m, 1)
        for m in range(1, 13)
        if (year, m) >= (first.year, first.month) and (year, m) <= (last.year, last.month)
    ]


@register.inclusion_tag("admin/date_hierarchy.html")
def task_date_hierarchy(cl) -> dict:
    span = _span(cl)
    if not cl.date_hierarchy or span is None:
        return {"show": False}
    first, last = span
    field = cl.date_hierarchy
    year, month, day = (cl.params.get(f"{field}__{part}") for part in ("year", "month", "day"))
    year, month, day = (int(value) if value else None for value in (year, month, day))
    if not (year or month or day) and first.year == last.year:
        year, month = first.year, (first.month if first.month == last.month else None)

    def link(**parts) -> str:
        return cl.get_query_string({f"{field}__{name}": value for name, value in parts.items()}, [f"{field}__"])

    if year and month and day:
        picked = date(year, month, day)
        back = {
            "link": link(year=year, month=month),
            "title": capfirst(formats.date_format(picked, "YEAR_MONTH_FORMAT")),
        }
        return {
            "show": True,
            "back": back,
            "choices": [{"title": capfirst(formats.date_format(picked, "MONTH_DAY_FORMAT"))}],
        }
    if year and month:
        days = [
            date(year, month, d)
            for d in range(1, calendar.monthrange(year, month)[1] + 1)
            if first <= date(year, month, d) <= last
        ]
        choices = [
            {
                "link": link(year=year, month=month, day=d.day),
                "title": capfirst(formats.date_format(d, "MONTH_DAY_FORMAT")),
            }
            for d in days
        ]
        return {"show": True, "back": {"link": link(year=year), "title": str(year)}, "choices": choices}
    if year:
        choices = [
            {"link": link(year=year, month=m.month), "title": capfirst(formats.date_format(m, "YEAR_MONTH_FORMAT"))}
            for m in _months(year, first, last)
        ]
        return {"show": True, "back": {"link": link(), "title": _("All dates")}, "choices": choices}
    years = range(first.year, last.year + 1)
    return {"show": True, "back": None, "choices": [{"link": link(year=y), "title": str(y)} for y in years]}

"""The operator's task search (the admin's search box), on indexes only:

- a whole task id: the primary key;
- the start of an id (at least 4 hexadecimal digits, dashes allowed): a range of the primary key
  (``3fa8`` finds 3fa80000-... to 3fa8ffff-...), so it reads only the matching ids;
- anything else: words of the prompt, PostgreSQL full text (``websearch_to_tsquery`` with the
  ``english`` configuration: every word must be there, "cats" finds "cat"; "-word" excludes,
  "quoted words" are a phrase) on the GIN index ``task_prompt_search``. Elsewhere (SQLite) every
  word as a case-insensitive substring.

A term of letters a-f alone ("cafe", "faded") could be either: both are searched."""

from __future__ import annotations

import re
import uuid

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Q, QuerySet

SEARCH_CONFIG = "english"
HEX = re.compile(r"^[0-9a-f-]+$", re.IGNORECASE)
MIN_PREFIX = 4


def prompt_vector() -> SearchVector:
    """The expression of the full-text index on prompts; a query must use the same one to use it."""
    return SearchVector("text_data", config=SEARCH_CONFIG)


def id_prefix_range(term: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """The first and last id starting with ``term``, or None when it cannot start an id."""
    digits = term.replace("-", "").lower()
    if not HEX.match(term) or not MIN_PREFIX <= len(digits) <= 32:
        return None
    return uuid.UUID(digits.ljust(32, "0")), uuid.UUID(digits.ljust(32, "f"))


def prompt_words(term: str) -> Q:
    if connection.vendor == "postgresql":
        return Q(prompt_search=SearchQuery(term, config=SEARCH_CONFIG, search_type="websearch"))
    words = [word for word in term.split() if word]
    return Q(*[Q(text_data__icontains=word) for word in words])


def task_search(queryset: QuerySet, term: str) -> QuerySet:
    """``queryset`` narrowed to what ``term`` finds (see the module's docstring)."""
    term = term.strip()
    if not term:
        return queryset
    try:
        return queryset.filter(pk=uuid.UUID(term))
    except ValueError:
        pass
    found = Q()
    bounds = id_prefix_range(term)
    if bounds is not None:
        found |= Q(pk__gte=bounds[0], pk__lte=bounds[1])
    if bounds is None or term.isalpha():
        found |= prompt_words(term)
    if connection.vendor == "postgresql":
        queryset = queryset.alias(prompt_search=prompt_vector())
    return queryset.filter(found)

"""Money in the database: Decimal with five places (prices per image are fractions of a cent).

Shared by billing (the ledger, credit, invoices) and the pages that add it up (the console's
revenue, the admin's usage columns)."""

from __future__ import annotations

from decimal import Decimal

from django.db import models

MONEY = {"max_digits": 14, "decimal_places": 5}
ZERO = Decimal("0")
MONEY_QUANTUM = Decimal("0.00001")  # every amount has 5 decimal places


class MoneySum(models.Sum):
    """``Sum`` of a money column, exact to its 5 places on every database. SQLite sums decimals as
    floats, and Django quantizes only plain columns, so a sum of 0.005s came back as
    0.995000000000001: reconciliation saw differences that are not there, reports showed them."""

    def get_db_converters(self, connection):
        return [*super().get_db_converters(connection), self._quantize]

    @staticmethod
    def _quantize(value, expression, connection):
        return None if value is None else Decimal(value).quantize(MONEY_QUANTUM)

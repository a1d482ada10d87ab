"""python manage.py reconcile_billing [--month YYYY-MM]

Compare the ledger with tasks, rollups, invoices and prepaid credit. Prints every mismatch and
exits 1 if there is any, 0 when the books agree."""

import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from billing.reconcile import reconcile


class Command(BaseCommand):
    help = "Check that ledger, tasks, rollups, invoices and credit agree (exit 1 on any mismatch)."

    def add_arguments(self, parser):
        parser.add_argument("--month", help="YYYY-MM (default: every month)")

    def handle(self, *args, **options):
        period = None
        if options["month"]:
            try:
                year, month = (int(part) for part in options["month"].split("-"))
                period = date(year, month, 1)
            except ValueError:
                raise CommandError("--month must be YYYY-MM")
        problems = reconcile(period=period)
        for problem in problems:
            self.stdout.write(problem)
        if problems:
            self.stderr.write(f"{len(problems)} mismatches")
            sys.exit(1)
        self.stdout.write("ledger, tasks, rollups, invoices and credit agree")

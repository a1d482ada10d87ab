"""python manage.py close_billing_period --month YYYY-MM [--draft]

Invoice every tenant for a month that has ended. Safe to rerun: issued, paid and void invoices are
never touched. Also runs on the 1st of every month from `manage.py run_scheduler`."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from billing.invoicing import billing_period_close


class Command(BaseCommand):
    help = "Build one invoice per tenant for a month that has ended (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--draft", action="store_true", help="leave the invoices as drafts (a preview)")

    def handle(self, *args, **options):
        try:
            year, month = (int(part) for part in options["month"].split("-"))
            period = date(year, month, 1)
        except ValueError:
            raise CommandError("--month must be YYYY-MM")
        try:
            result = billing_period_close(period=period, issue=not options["draft"])
        except ValueError as exc:
            raise CommandError(str(exc))
        self.stdout.write(
            f"{period:%Y-%m}: {result.created} invoices created, {result.rebuilt} drafts rebuilt, "
            f"{result.unchanged} unchanged"
        )

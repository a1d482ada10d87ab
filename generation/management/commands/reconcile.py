"""python manage.py reconcile [--json]

One pass of the reconciler (``generation.reconcile``): tasks whose worker was lost are queued again
or failed with ``worker_lost``; queued tasks whose job Redis lost are enqueued again. Prints what
it did. ``manage.py run_scheduler`` runs it every RECONCILE_INTERVAL seconds."""

import json

from django.core.management.base import BaseCommand

from generation.reconcile import reconcile


class Command(BaseCommand):
    help = "Recover tasks whose worker died and re-enqueue queued tasks whose job Redis lost."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the counts as JSON only")

    def handle(self, *args, **options):
        report = reconcile()
        if not options["json"]:
            for line in report.lines():
                self.stdout.write(line)
        self.stdout.write(json.dumps(report.counts()))

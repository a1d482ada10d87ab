"""python manage.py rollup_tasks [--rebuild] [--since YYYY-MM-DD]

Writes the hourly rollups the operator's pages read (generation/rollups.py) for every closed hour
whose tasks have all ended: after a migration or a restore this back-fills the whole history
(about a minute per million tasks), later it catches up what the scheduler's run (every
ROLLUP_INTERVAL seconds) has not written yet. ``--rebuild`` forgets the rollups first (from
``--since``) and writes them again from the tasks. Until an hour is written the pages read its
tasks: the numbers are the same, only slower."""

import time
from datetime import UTC, datetime

from django.core.management.base import BaseCommand

from generation import rollups


class Command(BaseCommand):
    help = "Write (back-fill) the hourly task rollups of the console's pages."

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="drop the rollups and write them again")
        parser.add_argument("--since", type=datetime.fromisoformat, help="with --rebuild: from this day (UTC) on")

    def handle(self, *args, **options):
        if options["rebuild"]:
            since = options["since"]
            rollups.rebuild(since=since.replace(tzinfo=since.tzinfo or UTC) if since else None)
        started, written = time.monotonic(), 0
        while True:
            run = rollups.rollup_job()
            written += run["written"]
            if not run["hours_left"]:
                break
            self.stdout.write(f"{written} hours written, {run['hours_left']} to go")
        pending = rollups.RollupHour.objects.filter(done=False).count()
        self.stdout.write(
            f"{written} hours written in {time.monotonic() - started:.1f} s; "
            f"{pending} waiting for tasks that have not ended"
        )

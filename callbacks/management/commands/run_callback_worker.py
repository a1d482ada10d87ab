"""python manage.py run_callback_worker [--burst] [--name NAME]

The callback worker: signed POSTs of finished tasks to their callback_url, retried on the
schedule. Run one or more (each attempt is claimed on its row, so workers never double-send)."""

import logging

from django.conf import settings
from django.core.management.base import BaseCommand

from callbacks import worker


class Command(BaseCommand):
    help = "Run a callback worker (queue 'callbacks', with rq's scheduler and the recovery sweep)."

    def add_arguments(self, parser):
        parser.add_argument("--burst", action="store_true", help="exit when nothing is due")
        parser.add_argument("--name", default=None, help="worker name (default host:pid:callbacks)")

    def handle(self, *args, **options):
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
        if not settings.PUBLIC_BASE_URL and settings.IMAGE_STORAGE == "local":
            self.stderr.write("warning: PUBLIC_BASE_URL is not set, so image links in callbacks are relative")
        if settings.CALLBACK_ALLOWED_NETWORKS:
            self.stdout.write(f"callbacks may reach these private networks: {settings.CALLBACK_ALLOWED_NETWORKS}")
        worker.run(burst=options["burst"], name=options["name"])

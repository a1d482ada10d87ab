"""python manage.py recover_callbacks

Put back the callback attempts that Redis or a worker lost (every callback worker also does this
at start and every CALLBACK_RECOVER_INTERVAL seconds)."""

import json

from django.core.management.base import BaseCommand

from callbacks.services import callbacks_recover


class Command(BaseCommand):
    help = "Re-enqueue overdue callback attempts whose job is gone; close attempts whose worker died."

    def handle(self, *args, **options):
        self.stdout.write(json.dumps(callbacks_recover()))

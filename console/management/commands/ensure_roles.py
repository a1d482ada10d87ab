from django.core.management.base import BaseCommand

from console.roles import SUPPORT, ensure_roles


class Command(BaseCommand):
    help = f"Create or update the operator roles ({SUPPORT}: read-only). migrate does this too."

    def handle(self, *args, **options):
        ensure_roles()
        self.stdout.write(f"roles up to date: {SUPPORT}")

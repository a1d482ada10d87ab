import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from accounts.models import Project
from accounts.services import api_key_create


class Command(BaseCommand):
    help = "Create a new API key for a project (the key is printed once)."

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, required=True, help="project id")
        parser.add_argument("--name", default="", help="a label for the key")
        parser.add_argument("--expires", default=None, help="ISO 8601 expiry, e.g. 2027-01-01T00:00:00Z")
        parser.add_argument("--json", action="store_true", help="print {tenant_id, project_id, api_key} as JSON")

    def handle(self, *args, project, name, expires, **options):
        # An operator command: it may name any tenant's project.
        found = Project.unscoped_objects.select_related("tenant").filter(pk=project).first()
        if found is None:
            raise CommandError(f"no project {project}")
        expires_at = parse_datetime(expires) if expires else None
        if expires and expires_at is None:
            raise CommandError(f"--expires: not an ISO 8601 date-time: {expires!r}")
        issued = api_key_create(project=found, name=name, expires_at=expires_at)
        result = {"tenant_id": found.tenant_id, "project_id": found.id, "api_key": issued.raw_key}
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(f"API key for project {found.id} (shown once, store it now): {issued.raw_key}")

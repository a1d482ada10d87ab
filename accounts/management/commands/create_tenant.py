import json

from django.core.management.base import BaseCommand

from accounts.services import tenant_create


class Command(BaseCommand):
    help = "Create a tenant with a default project and its first API key (the key is printed once)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--project", default="Default project", help="name of the first project")
        parser.add_argument("--json", action="store_true", help="print {tenant_id, project_id, api_key} as JSON")

    def handle(self, *args, name, project, **options):
        created = tenant_create(name=name, project_name=project)
        result = {"tenant_id": created.tenant.id, "project_id": created.project.id, "api_key": created.key.raw_key}
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(
                f"tenant {created.tenant.id} ({created.tenant.slug}), project {created.project.id}\n"
                f"API key (shown once, store it now): {created.key.raw_key}"
            )

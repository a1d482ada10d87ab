import json

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Tenant
from accounts.services import project_create


def find_tenant(value: str) -> Tenant:
    """A tenant by id, slug or (unique) name (an operator command: any tenant)."""
    tenant = Tenant.objects.filter(pk=int(value)).first() if value.isdigit() and len(value) < 18 else None
    tenant = tenant or Tenant.objects.filter(slug=value).first()
    if tenant is None:
        named = list(Tenant.objects.filter(name=value)[:2])
        tenant = named[0] if len(named) == 1 else None
    if tenant is None:
        raise CommandError(f"no tenant {value!r} (give its id, slug or name)")
    return tenant


class Command(BaseCommand):
    help = "Create a project of a tenant with its first API key (bound to the project, every scope; printed once)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the project's name")
        parser.add_argument("--tenant", required=True, help="tenant id, slug or name")
        parser.add_argument("--json", action="store_true", help="print {tenant_id, project_id, api_key} as JSON")

    def handle(self, *args, name, tenant, **options):
        if not name.strip():
            raise CommandError("the project needs a name")
        project, issued = project_create(tenant=find_tenant(tenant), name=name.strip())
        result = {"tenant_id": project.tenant_id, "project_id": project.id, "api_key": issued.raw_key}
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(
                f"project {project.id} of tenant {project.tenant_id}\n"
                f"API key (shown once, store it now): {issued.raw_key}"
            )

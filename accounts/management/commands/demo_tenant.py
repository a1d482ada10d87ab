import json

from django.core.management.base import BaseCommand

from accounts.models import Project, Tenant
from accounts.services import api_key_create, tenant_create

DEMO_SLUG = "demo"


class Command(BaseCommand):
    help = "Make sure the demo tenant exists and print a fresh API key for its project (used by `make run`)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(slug=DEMO_SLUG).first()
        if tenant is None:
            created = tenant_create(name="Demo")
            tenant, project, raw = created.tenant, created.project, created.key.raw_key
            if tenant.slug != DEMO_SLUG:
                tenant.slug = DEMO_SLUG
                tenant.save(update_fields=["slug"])
        else:
            project = Project.objects.for_tenant(tenant).order_by("id").first()
            raw = api_key_create(project=project, name="make run").raw_key
        result = {"tenant_id": tenant.id, "project_id": project.id, "api_key": raw}
        self.stdout.write(json.dumps(result) if options["json"] else f"demo API key: {raw}")

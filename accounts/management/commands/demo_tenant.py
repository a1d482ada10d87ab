import json
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiKey, Project, Tenant
from accounts.services import api_key_create, api_key_revoke, tenant_create

DEMO_SLUG = "demo"
DEMO_KEY_NAME = "make run"


class Command(BaseCommand):
    help = (
        "Make sure the demo tenant exists and print an API key for its project (used by `make run`). "
        "The key expires (--ttl-hours, 24 by default) and replaces the earlier demo keys, which are "
        "revoked: a run leaves one working demo key behind, never a pile of keys that never expire."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--ttl-hours", type=float, default=24.0, help="hours until the new key expires")

    @transaction.atomic
    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(slug=DEMO_SLUG).first()
        if tenant is None:
            created = tenant_create(name="Demo", key_name=DEMO_KEY_NAME)
            tenant, project = created.tenant, created.project
            if tenant.slug != DEMO_SLUG:
                tenant.slug = DEMO_SLUG
                tenant.save(update_fields=["slug"])
        else:
            project = Project.objects.for_tenant(tenant).order_by("id").first()
        # Earlier runs' keys (and the one tenant_create just made): revoked. Keys made by hand in
        # the admin or with create_api_key for the demo project carry other names and stay.
        earlier = ApiKey.objects.for_tenant(tenant).filter(name=DEMO_KEY_NAME, revoked_at__isnull=True)
        for key in earlier:
            api_key_revoke(api_key=key)
        expires_at = timezone.now() + timedelta(hours=options["ttl_hours"])
        issued = api_key_create(project=project, name=DEMO_KEY_NAME, expires_at=expires_at)
        result = {
            "tenant_id": tenant.id,
            "project_id": project.id,
            "api_key": issued.raw_key,
            "expires_at": expires_at.isoformat(),
        }
        self.stdout.write(json.dumps(result) if options["json"] else f"demo API key: {issued.raw_key}")

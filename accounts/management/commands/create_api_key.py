import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from accounts.models import Project, Scope
from accounts.services import api_key_create


def scope_list(values: list[str]) -> list[str]:
    """``["read,generate"]`` or ``["read", "generate"]`` -> ["read", "generate"]; an unknown scope
    is an error naming the known ones."""
    scopes = [part.strip() for value in values for part in value.split(",") if part.strip()]
    unknown = [scope for scope in scopes if scope not in Scope.values]
    if unknown or not scopes:
        raise CommandError(f"--scopes: {', '.join(unknown) or 'none given'}; choose from {', '.join(Scope.values)}")
    return scopes


class Command(BaseCommand):
    help = (
        "Create a new API key for a project (the key is printed once). It is bound to the project "
        "(sees only its tasks) unless --tenant-wide, and has every scope unless --scopes names fewer."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, required=True, help="project id")
        parser.add_argument("--name", default="", help="a label for the key")
        parser.add_argument("--expires", default=None, help="ISO 8601 expiry, e.g. 2027-01-01T00:00:00Z")
        parser.add_argument(
            "--scopes",
            nargs="+",
            default=list(Scope.values),
            help=f"comma-separated, out of {','.join(Scope.values)} (default: all)",
        )
        parser.add_argument(
            "--tenant-wide",
            action="store_true",
            help="the named exception: the key sees and acts on every project's tasks of the tenant",
        )
        parser.add_argument(
            "--rate-limit", type=int, default=None, help="own requests per minute, within the tenant's limit"
        )
        parser.add_argument("--json", action="store_true", help="print {tenant_id, project_id, api_key} as JSON")

    def handle(self, *args, project, name, expires, **options):
        # An operator command: it may name any tenant's project.
        found = Project.unscoped_objects.select_related("tenant").filter(pk=project).first()
        if found is None:
            raise CommandError(f"no project {project}")
        expires_at = parse_datetime(expires) if expires else None
        if expires and expires_at is None:
            raise CommandError(f"--expires: not an ISO 8601 date-time: {expires!r}")
        if options["rate_limit"] is not None and options["rate_limit"] < 1:
            raise CommandError("--rate-limit: at least 1")
        try:
            issued = api_key_create(
                project=found,
                name=name,
                expires_at=expires_at,
                scopes=scope_list(options["scopes"]),
                tenant_wide=options["tenant_wide"],
                rate_limit_per_minute=options["rate_limit"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages))
        key = issued.api_key
        result = {
            "tenant_id": found.tenant_id,
            "project_id": found.id,
            "api_key": issued.raw_key,
            "scopes": key.scopes,
            "tenant_wide": key.tenant_wide,
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            reach = "every project of the tenant" if key.tenant_wide else f"project {found.id} only"
            self.stdout.write(
                f"API key for {reach}, scopes {','.join(key.scopes)} (shown once, store it now): {issued.raw_key}"
            )

"""API key authentication: ``authorization: Token <key>`` or ``Bearer <key>`` (any case)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from accounts.models import ApiKey, Project, Tenant
from accounts.services import hash_api_key

SCHEMES = {"token", "bearer"}
# last_used_at is written at most this often per key, so authentication is not a write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class ApiClient:
    """``request.user`` for API calls: who is calling, for which tenant and project."""

    api_key: ApiKey
    tenant: Tenant
    project: Project

    is_authenticated = True
    is_anonymous = False

    @property
    def bound_project(self) -> Project | None:
        """The one project whose tasks this key may see and act on; None for a tenant-wide key."""
        return None if self.api_key.tenant_wide else self.project

    def has_scope(self, scope: str) -> bool:
        return self.api_key.has_scope(scope)


def _parse_key(raw: str) -> str | None:
    """``igk_<key_id>_<secret>`` -> key_id, or None when the shape is wrong."""
    if not raw.startswith(ApiKey.PREFIX):
        return None
    key_id, sep, secret = raw[len(ApiKey.PREFIX) :].partition("_")
    if not sep or not key_id or not secret or len(key_id) > 32:
        return None
    return key_id


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate_header(self, request) -> str:
        return 'Token realm="api"'

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, raw = header.strip().partition(" ")
        raw = raw.strip()
        if scheme.lower() not in SCHEMES or not raw or " " in raw:
            raise exceptions.AuthenticationFailed("Use `authorization: Token <key>` or `Bearer <key>`.")
        key_id = _parse_key(raw)
        key = (
            ApiKey.unscoped_objects.select_related("tenant", "project").filter(key_id=key_id).first()
            if key_id
            else None
        )
        # Compare even when the key id is unknown, so timing does not tell which ids exist.
        expected = key.secret_hash if key else "0" * 64
        if not hmac.compare_digest(hash_api_key(raw), expected) or key is None:
            raise exceptions.AuthenticationFailed("Invalid API key.")
        now = timezone.now()
        if key.is_revoked:
            raise exceptions.AuthenticationFailed("This API key has been revoked.")
        if key.is_expired(now):
            raise exceptions.AuthenticationFailed("This API key has expired.")
        if not key.tenant.is_active:
            raise exceptions.PermissionDenied("This account is suspended.")
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.unscoped_objects.filter(pk=key.pk).update(last_used_at=now)
        return ApiClient(api_key=key, tenant=key.tenant, project=key.project), key


class IsApiClient(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, ApiClient)


class ApiKeySchema(OpenApiAuthenticationExtension):
    """How drf-spectacular describes the API key in the OpenAPI schema."""

    target_class = ApiKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>` or `Bearer <key>` (scheme in any case).",
        }

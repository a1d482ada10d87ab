"""The base for tenant-facing API views, the one place where the API key's rules are enforced:
the tenant (and, for a project-bound key, the project) always comes from the key, the key must
hold the view's scope (403 ``forbidden`` naming it), and every request counts against the
tenant's rate budget (and the key's own limit within it)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from drf_spectacular.openapi import AutoSchema
from imgplatform.problems import Problem
from rest_framework import exceptions
from rest_framework.views import APIView

from accounts import ratelimit
from accounts.authentication import ApiClient, ApiKeyAuthentication, IsApiClient


class ScopedAutoSchema(AutoSchema):
    """Every operation's description says which scope its key needs."""

    def get_description(self):
        description = super().get_description()
        scope = getattr(self.view, "required_scope", None)
        note = f"Needs an API key with the `{scope}` scope." if scope else ""
        return "\n\n".join(part for part in (description, note) if part)


class TenantAPIView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsApiClient]
    schema = ScopedAutoSchema()
    # The scope (accounts.models.Scope) a key needs for this view; every subclass names one.
    required_scope: str | None = None
    rate_decision: ratelimit.Decision | None = None
    # The limiter could not reach Redis in this request (and let it through): work that needs
    # Redis answers 503 at once instead of waiting for it a second time.
    redis_down = False

    @property
    def client(self) -> ApiClient:
        user = self.request.user
        if not isinstance(user, ApiClient):  # fail closed even if permissions were overridden
            raise exceptions.NotAuthenticated("Authentication credentials were not provided.")
        return user

    @property
    def tenant(self):
        return self.client.tenant

    @property
    def bound_project(self):
        """The key's project when it is project-bound, None when tenant-wide: pass it to every
        selector of tasks, so another project's task is a 404 like a missing one."""
        return self.client.bound_project

    def check_scope(self) -> None:
        scope = self.required_scope
        if scope is None:  # fail closed: a view that forgot its scope serves nobody
            raise ImproperlyConfigured(f"{type(self).__name__} names no required_scope")
        if not self.client.has_scope(scope):
            raise Problem(
                "forbidden",
                f"This API key does not have the `{scope}` scope this request needs.",
                scope=scope,
            )

    def initial(self, request, *args, **kwargs):
        """After authentication and permissions, before the handler: the key's scope, then the
        tenant's (and key's) request rate."""
        super().initial(request, *args, **kwargs)
        self.check_scope()
        self.rate_decision = ratelimit.check(self.client)
        self.redis_down = self.rate_decision is None
        if self.rate_decision is not None and not self.rate_decision.allowed:
            raise Problem(
                "rate_limited",
                f"More than {self.rate_decision.limit} requests per minute "
                f"{ratelimit.WHO[self.rate_decision.policy]}; retry in {self.rate_decision.retry_after} s.",
                rate_limit="requests_per_minute",
                limit=str(self.rate_decision.limit),
            )

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.rate_decision is not None:
            for name, value in self.rate_decision.headers().items():
                response.headers.setdefault(name, value)
        return response

"""The base for tenant-facing API views: the tenant always comes from the API key, and every
request counts against the key's rate limit."""

from __future__ import annotations

from imgplatform.problems import Problem
from rest_framework import exceptions
from rest_framework.views import APIView

from accounts import ratelimit
from accounts.authentication import ApiClient, ApiKeyAuthentication, IsApiClient


class TenantAPIView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsApiClient]
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

    def initial(self, request, *args, **kwargs):
        """After authentication and permissions, before the handler: the key's request rate."""
        super().initial(request, *args, **kwargs)
        self.rate_decision = ratelimit.check(self.client)
        self.redis_down = self.rate_decision is None
        if self.rate_decision is not None and not self.rate_decision.allowed:
            raise Problem(
                "rate_limited",
                f"More than {self.rate_decision.limit} requests per minute with this API key; "
                f"retry in {self.rate_decision.retry_after} s.",
                rate_limit="requests_per_minute",
                limit=str(self.rate_decision.limit),
            )

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.rate_decision is not None:
            for name, value in self.rate_decision.headers().items():
                response.headers.setdefault(name, value)
        return response

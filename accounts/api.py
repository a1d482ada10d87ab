"""The base for tenant-facing API views: the tenant always comes from the API key."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.views import APIView

from accounts.authentication import ApiClient, ApiKeyAuthentication, IsApiClient


class TenantAPIView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsApiClient]

    @property
    def client(self) -> ApiClient:
        user = self.request.user
        if not isinstance(user, ApiClient):  # fail closed even if permissions were overridden
            raise exceptions.NotAuthenticated("Authentication credentials were not provided.")
        return user

    @property
    def tenant(self):
        return self.client.tenant

"""The callbacks API: a task's deliveries and attempts; the project's webhook secret. Thin views:
reads in selectors, writes in services; the tenant and project always come from the API key."""

from __future__ import annotations

from dataclasses import asdict

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.response import Response

from accounts.api import TenantAPIView
from accounts.models import Scope
from callbacks import selectors, services
from callbacks.serializers import TaskCallbacksSerializer, WebhookSecretSerializer
from generation import schema
from generation.selectors import access_task_for

PROBLEM = schema.PROBLEM
ERRORS = schema.problem_responses(401, 403)


@extend_schema_view(
    get=extend_schema(
        operation_id="task_callbacks",
        summary="A task's callback deliveries, each with every attempt",
        responses={200: TaskCallbacksSerializer, 404: PROBLEM, **ERRORS},
    )
)
class TaskCallbacksView(TenantAPIView):
    required_scope = Scope.READ

    def get(self, request, task_id: str):
        task = access_task_for(client=self.client, task_id=task_id)
        deliveries = selectors.delivery_list(tenant=self.tenant, task=task)
        return Response(TaskCallbacksSerializer({"task_id": task.id, "deliveries": deliveries}).data)


@extend_schema_view(
    get=extend_schema(
        operation_id="webhook_secret_get",
        summary="The project's webhook secret (verifies callbacks)",
        responses={200: WebhookSecretSerializer, **ERRORS},
    )
)
class WebhookSecretView(TenantAPIView):
    required_scope = Scope.WEBHOOKS

    def get(self, request):
        secret = selectors.webhook_secret_get(project=self.client.project)
        return Response(WebhookSecretSerializer(asdict(secret)).data)


@extend_schema_view(
    post=extend_schema(
        operation_id="webhook_secret_rotate",
        summary="Rotate the project's webhook secret",
        description=(
            "Makes a new secret. For CALLBACK_SECRET_ROTATION_GRACE seconds (24 h by default) every callback "
            "carries two signatures, one per secret, so receivers can switch without losing a message."
        ),
        request=None,
        responses={200: WebhookSecretSerializer, **ERRORS},
    )
)
class WebhookSecretRotateView(TenantAPIView):
    required_scope = Scope.WEBHOOKS

    def post(self, request):
        project = self.client.project
        services.webhook_secret_rotate(project=project)
        return Response(WebhookSecretSerializer(asdict(selectors.webhook_secret_get(project=project))).data)

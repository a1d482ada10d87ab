from django.urls import path

from callbacks import api

urlpatterns = [
    path("task/<str:task_id>/callbacks", api.TaskCallbacksView.as_view(), name="task-callbacks"),
    path("webhook-secret", api.WebhookSecretView.as_view(), name="webhook-secret"),
    path("webhook-secret/rotate", api.WebhookSecretRotateView.as_view(), name="webhook-secret-rotate"),
]

"""The OpenAI-compatible routes, mounted at /v1/ (generation/openai_api.py)."""

from django.urls import path

from generation import openai_api

urlpatterns = [
    path("images/generations", openai_api.image_generations, name="openai-images-generations"),
    path("models", openai_api.OpenAIModelListView.as_view(), name="openai-models"),
    path("models/<str:model_id>", openai_api.OpenAIModelDetailView.as_view(), name="openai-model"),
]

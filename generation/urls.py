from django.urls import path

from generation import api, catalog

urlpatterns = [
    path("task/async", api.TaskAsyncView.as_view(), name="task-async"),
    path("task/sync", api.task_sync, name="task-sync"),
    path("task/<str:task_id>", api.TaskDetailView.as_view(), name="task-detail"),
    path("task/<str:task_id>/events", api.task_events, name="task-events"),
    path("task/<str:task_id>/cancel", api.TaskCancelView.as_view(), name="task-cancel"),
    path("tasks", api.TaskListView.as_view(), name="task-list"),
    path("image/<str:token>", api.ImageFileView.as_view(), name="image-file"),
    path("models", catalog.ModelListView.as_view(), name="model-list"),
]

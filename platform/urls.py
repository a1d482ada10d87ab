from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from imgplatform import health, metrics

urlpatterns = [
    path("api/v2/", include("billing.urls")),  # first: "task/quote" is not a task id
    path("api/v2/", include("generation.urls")),
    path("api/v2/", include("callbacks.urls")),
    path("v1/", include("generation.openai_urls")),  # OpenAI-compatible images
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The "split" view: the Swagger UI set-up is a script file, not inline, so the CSP holds.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),  # loopback, allowed networks or token
    path("admin/rq/", include("console.rq")),  # django-rq's views: staff look, django_rq.admin acts
    path("admin/console/", include("console.urls")),  # dashboard and failures view
    path("admin/", admin.site.urls),
]

handler400 = "imgplatform.problems.handler400"
handler403 = "imgplatform.problems.handler403"
handler404 = "imgplatform.problems.handler404"
handler500 = "imgplatform.problems.handler500"

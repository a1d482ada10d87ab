from django.apps import AppConfig
from django.conf import settings


class GenerationConfig(AppConfig):
    name = "generation"
    verbose_name = "Image generation"

    def ready(self) -> None:
        from imgplatform.offloop import run_sync

        from accounts.signals import tenant_suspended
        from generation import checks, selectors, services, waiters  # noqa: F401 (checks: registers its rules)

        install_model_registry()
        # A suspension (accounts) cancels the tenant's queued tasks, in its transaction.
        tenant_suspended.connect(services.tenant_suspended_cancel, dispatch_uid="generation.tenant_suspended")

        async def sweep(task_ids: list[str]) -> dict[str, dict]:
            return await run_sync(selectors.waited_task_states, task_ids)

        waiters.set_sweep(sweep)


def install_model_registry() -> None:
    """``settings.MODEL_REGISTRY`` (name -> ModelSpec) from GENERATION_MODELS, and one rq queue per
    model in ``settings.RQ_QUEUES`` (configured like "default"), once, when the app starts.

    Here rather than in settings.py: the registry is the engine's (generation/engine/registry.py)
    and the settings import no app. A malformed GENERATION_MODELS raises here, so every process
    (web, workers, commands) refuses to start on it, as a wrong setting should."""
    from generation.engine.registry import build_registry

    registry = build_registry(settings.GENERATION_MODELS)
    settings.MODEL_REGISTRY = registry
    for spec in registry.values():
        settings.RQ_QUEUES.setdefault(spec.queue, dict(settings.RQ_QUEUES["default"]))

from django.apps import AppConfig


class GenerationConfig(AppConfig):
    name = "generation"
    verbose_name = "Image generation"

    def ready(self) -> None:
        from imgplatform.offloop import run_sync

        from generation import selectors, waiters

        async def sweep(task_ids: list[str]) -> dict[str, dict]:
            return await run_sync(selectors.waited_task_states, task_ids)

        waiters.set_sweep(sweep)

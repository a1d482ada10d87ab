from django.apps import AppConfig


class CallbacksConfig(AppConfig):
    name = "callbacks"
    verbose_name = "Callbacks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.signals import tenant_suspended
        from callbacks import services
        from generation.signals import task_ended

        # Neither generation nor accounts imports callbacks: a task's end and a tenant's suspension
        # are announced, and callbacks schedules the message or stops the retries.
        task_ended.connect(services.task_ended_schedule, dispatch_uid="callbacks.task_ended")
        tenant_suspended.connect(services.tenant_suspended_stop, dispatch_uid="callbacks.tenant_suspended")

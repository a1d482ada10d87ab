from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = "Operator console"

    def ready(self):
        from console.roles import ensure_roles_after_migrate

        # After every migrate (and after the test database is flushed): the roles exist and hold
        # the permissions of every model, including ones added since.
        post_migrate.connect(ensure_roles_after_migrate, dispatch_uid="console.ensure_roles")

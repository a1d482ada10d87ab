from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Tenants and keys"

    def ready(self) -> None:
        # The settings' rules (Django system checks), registered by the lowest app.
        from imgplatform import checks  # noqa: F401

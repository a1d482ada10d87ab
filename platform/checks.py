"""Every rule a setting must follow: Django system checks (tag ``settings``).

``platform/settings.py`` only reads values from the environment; what makes a value wrong is said
here, or, for an app's own settings, in that app's ``checks.py`` through :func:`rule` (registered
when the app starts: ``generation/checks.py`` has imagegen.E006 and E007). They are reported the
way Django reports configuration errors: ``manage.py check`` (and ``check --deploy``) lists every
problem at once, every management command (``run_worker``, ``migrate``, ...) refuses to start on
one, and the web process runs the same checks when it starts (``imgplatform.asgi``). Each error
has a stable id, ``imagegen.E0xx``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from imgplatform.ssrf import parse_networks

TAG = "settings"
Rule = Callable[[], Iterator[str]]
RULES: list[tuple[str, Rule]] = []


def rule(check_id: str) -> Callable[[Rule], Rule]:
    """Register a rule: a generator of messages, one per thing wrong."""

    def register(func: Rule) -> Rule:
        RULES.append((check_id, func))
        return func

    return register


@rule("imagegen.E001")
def _environment() -> Iterator[str]:
    if settings.DJANGO_ENV not in ("development", "production"):
        yield "DJANGO_ENV must be 'development' or 'production'"
    if settings.DJANGO_ENV != "production":
        return
    if settings.DEBUG:
        yield "DEBUG must be off when DJANGO_ENV=production"
    key = settings.SECRET_KEY or ""
    if len(key) < 50 or len(set(key)) < 5:
        yield "DJANGO_ENV=production needs SECRET_KEY: 50 or more random characters"
    if not settings.ALLOWED_HOSTS:
        yield "DJANGO_ENV=production needs ALLOWED_HOSTS (comma-separated host names)"


@rule("imagegen.E002")
def _storage() -> Iterator[str]:
    if settings.IMAGE_STORAGE not in settings.IMAGE_STORAGE_BACKENDS:
        yield f"IMAGE_STORAGE must be one of {sorted(settings.IMAGE_STORAGE_BACKENDS)}"
    if settings.IMAGE_STORAGE == "s3" and not settings.IMAGE_STORAGE_BACKENDS["s3"]["OPTIONS"]["bucket_name"]:
        yield "IMAGE_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME"
    if settings.IMAGE_LINK_TTL < 1:
        yield "IMAGE_LINK_TTL must be at least 1 (seconds)"


@rule("imagegen.E003")
def _serving() -> Iterator[str]:
    if settings.SYNC_WAIT_SECONDS < 0:
        yield "SYNC_WAIT_SECONDS must be >= 0"
    if settings.SYNC_MAX_WAITS_PER_PROCESS < 0:
        yield "SYNC_MAX_WAITS_PER_PROCESS must be >= 0"
    if settings.WEB_SYNC_THREADS < 1:
        yield "WEB_SYNC_THREADS must be >= 1"
    if settings.EVENTS_KEEPALIVE_SECONDS <= 0:
        yield "EVENTS_KEEPALIVE_SECONDS must be > 0"
    if settings.DB_CONN_MAX_AGE < 0:
        yield "DB_CONN_MAX_AGE must be >= 0 (seconds; 0 closes the connection after each request)"
    if settings.DB_POOL_MAX_SIZE < 0:
        yield "DB_POOL_MAX_SIZE must be >= 0 (0: no pool)"


@rule("imagegen.E004")
def _reliability() -> Iterator[str]:
    if settings.GENERATION_LEASE_SECONDS <= 0:
        yield "GENERATION_LEASE_SECONDS must be > 0"
    if settings.GENERATION_MAX_ATTEMPTS < 1:
        yield "GENERATION_MAX_ATTEMPTS must be >= 1"
    if settings.RETENTION_INTERVAL < 1:
        yield "RETENTION_INTERVAL must be >= 1"
    if settings.RECONCILE_INTERVAL < 1:
        yield "RECONCILE_INTERVAL must be >= 1"
    if not 0 <= settings.GENERATION_PROGRESS_INTERVAL <= 60:
        yield "GENERATION_PROGRESS_INTERVAL must be between 0 and 60 seconds"


@rule("imagegen.E005")
def _limits() -> Iterator[str]:
    names = ("RATE_LIMIT_PER_MINUTE", "TENANT_MAX_QUEUED_TASKS", "TENANT_MAX_RUNNING_TASKS", "TENANT_MAX_SYNC_WAITS")
    for name in names:
        if getattr(settings, name) < 1:
            yield f"{name} must be at least 1"
    if not 0.1 <= settings.TENANT_RUNNING_RETRY_SECONDS <= 300:
        yield "TENANT_RUNNING_RETRY_SECONDS must be between 0.1 and 300"
    if settings.GENERATION_SCHEDULING not in ("fair", "fifo"):
        yield "GENERATION_SCHEDULING must be fair or fifo"


@rule("imagegen.E008")
def _callbacks() -> Iterator[str]:
    for name in ("CALLBACK_ALLOWED_NETWORKS", "METRICS_ALLOWED_NETWORKS"):
        try:
            parse_networks(getattr(settings, name))
        except ValueError as exc:
            yield f"{name}: {exc}"
    schedule = settings.CALLBACK_RETRY_SCHEDULE
    if not schedule or min(schedule) < 0:
        yield "CALLBACK_RETRY_SCHEDULE must list at least one delay >= 0"
    if not 0 <= settings.CALLBACK_RETRY_JITTER < 1:
        yield "CALLBACK_RETRY_JITTER must be in [0, 1)"
    if settings.CALLBACK_TIMEOUT <= 0:
        yield "CALLBACK_TIMEOUT must be > 0"
    if settings.CALLBACK_CONCURRENCY < 1 or settings.CALLBACK_MAX_PER_RECEIVER < 1:
        yield "CALLBACK_CONCURRENCY and CALLBACK_MAX_PER_RECEIVER must be at least 1"


def settings_errors() -> list[checks.Error]:
    return [
        checks.Error(message, hint="See the README, 'Configuration'.", id=check_id)
        for check_id, func in sorted(RULES, key=lambda entry: entry[0])
        for message in func()
    ]


@checks.register(TAG)
def check_settings(app_configs=None, **kwargs) -> list[checks.Error]:
    return settings_errors()


def require_valid_settings() -> None:
    """For entry points that Django's command runner does not check (the ASGI application):
    refuse to start on a wrong setting, naming every one."""
    errors = settings_errors()
    if errors:
        raise ImproperlyConfigured("; ".join(f"{error.id}: {error.msg}" for error in errors))

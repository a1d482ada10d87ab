"""The web process's entry point (gunicorn with uvicorn's worker: see scripts/run.sh)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imgplatform.settings")
# The web process pools its PostgreSQL connections (platform/settings.py, DB_POOL_MAX_SIZE); 0 turns
# the pool off.
os.environ.setdefault("DB_POOL_MAX_SIZE", "20")
# Without the pool, no persistent connections here: under ASGI a request's synchronous code may run
# on a thread of its own, which would keep its connection open after the request.
os.environ.setdefault("DB_CONN_MAX_AGE", "0")
django.setup(set_prefix=False)  # as django.core.asgi.get_asgi_application does
from imgplatform.offloop import PooledASGIHandler  # noqa: E402

application = PooledASGIHandler()
# manage.py runs the system checks before every command; the web process runs the settings' own.
from imgplatform.checks import require_valid_settings  # noqa: E402

require_valid_settings()


def _no_thread_at_request_start() -> None:
    """Django sends ``request_started`` to its sync receivers (``close_old_connections``,
    ``reset_queries``) through the request's thread-sensitive context: a hop to the sync pool for
    nothing, since under ASGI both receivers have nothing to do at that point (every call on the
    pool closes its connection when it returns). Connections are still
    closed where they are opened: at ``request_finished`` in that thread (sync views), and after each
    call on the sync pool (imgplatform.offloop)."""
    from django.core.signals import request_started
    from django.db import close_old_connections, reset_queries

    request_started.disconnect(close_old_connections)
    request_started.disconnect(reset_queries)


_no_thread_at_request_start()

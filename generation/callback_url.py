"""The submit-time check of a callback_url (generation.serializers.CallbackUrlField calls it).

What can be known at submit is checked at submit: the URL's form, IP literals in any notation,
localhost names, and, when DNS answers within CALLBACK_SUBMIT_DNS_TIMEOUT, the addresses the name
resolves to. A name that does not resolve (or not in time) is accepted: DNS trouble must not lose
a task, the record may not be published yet, and every delivery checks again anyway (the check
that protects is the one made right before connecting).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from imgplatform.ssrf import ResolutionFailed, Resolver, UnsafeURL, check_url, parse_networks, system_resolve

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="callback-dns")
        return _executor


def resolve_within(timeout: float, resolve: Resolver = system_resolve) -> Resolver:
    """``resolve``, but giving up (ResolutionFailed) after ``timeout`` seconds; the lookup itself
    finishes in a small pool of threads, so a hanging DNS cannot hold a request."""

    def bounded(host: str, port: int):
        future = _pool().submit(resolve, host, port)
        try:
            return future.result(timeout=timeout)
        except FutureTimeout:
            raise ResolutionFailed(f"{host}: DNS did not answer within {timeout:g} s") from None

    return bounded


def callback_url_refusal(url: str) -> str | None:
    """Why ``url`` can never be called back, or None if it may be (checked again at delivery)."""
    try:
        check_url(
            url,
            allowed_networks=parse_networks(settings.CALLBACK_ALLOWED_NETWORKS),
            resolve=resolve_within(settings.CALLBACK_SUBMIT_DNS_TIMEOUT),
        )
    except UnsafeURL as exc:
        return exc.reason
    except ResolutionFailed:
        return None
    return None

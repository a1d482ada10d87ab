"""A tenant's suspension, announced to the apps above accounts, which accounts does not import:
generation cancels the tenant's queued tasks, callbacks stops its pending retries.

``tenant_suspended`` is sent once per suspension, inside its transaction, with the tenant's row
locked (so no worker starts one of its tasks meanwhile). Each receiver ends its part of the
tenant's work in that transaction and returns what it stopped as counts, e.g.
``{"tasks_cancelled": 3}``; the suspension records them on its audit row
(``TenantStatusChange``). Receivers connect in their ``AppConfig.ready()``."""

from __future__ import annotations

from django.dispatch import Signal

tenant_suspended = Signal()


def announce_suspension(tenant, *, detail: str) -> dict[str, int]:
    """Inside the suspension's transaction: every receiver's counts, added up."""
    counts: dict[str, int] = {}
    for _receiver, answer in tenant_suspended.send(sender=type(tenant), tenant=tenant, detail=detail):
        for name, number in (answer or {}).items():
            counts[name] = counts.get(name, 0) + number
    return counts

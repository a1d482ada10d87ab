"""What generation asks of the app that bills its tasks, without importing it.

The billing app registers itself here when it starts (``BillingConfig.ready``:
``charging.register(billing.services)``). Generation calls it for what must be decided before a
task may be queued, and for two figures:

- ``task_prices`` at submit, before the tenant's row is locked: what admission reads that no
  submit changes (the plan, its tiers, the month's images), passed on to ``task_admit``, which
  reads it again if it no longer applies on the row it locks;
- ``task_admit`` at submit and at an operator's retry, inside their transaction: caps and
  prepaid credit (402 ``quota_exceeded``), and how much to hold; ``credit_hold`` writes the hold
  once the task row exists (``hold_number=1`` for a new task: its first);
- ``task_release`` when a retry is undone (Redis refused its job): the new hold goes back;
- ``next_image_price`` for the model catalog, ``scheduling_weight`` for fair scheduling.

Charging and releasing at a task's end go through the ``task_ended`` signal instead
(generation/signals.py). Nothing registered means nothing is admitted (``ImproperlyConfigured``): a
deployment must never hand out images unbilled because an app is missing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured


class Admission(Protocol):
    hold: Decimal  # held on prepaid credit and counted against caps while the task is unfinished
    prepaid: bool  # whether the hold is taken from prepaid credit (``credit_hold``)
    mode: str  # the billing mode the task records (it is billed this way whatever happens later)


class Biller(Protocol):
    def task_prices(self, *, tenant) -> Any: ...

    def task_admit(
        self, *, tenant, project, end_user: str, num_images: int, factor: Decimal, prices: Any = None
    ) -> Admission: ...

    def credit_hold(self, *, task, amount: Decimal, hold_number: int | None = None) -> None: ...

    def task_release(self, *, task) -> None: ...

    def next_image_price(self, tenant) -> tuple[Decimal, str]: ...

    def scheduling_weight(self, tenant) -> int: ...


NEEDED = ("task_prices", "task_admit", "credit_hold", "task_release", "next_image_price", "scheduling_weight")
_biller: Any = None


def register(biller: Biller) -> None:
    missing = [name for name in NEEDED if not callable(getattr(biller, name, None))]
    if missing:
        raise ImproperlyConfigured(f"{biller!r} cannot bill tasks: it has no {', '.join(missing)}")
    global _biller
    _biller = biller


def biller() -> Biller:
    if _biller is None:
        raise ImproperlyConfigured("No app bills generation's tasks: the billing app must be in INSTALLED_APPS.")
    return _biller

"""What a finished task costs. Only delivered images are billed: a blocked, failed or cancelled
task, and an image withheld by moderation, cost nothing."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings


def charge_for(*, images_delivered: int) -> Decimal:
    return (Decimal(settings.PRICE_PER_IMAGE) * images_delivered).quantize(Decimal("0.00001"))

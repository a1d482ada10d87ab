"""The plan of tenants that have none assigned, created by a migration and again at run time if an
operator removed every default (a missing plan must never turn a submit into a 500)."""

from __future__ import annotations

from decimal import Decimal

STANDARD_TIERS = [(1000, Decimal("0.00500")), (10000, Decimal("0.00400")), (None, Decimal("0.00300"))]


def ensure_default_plan(plan_model, tier_model):
    """The default plan; "standard" (USD, the tiers above) is created if there is none. Takes the
    models as arguments so the migration can pass its historical ones."""
    plan = plan_model.objects.filter(is_default=True).first()
    if plan is not None:
        return plan
    plan, created = plan_model.objects.get_or_create(
        code="standard", defaults={"name": "Standard", "currency": "USD", "included_images": 0}
    )
    if created:
        tier_model.objects.bulk_create([tier_model(plan=plan, up_to=u, unit_price=p) for u, p in STANDARD_TIERS])
    plan.is_default = True
    plan.save(update_fields=["is_default"])
    return plan

"""The default plan is there after every migrate, and after a flush (which the test runner does
after each transactional test), so nothing that prices a task ever starts without one."""

import pytest
from django.core.management import call_command

from billing.models import Plan


@pytest.mark.django_db(transaction=True)
def test_a_flush_puts_the_default_plan_back():
    call_command("flush", interactive=False, verbosity=0)
    plan = Plan.objects.get(is_default=True)
    assert (plan.code, plan.currency) == ("standard", "USD")
    assert [str(tier.unit_price) for tier in plan.tiers.all()] == ["0.00500", "0.00400", "0.00300"]

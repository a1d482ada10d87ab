from django.apps import AppConfig
from django.db.models.signals import post_migrate


def ensure_default_plan_after_migrate(sender, **kwargs):
    from billing.defaults import ensure_default_plan
    from billing.models import Plan, PriceTier

    ensure_default_plan(Plan, PriceTier)


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self):
        from billing import services
        from generation import charging
        from generation.signals import task_ended

        # The migration creates the default plan; this puts it back after every migrate and after a
        # flush (which the test runner does after each transactional test), so a deployment or a
        # test never starts without one.
        post_migrate.connect(ensure_default_plan_after_migrate, sender=self, dispatch_uid="billing.default_plan")
        # Generation does not import billing: it admits a task through what billing registers here
        # (caps, credit, holds; generation/charging.py) and announces each end, which billing
        # charges or releases in the same transaction.
        charging.register(services)
        task_ended.connect(services.task_ended_bill, dispatch_uid="billing.task_ended")

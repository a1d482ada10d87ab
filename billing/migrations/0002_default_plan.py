from django.db import migrations

from billing.defaults import ensure_default_plan


def create_default_plan(apps, schema_editor):
    ensure_default_plan(apps.get_model("billing", "Plan"), apps.get_model("billing", "PriceTier"))


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(create_default_plan, migrations.RunPython.noop)]

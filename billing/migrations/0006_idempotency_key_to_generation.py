# Idempotent submits moved to generation (generation 0009 takes the model over, table and all):
# billing forgets the model without touching its table.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0005_usage_record_billing_mode'),
        ('generation', '0009_idempotency_key'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='IdempotencyKey')],
            database_operations=[],
        ),
    ]

# The model of idempotent submits moves from billing to generation (the submit's own rule); its
# table stays as it is (billing_idempotencykey): this only changes Django's state.

import django.db.models.deletion
import django.db.models.manager
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0006_tenant_status_change'),
        ('generation', '0008_image_retention'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='IdempotencyKey',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('key', models.CharField(max_length=255)),
                        ('request_hash', models.CharField(max_length=64)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('task', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='generation.task')),
                        ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.tenant')),
                    ],
                    options={
                        'db_table': 'billing_idempotencykey',
                        'abstract': False,
                        'default_manager_name': 'unscoped_objects',
                        'constraints': [models.UniqueConstraint(fields=('tenant', 'key'), name='idempotency_unique_key')],
                    },
                    managers=[
                        ('unscoped_objects', django.db.models.manager.Manager()),
                    ],
                ),
            ],
            database_operations=[],
        ),
    ]

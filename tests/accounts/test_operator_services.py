"""Operator actions go through services that write their audit row (the admin's history entry) in
the same transaction as the change: both commit, or neither."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.db import IntegrityError

from accounts.models import ApiKey, Tenant
from accounts.services import api_key_revoke, tenant_reactivate, tenant_suspend
from billing import services as billing
from billing.models import TenantPlan
from callbacks.services import webhook_secret_rotate
from tests.factories import ProjectFactory, make_key


def history(obj) -> list[tuple[str, str]]:
    return [
        (entry.user.username, entry.change_message)
        for entry in LogEntry.objects.filter(object_id=str(obj.pk), content_type__model=obj._meta.model_name).order_by(
            "action_time", "id"
        )
    ]


@pytest.fixture
def ops(db):
    return User.objects.create_superuser("ops", "ops@example.com", "pw")


@pytest.mark.django_db
def test_each_operator_service_writes_its_audit_row(ops):
    project = ProjectFactory()
    tenant = project.tenant
    assert tenant_suspend(tenant=tenant, actor=ops).changed and not tenant_suspend(tenant=tenant, actor=ops).changed
    assert tenant_reactivate(tenant=tenant, actor=ops)
    make_key(project)
    key = ApiKey.unscoped_objects.get(project=project)
    api_key_revoke(api_key=key, actor=ops)
    api_key_revoke(api_key=key, actor=ops)  # already revoked: nothing changes, nothing recorded
    old_secret = project.webhook_secret
    webhook_secret_rotate(project=project, actor=ops)
    plan = billing.plan_for(tenant)
    billing.tenant_plan_assign(tenant=tenant, plan=plan, actor=ops)
    tenant_history = [message for _, message in history(tenant)]
    assert tenant_history[:2] == ["Suspended.", "Reactivated."]
    assert len(tenant_history) == 3 and tenant_history[2].startswith(f"Plan changed to {plan.code}")
    assert history(key) == [("ops", "Revoked.")]
    assert history(project) == [("ops", "Webhook secret rotated.")]
    assert old_secret not in str(history(project)) and project.webhook_secret not in str(history(project))


@pytest.mark.django_db(transaction=True)
def test_the_change_and_its_audit_row_commit_together():
    """An audit row that cannot be written (its actor does not exist: the foreign key is checked
    at commit) takes the change down with it."""
    tenant = ProjectFactory().tenant
    ghost = User(pk=987654, username="ghost")
    with pytest.raises(IntegrityError):
        tenant_suspend(tenant=tenant, actor=ghost)
    assert Tenant.objects.get(pk=tenant.pk).status == Tenant.Status.ACTIVE
    with pytest.raises(IntegrityError):
        billing.tenant_plan_assign(tenant=tenant, plan=billing.plan_for(tenant), actor=ghost)
    assert not TenantPlan.unscoped_objects.filter(tenant=tenant).exists()
    assert not LogEntry.objects.exists()


@pytest.mark.django_db
def test_the_admins_actions_go_through_the_services(client, ops):
    client.force_login(ops)
    project = ProjectFactory()
    tenant = project.tenant
    client.post("/admin/accounts/tenant/", {"action": "suspend", "_selected_action": [tenant.pk]})
    client.post("/admin/accounts/tenant/", {"action": "reactivate", "_selected_action": [tenant.pk]})
    client.post("/admin/accounts/project/", {"action": "rotate_webhook_secret", "_selected_action": [project.pk]})
    plan = billing.plan_for(tenant)
    response = client.post(
        "/admin/billing/tenantplan/add/",
        {"tenant": tenant.pk, "plan": plan.pk, "starts_at_0": "2026-01-01", "starts_at_1": "00:00:00"},
    )
    assert response.status_code == 302, response.content.decode()[-1500:]
    messages = [message for _, message in history(tenant)]
    assert messages[:2] == ["Suspended.", "Reactivated."] and messages[2].startswith(f"Plan changed to {plan.code}")
    assert len(messages) == 3  # one row per action, none twice
    assert history(project) == [("ops", "Webhook secret rotated.")]
    assert TenantPlan.unscoped_objects.filter(tenant=tenant, plan=plan).count() == 1

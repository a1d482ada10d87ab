"""A project with API keys or tasks cannot change tenant (issue 19: moving one in the admin left
its keys listing the old tenant's tasks). Refused by the admin's form and by the model itself."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from accounts.models import Project
from generation import services
from tests.factories import ProjectFactory, TenantFactory, make_key
from tests.generation.test_limits import api_client

pytestmark = pytest.mark.django_db


def admin_form(project: Project, tenant) -> object:
    request = RequestFactory().get("/")
    request.user = User.objects.filter(username="root").first() or User.objects.create_superuser("root", "", "pw")
    model_admin = admin.site._registry[Project]
    form_class = model_admin.get_form(request, project, change=True)
    data = {
        "tenant": tenant.pk,
        "name": project.name,
        "model": project.model,
        "retention_days": project.retention_days,
        "moderation_policy": "{}",
    }
    return form_class(data=data, instance=project)


def test_the_admin_form_refuses_to_move_a_project_with_keys():
    project, other = ProjectFactory(), TenantFactory()
    make_key(project)
    form = admin_form(project, other)
    assert not form.is_valid()
    assert "cannot move to another tenant" in str(form.errors["tenant"])
    assert Project.unscoped_objects.get(pk=project.pk).tenant_id != other.pk


@pytest.mark.django_db(transaction=True)
def test_a_project_with_tasks_cannot_be_saved_under_another_tenant():
    tenant = TenantFactory()
    client = api_client(tenant)
    services.task_submit(client=client, data=services.TaskInput(text_data="a red door"))
    client.api_key.delete()  # no key left, but a task
    project = Project.unscoped_objects.get(pk=client.project.pk)
    project.tenant = TenantFactory()
    with pytest.raises(ValidationError):
        project.save()
    assert Project.unscoped_objects.get(pk=project.pk).tenant_id == tenant.pk


def test_an_empty_project_may_move_and_renaming_a_busy_one_is_fine():
    empty, other = ProjectFactory(), TenantFactory()
    form = admin_form(empty, other)
    assert form.is_valid(), form.errors
    form.save()
    assert Project.unscoped_objects.get(pk=empty.pk).tenant_id == other.pk
    busy = ProjectFactory()
    make_key(busy)
    busy.name = "renamed"
    busy.save()
    assert admin_form(busy, busy.tenant).is_valid()

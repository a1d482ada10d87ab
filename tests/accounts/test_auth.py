import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import ApiKey, Project, Tenant
from accounts.services import api_key_create, api_key_revoke, hash_api_key
from tests.conftest import problem
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v2/tasks"


def get(client, header=None):
    return client.get(LIST, **({"HTTP_AUTHORIZATION": header} if header is not None else {}))


@pytest.mark.parametrize("scheme", ["Token", "token", "TOKEN", "Bearer", "bearer"])
def test_token_and_bearer_schemes_in_any_case(anon, api_key, scheme):
    assert get(anon, f"{scheme} {api_key}").status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Token",
        "Basic dXNlcjpwYXNz",
        "Token igk_nope_nope",
        "Token not-a-key",
        "Token igk_",
    ],
)
def test_missing_or_bad_credentials_are_401_with_www_authenticate(anon, header):
    response = get(anon, header)
    assert response.status_code == 401
    assert problem(response)["code"] == "unauthenticated"
    assert response["WWW-Authenticate"] == 'Token realm="api"'


def test_right_key_id_with_wrong_secret_is_refused(anon, api_key):
    tampered = api_key[:-4] + ("aaaa" if not api_key.endswith("aaaa") else "bbbb")
    response = get(anon, f"Token {tampered}")
    assert response.status_code == 401
    assert problem(response)["detail"] == "Invalid API key."


def test_revoked_key_is_refused(anon, project):
    issued = api_key_create(project=project)
    assert get(anon, f"Token {issued.raw_key}").status_code == 200
    api_key_revoke(api_key=issued.api_key)
    response = get(anon, f"Token {issued.raw_key}")
    assert response.status_code == 401
    assert "revoked" in problem(response)["detail"]


def test_expired_key_is_refused(anon, project):
    issued = api_key_create(project=project, expires_at=timezone.now() - timedelta(seconds=1))
    response = get(anon, f"Token {issued.raw_key}")
    assert response.status_code == 401
    assert "expired" in problem(response)["detail"]


def test_suspended_tenant_gets_403_and_no_data(anon, project, api_key):
    Tenant.objects.filter(pk=project.tenant_id).update(status=Tenant.Status.SUSPENDED)
    response = get(anon, f"Token {api_key}")
    assert response.status_code == 403
    body = problem(response)
    assert body["code"] == "forbidden"
    assert "results" not in body


def test_only_the_hash_of_a_key_is_stored(project):
    issued = api_key_create(project=project)
    row = ApiKey.unscoped_objects.get(pk=issued.api_key.pk)
    assert row.secret_hash == hash_api_key(issued.raw_key)
    stored = json.dumps([str(getattr(row, f.attname)) for f in ApiKey._meta.fields])
    secret = issued.raw_key.split("_", 2)[2]
    assert secret not in stored
    assert issued.raw_key.startswith(f"igk_{row.key_id}_")


def test_last_used_is_recorded(anon, project):
    issued = api_key_create(project=project)
    assert issued.api_key.last_used_at is None
    get(anon, f"Token {issued.raw_key}")
    issued.api_key.refresh_from_db()
    assert issued.api_key.last_used_at is not None


def test_create_tenant_command_prints_json_with_a_working_key(anon, capsys):
    call_command("create_tenant", "Acme Corp", "--json")
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"tenant_id", "project_id", "api_key"}
    assert Project.unscoped_objects.get(pk=out["project_id"]).tenant_id == out["tenant_id"]
    assert get(anon, f"Token {out['api_key']}").status_code == 200


def test_create_api_key_command(anon, capsys):
    project = ProjectFactory()
    call_command("create_api_key", "--project", str(project.id), "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["project_id"] == project.id and out["tenant_id"] == project.tenant_id
    assert get(anon, f"Token {out['api_key']}").status_code == 200


def test_create_api_key_for_missing_project_fails_cleanly():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no project 999999"):
        call_command("create_api_key", "--project", "999999", "--json")

"""The settings' rules are Django system checks (platform/checks.py): one place, every problem
reported at once with a stable id, and no process starts on a wrong value."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from imgplatform import checks

from tests.test_security import PRODUCTION, manage

pytestmark = pytest.mark.django_db


def errors() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for error in checks.settings_errors():
        found.setdefault(error.id, []).append(error.msg)
    return found


def test_the_test_settings_pass():
    assert errors() == {}
    call_command("check", "--tag", checks.TAG)


@pytest.mark.parametrize(
    ("override", "check_id", "words"),
    [
        ({"DJANGO_ENV": "staging"}, "imagegen.E001", "DJANGO_ENV"),
        ({"DJANGO_ENV": "production", "DEBUG": True}, "imagegen.E001", "DEBUG"),
        ({"IMAGE_STORAGE": "ftp"}, "imagegen.E002", "IMAGE_STORAGE"),
        ({"IMAGE_LINK_TTL": 0}, "imagegen.E002", "IMAGE_LINK_TTL"),
        ({"WEB_SYNC_THREADS": 0}, "imagegen.E003", "WEB_SYNC_THREADS"),
        ({"EVENTS_KEEPALIVE_SECONDS": 0}, "imagegen.E003", "EVENTS_KEEPALIVE_SECONDS"),
        ({"DB_CONN_MAX_AGE": -1}, "imagegen.E003", "DB_CONN_MAX_AGE"),
        ({"GENERATION_MAX_ATTEMPTS": 0}, "imagegen.E004", "GENERATION_MAX_ATTEMPTS"),
        ({"GENERATION_PROGRESS_INTERVAL": 61}, "imagegen.E004", "GENERATION_PROGRESS_INTERVAL"),
        ({"RATE_LIMIT_PER_MINUTE": 0}, "imagegen.E005", "RATE_LIMIT_PER_MINUTE"),
        ({"TENANT_RUNNING_RETRY_SECONDS": 0}, "imagegen.E005", "TENANT_RUNNING_RETRY_SECONDS"),
        ({"DEFAULT_MODEL": "nope"}, "imagegen.E006", "DEFAULT_MODEL"),
        ({"MODERATION_IMAGE_THRESHOLDS": {"FACE_FEMALE": 7}}, "imagegen.E007", "MODERATION_IMAGE_THRESHOLDS"),
        ({"MODERATION_TERMS_FILE": "/no/such/terms.json"}, "imagegen.E007", "MODERATION_TERMS_FILE"),
        ({"CALLBACK_ALLOWED_NETWORKS": ["10.0.0.0/8", "intranet"]}, "imagegen.E008", "intranet"),
        ({"CALLBACK_RETRY_SCHEDULE": []}, "imagegen.E008", "CALLBACK_RETRY_SCHEDULE"),
        ({"CALLBACK_RETRY_JITTER": 1.5}, "imagegen.E008", "CALLBACK_RETRY_JITTER"),
    ],
)
def test_each_wrong_setting_is_an_error_naming_it(settings, override, check_id, words):
    for name, value in override.items():
        setattr(settings, name, value)
    found = errors()
    assert list(found) == [check_id] and any(words in message for message in found[check_id]), found
    with pytest.raises(SystemCheckError, match=check_id):
        call_command("check", "--tag", checks.TAG)
    with pytest.raises(ImproperlyConfigured, match=words):
        checks.require_valid_settings()


def test_every_problem_is_reported_at_once(settings):
    settings.RATE_LIMIT_PER_MINUTE = 0
    settings.CALLBACK_RETRY_JITTER = 2
    settings.WEB_SYNC_THREADS = 0
    assert set(errors()) == {"imagegen.E003", "imagegen.E005", "imagegen.E008"}


def test_a_command_refuses_to_start_on_a_wrong_environment_variable():
    result = manage("check", RATE_LIMIT_PER_MINUTE="0")
    assert result.returncode != 0 and "imagegen.E005" in result.stderr and "RATE_LIMIT_PER_MINUTE" in result.stderr
    production = manage("check", "--deploy", "--fail-level", "WARNING", **{**PRODUCTION, "CALLBACK_TIMEOUT": "0"})
    assert production.returncode != 0 and "CALLBACK_TIMEOUT" in production.stderr


def test_the_web_process_refuses_to_start_on_a_wrong_setting():
    result = manage("shell", "-c", "import imgplatform.asgi", TENANT_MAX_SYNC_WAITS="0")
    assert result.returncode != 0 and "TENANT_MAX_SYNC_WAITS" in result.stderr


def test_the_readme_lists_every_variable_the_settings_read():
    import re

    from tests.conftest import ROOT

    source = (ROOT / "platform" / "settings.py").read_text()
    read = set(re.findall(r"""[eE]nv(?:\(\))?\.\w+\(\s*"([A-Z][A-Z0-9_]+)\"""", source))
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Configuration") : readme.index("## Architecture")]
    listed = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table))
    assert len(read) > 40 and read - listed == set()

"""callback_url at submit: refused with the SSRF rule's reason wherever that can be known without
the customer's DNS (which is checked too, within CALLBACK_SUBMIT_DNS_TIMEOUT, when it answers)."""

import time

import pytest
from imgplatform.ssrf import ResolutionFailed, UnsafeURL, check_url

from generation.callback_url import resolve_within
from generation.models import Task
from tests.callbacks.test_ssrf import REFUSED
from tests.conftest import problem

pytestmark = pytest.mark.django_db
URL = "/api/v2/task/async"


def _no_dns(host, port):
    raise ResolutionFailed("no DNS in this check")


def _refused_without_dns(url: str) -> bool:
    try:
        check_url(url, resolve=_no_dns)
    except UnsafeURL:
        return True
    except ResolutionFailed:
        return False
    return False


SUBMIT_REFUSED = [(url, why) for url, why in REFUSED if _refused_without_dns(url)]


def test_most_of_the_table_is_refused_at_submit():
    assert len(SUBMIT_REFUSED) >= 50  # all but the names only the test resolver knows


@pytest.mark.parametrize("url,why", SUBMIT_REFUSED, ids=[u for u, _ in SUBMIT_REFUSED])
def test_refused_at_submit_naming_the_rule(api, project, url, why):
    response = api.post(URL, {"text_data": "a house", "callback_url": url}, format="json")
    assert response.status_code == 400, response.content
    body = problem(response)
    assert body["code"] == "invalid_request"
    (message,) = body["errors"]["callback_url"]
    assert message.startswith("callback_url is not allowed: ") and why in message
    assert not Task.objects.for_tenant(project.tenant).exists()


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hooks/images",  # the seed request's
        "https://no-such-host.invalid/hook",  # does not resolve now: checked again at delivery
        "http://93.184.216.34:8080/hook",
        "https://[2606:4700:4700::1111]/hook",
    ],
)
def test_public_or_unresolvable_names_are_accepted(api, url):
    response = api.post(URL, {"text_data": "a house", "callback_url": url}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["callback_url"] == url


def test_allowed_private_networks_apply_at_submit(api, settings):
    body = {"text_data": "a house", "callback_url": "http://127.0.0.1:9000/hook"}
    assert api.post(URL, body, format="json").status_code == 400
    settings.CALLBACK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert api.post(URL, body, format="json").status_code == 200
    refused = api.post(URL, {**body, "callback_url": "http://10.0.0.1/hook"}, format="json")
    assert "10.0.0.1 is a private address" in problem(refused)["errors"]["callback_url"][0]


def test_a_slow_dns_answer_does_not_hold_the_submission():
    def slow_dns(host, port):
        time.sleep(2)
        return ["10.0.0.1"]

    def quick_dns(host, port):
        return ["10.0.0.1"]

    started = time.monotonic()
    with pytest.raises(ResolutionFailed, match="did not answer within 0.2 s"):
        resolve_within(0.2, slow_dns)("hooks.customer.test", 443)
    assert time.monotonic() - started < 1
    assert resolve_within(0.2, quick_dns)("hooks.customer.test", 443) == ["10.0.0.1"]

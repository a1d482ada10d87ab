"""Browser tests: Playwright drives the system's headless Chromium (Debian's package, found on the
PATH or at CHROMIUM_PATH; Playwright never downloads a browser here) against pytest-django's live
server, which serves the admin and its static files from this test's database.

Every page a test opens is held to two rules: no request may leave the machine (charts and scripts
are served locally, never from a CDN) and no script may throw."""

from __future__ import annotations

import os
import shutil
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a thread
# with a running loop unless told that this is deliberate (the tests' ORM calls are synchronous).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery staple"


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.browser)


# Per module, not per session: Playwright's sync API keeps an event loop running in this thread
# while it is open, and a later test module that calls an async view (/task/sync, event streams)
# through Django's sync test client must not find one there.
@pytest.fixture(scope="module")
def browser():
    path = chromium_path()
    if path is None:
        message = "no Chromium found (install Debian's 'chromium' with `make browser` or set CHROMIUM_PATH)"
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageWatch:
    """What a page did that it must not: requests to other hosts, uncaught script errors."""

    def __init__(self, origin: str):
        self.origin = origin
        self.external: list[str] = []
        self.errors: list[str] = []

    def route(self, route):
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).netloc == self.origin:
            route.continue_()
        else:
            self.external.append(url)
            route.abort()

    def check(self) -> None:
        assert not self.external, f"the page asked other hosts for {self.external}"
        assert not self.errors, f"scripts on the page threw: {self.errors}"


@pytest.fixture
def new_page(browser, live_server):
    """``new_page(user=None)``: a fresh browser context on the live server, logged in as ``user``
    through the admin's login form when given. Checks every page at the end of the test."""
    contexts, watches = [], []

    def open_page(user: User | None = None, *, viewport=None, bypass_csp: bool = False):
        context = browser.new_context(
            base_url=live_server.url, viewport=viewport or {"width": 1400, "height": 900}, bypass_csp=bypass_csp
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        watch = PageWatch(urlsplit(live_server.url).netloc)
        watches.append(watch)
        context.route("**/*", watch.route)
        page = context.new_page()
        page.on("pageerror", lambda error: watch.errors.append(str(error)))
        page.watch = watch
        if user is not None:
            login(page, user.username)
        return page

    yield open_page
    for context in contexts:
        context.close()
    for watch in watches:
        watch.check()


def login(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")


@pytest.fixture
def operator(transactional_db) -> User:
    """A superuser: the platform's operator."""
    return User.objects.create_superuser("operator", "ops@example.com", PASSWORD)


@pytest.fixture
def admin_page(new_page, operator):
    return new_page(operator)

"""The Content-Security-Policy in a real browser: the Swagger UI and the admin's pages (console
charts included) work under it, and the browser reports no violation."""

import pytest
from playwright.sync_api import expect


def watch_csp(page) -> list[str]:
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    return violations


def test_the_swagger_ui_renders_under_the_csp(new_page, transactional_db):
    page = new_page()
    violations = watch_csp(page)
    response = page.goto("/api/docs/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Image generation API")
    expect(page.locator(".opblock").first).to_be_visible()
    assert violations == []


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/console/", "/admin/accounts/tenant/add/", "/admin/generation/task/"]
)
def test_admin_pages_work_under_the_csp(admin_page, path):
    violations = watch_csp(admin_page)
    response = admin_page.goto(path)
    assert response.status == 200 and "frame-ancestors 'none'" in response.headers["content-security-policy"]
    admin_page.wait_for_load_state("networkidle")
    assert violations == []


def test_a_violation_is_seen(admin_page):
    """The watch really hears the browser refuse something (so the silence above means something)."""
    violations = watch_csp(admin_page)
    admin_page.goto("/admin/")
    admin_page.evaluate("document.body.appendChild(Object.assign(document.createElement('script'), {text: '1'}))")
    admin_page.wait_for_timeout(200)
    assert any("script-src" in v for v in violations)

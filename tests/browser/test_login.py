"""The admin in a real browser: logging in, and the rules every page is held to."""

from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD


def test_operator_logs_in_and_sees_the_admin(admin_page):
    assert admin_page.url.endswith("/admin/")
    expect(admin_page.locator("#site-name")).to_be_visible()
    expect(admin_page.get_by_role("link", name="Tasks").first).to_be_visible()


def test_wrong_password_stays_on_the_login_page(new_page, operator):
    page = new_page()
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", operator.username)
    page.fill("#id_password", "wrong")
    page.click("input[type=submit]")
    expect(page.locator(".errornote")).to_be_visible()
    assert "/admin/login/" in page.url


def test_a_request_to_another_host_fails_the_page_check(new_page, operator):
    """The guard that keeps CDNs out really trips (so the other tests' silence means something).
    The page's Content-Security-Policy alone refuses such a request before it leaves (see
    test_csp.py), so this page bypasses it to reach the guard."""
    page = new_page(operator, bypass_csp=True)
    page.evaluate("fetch('https://cdn.example.com/chart.js').catch(() => null)")
    page.wait_for_timeout(200)
    assert page.watch.external == ["https://cdn.example.com/chart.js"]
    page.watch.external.clear()


def test_a_customer_without_staff_status_cannot_log_in(new_page, django_user_model):
    django_user_model.objects.create_user("customer", password=PASSWORD)
    page = new_page()
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", "customer")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator(".errornote")).to_be_visible()
    assert "/admin/login/" in page.url

"""`make screenshots`: docs/screenshots/dashboard.png and task.png from a throwaway service.

Builds a temporary SQLite database (never the developer's: DATABASE_URL is overridden), fills it
with two weeks of demo traffic through console.demo (billing through the real ledger service),
starts the web server on a free loopback port, and photographs the pages with Playwright driving
the system Chromium (nothing is downloaded). Redis: SCREENSHOTS_REDIS_URL (default database 14 of
the local Redis) shows a few queued jobs and one worker; the script empties that queue and
retires that worker at the end. Without Redis the dashboard says so, and the screenshot shows it."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
USER, PASSWORD = "operator", "screenshots only"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium() -> str:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and (found := shutil.which(candidate)):
            return found
    sys.exit("no Chromium found: `make browser` installs Debian's, or set CHROMIUM_PATH")


def setup_environment(tmp: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "VAR_DIR": str(tmp),
        "MEDIA_ROOT": str(tmp / "media"),
        "REDIS_URL": os.environ.get("SCREENSHOTS_REDIS_URL", "redis://127.0.0.1:6379/14"),
        "SECRET_KEY": "screenshots-only-" + os.urandom(8).hex(),
        "DJANGO_SETTINGS_MODULE": "imgplatform.settings",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    return env


def demo_png(index: int) -> bytes:
    """A 1024x1024 stand-in picture (a soft gradient), so the task page has real thumbnails."""
    from PIL import Image, ImageDraw

    hues = [(65, 118, 144), (240, 173, 78), (76, 154, 42), (142, 68, 173)]
    top, bottom = hues[index % 4], hues[(index + 1) % 4]
    image = Image.new("RGB", (1024, 1024))
    draw = ImageDraw.Draw(image)
    for y in range(1024):
        f = y / 1023
        draw.line([(0, y), (1023, y)], fill=tuple(int(a + (b - a) * f) for a, b in zip(top, bottom, strict=True)))
    draw.ellipse([312, 312, 712, 712], fill=(250, 250, 250))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def seed() -> str:
    """Tenants, plans and two weeks of tasks; returns the id of the task to photograph."""
    import django

    django.setup()
    from datetime import timedelta
    from decimal import Decimal

    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.utils import timezone

    from accounts.models import Tenant
    from accounts.services import tenant_create
    from billing.models import Plan, PriceTier, TenantPlan
    from console.demo import record_task, seed_demo, timings
    from generation import storage
    from generation.models import Task

    call_command("migrate", verbosity=0)
    User.objects.create_superuser(USER, "ops@example.com", PASSWORD)
    names = ["Northwind Media", "Acme Creative", "Blue Heron Games", "Kestrel Print", "Lumen Labs", "Orchid Apps"]
    projects = [tenant_create(name=name).project for name in names]
    euro = Plan.objects.create(code="eu", name="Europe", currency="EUR", included_images=0)
    PriceTier.objects.create(plan=euro, up_to=None, unit_price=Decimal("0.00450"))
    TenantPlan.unscoped_objects.create(
        tenant=projects[1].tenant, plan=euro, starts_at=timezone.now() - timedelta(days=60)
    )
    Tenant.objects.filter(pk=projects[-1].tenant_id).update(status=Tenant.Status.SUSPENDED)
    written = seed_demo(projects, days=14, per_day=45)
    import random

    rng = random.Random(3)
    task = record_task(
        projects[0],
        state=Task.State.SUCCEEDED,
        created_at=timezone.now() - timedelta(minutes=12),
        timings_ms=timings(rng, queue_wait=240.0, generation=910.0),
        delivered=3,
        flagged=[["FEMALE_BREAST_EXPOSED"]],
        text="modern architecture house, golden hour, wide angle",
    )
    for image in task.images.all():
        if image.storage_path:
            storage.save_image(image.storage_path, demo_png(image.index))
    print(f"seeded {written + 1} tasks for {len(projects)} tenants")
    return str(task.pk)


def fill_redis() -> list:
    """A few queued jobs and one registered worker, so the rq part has something to show."""
    import django_rq
    from django.conf import settings
    from redis.exceptions import RedisError
    from rq import Worker

    try:
        queue = django_rq.get_queue(settings.MODEL_REGISTRY["tiny"].queue)
        for i in range(3):
            queue.enqueue("generation.jobs.run_generation", f"demo-{i}")
        worker = Worker([queue], connection=queue.connection, name="gpu-0.demo")
        worker.register_birth()
        worker.set_state("idle")
        worker.heartbeat()
        return [queue, worker]
    except RedisError as exc:
        print(f"no Redis ({exc}); the dashboard will say so")
        return []


def clean_redis(added: list) -> None:
    if added:
        queue, worker = added
        queue.empty()
        worker.register_death()


def wait_for(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("the server exited")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    sys.exit("the server did not start")


def photograph(base: str, task_id: str) -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), headless=True, args=["--no-sandbox"])
        page = browser.new_page(base_url=base, viewport={"width": 1400, "height": 900})
        page.goto("/admin/login/?next=/admin/")
        page.fill("#id_username", USER)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url("**/admin/")
        page.goto("/admin/console/?window=7d")
        page.wait_for_selector("body[data-charts-ready='1']")
        page.screenshot(path=str(OUT / "dashboard.png"), full_page=True)
        page.goto(f"/admin/generation/task/{task_id}/change/")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(OUT / "task.png"), full_page=True)
        browser.close()
    print(f"wrote {OUT / 'dashboard.png'} and {OUT / 'task.png'}")


def main() -> None:
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory(prefix="imagegen-screenshots-") as tmp:
        env = setup_environment(Path(tmp))
        task_id = seed()
        added = fill_redis()
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", "--insecure", f"127.0.0.1:{port}"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(f"{base}/healthz", server)
            photograph(base, task_id)
        finally:
            server.terminate()
            server.wait(timeout=15)
            clean_redis(added)


if __name__ == "__main__":
    main()

"""Retention: the periodic job deletes the files of images older than their project's
retention_days, their links answer 410 `gone`, and the task keeps its record."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from billing.management.commands.run_scheduler import build_scheduler
from generation.models import Image, Task
from generation.retention import images_expire
from tests.conftest import images_of, poll, problem, submit
from tests.generation.test_s3_storage import s3  # noqa: F401 - the moto-backed bucket fixture

pytestmark = pytest.mark.django_db(transaction=True)


def age(task_id: str, days: int) -> None:
    Task.unscoped_objects.filter(pk=task_id).update(finished_at=timezone.now() - timedelta(days=days))


def test_expired_images_are_deleted_and_their_links_are_gone(api, anon, project, run_worker):
    project.retention_days = 7
    project.save()
    old, recent = submit(api, {"text_data": "a house", "options": {"num_images": 2}}), submit(api)
    run_worker()
    links = [image["url"].removeprefix("http://testserver") for image in images_of(poll(api, old["id"]))]
    age(old["id"], 8)
    age(recent["id"], 6)
    root = Path(django_settings.STORAGES["images"]["OPTIONS"]["location"])
    assert len(list(root.glob(f"**/{old['id']}/*"))) == 2

    assert images_expire() == 2
    assert images_expire() == 0  # nothing left to do: the job can run again at any time
    assert list(root.glob(f"**/{old['id']}/*")) == []
    for link in links:
        response = anon.get(link)
        assert response.status_code == 410 and problem(response)["code"] == "gone"
    task = poll(api, old["id"])
    assert task["state"] == "succeeded" and task["status"][0]["response"]["input"]["charge"] == "0.01000"
    assert [(i["message"], bool(i.get("expired_on"))) for i in images_of(task)] == [("410", True)] * 2
    assert all(row.expired_at for row in Image.unscoped_objects.filter(task_id=old["id"]))
    # The recent task (6 days, within 7) is untouched.
    assert {i["message"] for i in images_of(poll(api, recent["id"]))} == {"200"}
    assert anon.get(images_of(poll(api, recent["id"]))[0]["url"].removeprefix("http://testserver")).status_code == 200


def test_expired_images_leave_the_bucket(api, project, run_worker, s3):  # noqa: F811
    project.retention_days = 1
    project.save()
    task = submit(api, {"text_data": "a house", "options": {"num_images": 2}})
    run_worker()
    assert s3.list_objects_v2(Bucket="images")["KeyCount"] == 2
    age(task["id"], 2)
    assert images_expire() == 2
    assert s3.list_objects_v2(Bucket="images")["KeyCount"] == 0
    assert [i["message"] for i in images_of(poll(api, task["id"]))] == ["410", "410"]


def test_the_scheduler_runs_retention_periodically(redis_conn):
    jobs = {job.func_name: job for job in build_scheduler(redis_conn).get_jobs()}
    assert jobs["generation.retention.retention_job"].interval == django_settings.RETENTION_INTERVAL

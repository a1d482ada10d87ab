"""python manage.py run_scheduler

rq's cron scheduler with the platform's periodic jobs (they run on the "default" queue, so a
worker must listen there: `make run` starts one). Jobs: closing the previous billing month at 01:00
UTC on the 1st."""

import logging

import django_rq
from django.core.management.base import BaseCommand
from rq.cron import CronScheduler

from billing.jobs import CLOSE_PERIOD_CRON, close_previous_period

SCHEDULE = [(close_previous_period, "default", CLOSE_PERIOD_CRON)]


def build_scheduler(connection) -> CronScheduler:
    scheduler = CronScheduler(connection=connection)
    for func, queue, cron in SCHEDULE:
        scheduler.register(func, queue, cron=cron)
    return scheduler


class Command(BaseCommand):
    help = "Run rq's cron scheduler with the platform's periodic jobs."

    def handle(self, *args, **options):
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
        scheduler = build_scheduler(django_rq.get_connection("default"))
        for job in scheduler.get_jobs():
            self.stdout.write(
                f"scheduled {job.func_name} on {job.queue_name}: {job.cron} (next {job.next_enqueue_time})"
            )
        scheduler.start()

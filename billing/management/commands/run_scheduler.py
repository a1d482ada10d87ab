"""python manage.py run_scheduler

rq's cron scheduler with the platform's periodic jobs (they run on the "default" queue, so a
worker must listen there: `make run` starts one). Jobs: closing the previous billing month at 01:00
UTC on the 1st; the task reconciler (generation/reconcile.py) every RECONCILE_INTERVAL seconds;
retention (generation/retention.py) every RETENTION_INTERVAL seconds; the hourly task rollups of the
console's pages (generation/rollups.py) every ROLLUP_INTERVAL seconds."""

import contextlib
import logging
import signal

import django_rq
from django.conf import settings
from django.core.management.base import BaseCommand
from rq.cron import CronScheduler
from rq.exceptions import SchedulerNotFound, StopRequested

from billing.jobs import CLOSE_PERIOD_CRON, close_previous_period
from generation.reconcile import reconcile_job
from generation.retention import retention_job
from generation.rollups import rollup_job

# (function, queue, cron expression or None, interval in seconds or None)
SCHEDULE = [
    (close_previous_period, "default", CLOSE_PERIOD_CRON, None),
    (reconcile_job, "default", None, "RECONCILE_INTERVAL"),
    (retention_job, "default", None, "RETENTION_INTERVAL"),
    (rollup_job, "default", None, "ROLLUP_INTERVAL"),
]


def build_scheduler(connection) -> CronScheduler:
    scheduler = CronScheduler(connection=connection)
    for func, queue, cron, interval_setting in SCHEDULE:
        if cron:
            scheduler.register(func, queue, cron=cron)
        else:
            interval = getattr(settings, interval_setting)
            # A run that outlives the next one is pointless: the next would find the same rows.
            scheduler.register(func, queue, interval=interval, job_timeout=max(interval, 30), ttl=interval)
    return scheduler


def _request_stop(signum, frame):
    raise StopRequested()


class Command(BaseCommand):
    help = "Run rq's cron scheduler with the platform's periodic jobs."

    def handle(self, *args, **options):
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
        # A stop (SIGTERM from a container stop, Ctrl-C) is a clean exit from the first line on. rq's
        # start() installs the same handler but registers the scheduler's birth outside its own
        # try, so a signal there, or before start(), escaped as a traceback and exit status 1.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, _request_stop)
        scheduler = None
        try:
            scheduler = build_scheduler(django_rq.get_connection("default"))
            for job in scheduler.get_jobs():
                every = job.cron or f"every {job.interval} s"
                self.stdout.write(
                    f"scheduled {job.func_name} on {job.queue_name}: {every} (next {job.next_enqueue_time})"
                )
            scheduler.start()
        except StopRequested:
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, signal.SIG_IGN)  # a second signal must not cut the clean-up short
            if scheduler is not None:
                with contextlib.suppress(SchedulerNotFound):  # never born, or rq's loop already said so
                    scheduler.register_death()

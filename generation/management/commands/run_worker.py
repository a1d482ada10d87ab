"""python manage.py run_worker [--model NAME] [--burst]

One generation worker: loads its model and the image moderation detectors once, then runs jobs
from that model's queue in this process. Run one per GPU (CUDA_VISIBLE_DEVICES picks the card).
A thread takes back, every RECONCILE_INTERVAL seconds, runs whose lease expired (any worker's)."""

import logging

import django_rq
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from generation.reconcile import LostRunSweeper
from generation.worker import GenerationWorker, load_engine, worker_identity
from moderation.checks import load_image_moderator


class Command(BaseCommand):
    help = "Run a generation worker for one model (model loaded once, jobs run in-process)."

    def add_arguments(self, parser):
        parser.add_argument("--model", default=None, help="registry name (default: DEFAULT_MODEL)")
        parser.add_argument("--burst", action="store_true", help="exit when the queue is empty")
        parser.add_argument("--name", default=None, help="worker name (default host:pid:model)")
        parser.add_argument("--no-warm-up", action="store_true", help="skip the warm-up generation")

    def handle(self, *args, **options):
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
        model = options["model"] or settings.DEFAULT_MODEL
        if model not in settings.MODEL_REGISTRY:
            raise CommandError(f"unknown model {model!r}; known: {', '.join(sorted(settings.MODEL_REGISTRY))}")
        spec = settings.MODEL_REGISTRY[model]
        engine = load_engine(model, warm_up=not options["no_warm_up"])
        moderator = load_image_moderator()
        self.stdout.write(
            f"model {model} ({engine.revision}) ready on {engine.device}/{engine.dtype}; queue {spec.queue}; "
            f"image moderation: {', '.join(moderator.describe())}"
        )
        queue = django_rq.get_queue(spec.queue)
        worker = GenerationWorker(
            [queue],
            connection=queue.connection,
            name=options["name"] or f"{worker_identity()}:{model}",
        )
        connections.close_all()  # rq forks its scheduler process next: no connection to share
        # Runs whose worker died (their lease expired) are taken back from every worker, not only by
        # the reconciler job of the `scheduler` + `default` roles (generation/reconcile.py).
        sweeper = LostRunSweeper(interval=settings.RECONCILE_INTERVAL)
        sweeper.start()
        try:
            # with_scheduler: rq's scheduler moves delayed jobs (tasks waiting for their tenant's
            # running limit, generation/limits.py) back to the queue when due.
            worker.work(burst=options["burst"], with_scheduler=True, logging_level="INFO")
        finally:
            sweeper.stop()

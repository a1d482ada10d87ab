"""Runs prompt moderation over the labelled eval sets and prints recall per category, the
false-positive rate, per-file figures and the misses; exits 1 below the targets."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from moderation.evaluation import default_files, evaluate, format_report, load_items
from moderation.text import load_terms


class Command(BaseCommand):
    help = "Prompt moderation against the labelled eval sets (moderation/eval/*.jsonl by default)."

    def add_arguments(self, parser):
        parser.add_argument("--file", action="append", dest="files", metavar="PATH", help="an eval set (repeatable)")
        parser.add_argument("--json", action="store_true", help="the figures and misses as JSON")

    def handle(self, *args, files=None, json: bool = False, **options):
        paths = files or default_files()
        try:
            items = load_items(paths)
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        report = evaluate(load_terms(settings.MODERATION_TERMS_FILE).check, items)
        self.stdout.write(_dumps(report) if json else format_report(report))
        if not report["meets_targets"]:
            raise SystemExit(1)


def _dumps(report: dict) -> str:
    return json.dumps(report, indent=2)

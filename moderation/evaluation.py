"""The labelled eval sets of prompt moderation (``moderation/eval/*.jsonl``) and their figures.

One JSON object per line: ``{"text": ..., "label": "benign|sexual|minors|violence|hate|self_harm",
"tags": [...], "neg_text": ...}`` (``tags`` and ``neg_text`` optional). A harmful prompt counts as
caught only if its label is among the categories it was blocked for; a benign prompt that is
blocked at all is a false positive. No Django here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from moderation.text import CATEGORIES, TextVerdict

EVAL_DIR = Path(__file__).with_name("eval")
LABELS = ("benign", *CATEGORIES)
# What the shipped rules must reach on every file in EVAL_DIR (the test fails below them).
TARGETS = {"minors": 1.0, "sexual": 0.97, "violence": 0.97, "hate": 0.97, "self_harm": 0.97, "false_positive_max": 0.02}


@dataclass(frozen=True)
class Item:
    text: str
    label: str
    tags: tuple[str, ...]
    neg_text: str
    source: str  # "file:line"


def default_files() -> list[Path]:
    return sorted(EVAL_DIR.glob("*.jsonl"))


def load_items(paths: Iterable[str | Path]) -> list[Item]:
    items = []
    for path in paths:
        path = Path(path)
        with path.open(encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                row = json.loads(line)
                if row.get("label") not in LABELS or not isinstance(row.get("text"), str):
                    raise ValueError(f"{path}:{number}: needs a text and a label among {', '.join(LABELS)}")
                items.append(
                    Item(
                        row["text"],
                        row["label"],
                        tuple(row.get("tags", ())),
                        row.get("neg_text", ""),
                        f"{path.name}:{number}",
                    )
                )
    return items


def _figures(results: list[tuple[Item, TextVerdict]]) -> dict:
    per_label: dict[str, dict] = {}
    for label in CATEGORIES:
        harmful = [(item, v) for item, v in results if item.label == label]
        caught = sum(1 for item, v in harmful if label in v.categories)
        per_label[label] = {
            "total": len(harmful),
            "caught": caught,
            "recall": caught / len(harmful) if harmful else None,
        }
    benign = [(item, v) for item, v in results if item.label == "benign"]
    blocked = sum(1 for _, v in benign if v.blocked)
    hard = [(item, v) for item, v in benign if "hard_benign" in item.tags]
    return {
        "recall": per_label,
        "benign": {
            "total": len(benign),
            "blocked": blocked,
            "false_positive_rate": blocked / len(benign) if benign else None,
            "hard_total": len(hard),
            "hard_blocked": sum(1 for _, v in hard if v.blocked),
        },
    }


def evaluate(check: Callable[[dict[str, str]], TextVerdict], items: list[Item]) -> dict:
    """Recall per category, the false-positive rate, per-file figures and every miss."""
    results = [(item, check({"text_data": item.text, "neg_text": item.neg_text})) for item in items]
    report = _figures(results)
    files = sorted({item.source.rsplit(":", 1)[0] for item in items})
    report["files"] = {name: _figures([r for r in results if r[0].source.startswith(name + ":")]) for name in files}
    report["misses"] = [
        {"source": item.source, "label": item.label, "text": item.text, "blocked_as": v.categories,
         "rules": sorted({m.rule for m in v.matches})}
        for item, v in results
        if (item.label == "benign" and v.blocked) or (item.label != "benign" and item.label not in v.categories)
    ]  # fmt: skip
    report["meets_targets"] = meets_targets(report)
    return report


def meets_targets(report: dict) -> bool:
    for label, figures in report["recall"].items():
        if figures["recall"] is not None and figures["recall"] < TARGETS[label]:
            return False
    rate = report["benign"]["false_positive_rate"]
    return rate is None or rate <= TARGETS["false_positive_max"]


def format_report(report: dict) -> str:
    def block(figures: dict, indent: str) -> list[str]:
        lines = []
        for label, f in figures["recall"].items():
            if f["total"]:
                lines.append(f"{indent}{label:<10} recall {f['recall']:.3f}  ({f['caught']}/{f['total']})")
        b = figures["benign"]
        if b["total"]:
            lines.append(
                f"{indent}benign     false positives {b['false_positive_rate']:.3f}  ({b['blocked']}/{b['total']}; "
                f"hard benign {b['hard_blocked']}/{b['hard_total']})"
            )
        return lines

    lines = ["All files:", *block(report, "  ")]
    for name, figures in report["files"].items():
        lines += [f"{name}:", *block(figures, "  ")]
    lines.append(f"Misses ({len(report['misses'])}):")
    for miss in report["misses"]:
        got = ", ".join(miss["blocked_as"]) or "passed"
        lines.append(f"  [{miss['source']}] {miss['label']} -> {got}: {miss['text']}")
    lines.append("Targets met." if report["meets_targets"] else "Targets NOT met.")
    return "\n".join(lines)

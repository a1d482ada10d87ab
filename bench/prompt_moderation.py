"""Prompt moderation of 2,000-character prompts: the concept rules against the term lists they
replaced, in the same run.

    .venv/bin/python bench/prompt_moderation.py [--prompts 300] [--runs 5]

Prompts: --prompts texts of exactly 2,000 characters, each made of eval-set prompts (all labels)
joined with ", " in a seeded random order, so they read like long real prompts and differ from
one another. Measured: ``TermList.check`` of the shipped ``moderation/terms.json`` (concept rules)
on ``text_data``. Baseline: ``TermList.check`` of ``bench/terms_v1.json`` (the term lists before
the concept rules, matched by the same module's term matcher). Each run times every prompt once
and takes the p50 and p95; the script prints the median of --runs runs of each, and their ratio.

"cold" runs clear the per-word caches (lemmas, stems, word analyses) before every prompt: the cost of a
prompt whose every word is new to the process. "warm" runs keep them, as a running web process
does after its first requests. A last line times 2,000 characters of random letter strings
(every word unknown, the worst case for the word splitter), cold.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import string
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moderation import concepts, multilingual  # noqa: E402
from moderation.evaluation import default_files, load_items  # noqa: E402
from moderation.text import load_terms  # noqa: E402

BASELINE = Path(__file__).with_name("terms_v1.json")


def long_prompts(n: int, seed: int = 7) -> list[str]:
    texts = [item.text for item in load_items(default_files())]
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts: list[str] = []
        while len(", ".join(parts)) < 2000:
            parts.append(rng.choice(texts))
        out.append(", ".join(parts)[:2000])
    return out


def gibberish(n: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words: list[str] = []
        while len(" ".join(words)) < 2000:
            words.append("".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 14))))
        out.append(" ".join(words)[:2000])
    return out


def clear_caches() -> None:
    concepts.analyse.cache_clear()
    concepts.lemma.cache_clear()
    concepts.stem.cache_clear()
    multilingual.translate.cache_clear()
    multilingual.translate_raw.cache_clear()
    multilingual._word_languages.cache_clear()


def percentiles(check, prompts: list[str], cold: bool) -> tuple[float, float]:
    times = []
    for prompt in prompts:
        if cold:
            clear_caches()
        started = time.perf_counter()
        check({"text_data": prompt})
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return times[len(times) // 2], times[int(len(times) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    prompts = long_prompts(args.prompts)
    assert all(len(p) == 2000 for p in prompts)
    rules, lists = load_terms().check, load_terms(BASELINE).check
    rules({"text_data": prompts[0]})  # simplemma's dictionary is read once per process, at first use
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} CPUs, python {platform.python_version()}")
    print(f"{args.prompts} prompts of 2000 characters, median of {args.runs} runs")
    for cold in (True, False):
        runs = {"rules": [], "lists": []}
        for _ in range(args.runs):
            runs["rules"].append(percentiles(rules, prompts, cold))
            runs["lists"].append(percentiles(lists, prompts, cold))
        figures = {name: [statistics.median(r[i] for r in rs) for i in (0, 1)] for name, rs in runs.items()}
        label = "cold" if cold else "warm"
        print(
            f"{label}: concept rules p50 {figures['rules'][0]:.2f} ms p95 {figures['rules'][1]:.2f} ms | "
            f"term lists (baseline) p50 {figures['lists'][0]:.2f} ms p95 {figures['lists'][1]:.2f} ms | "
            f"p95 ratio lists/rules {figures['lists'][1] / figures['rules'][1]:.1f}x"
        )
    worst = [percentiles(rules, gibberish(50), cold=True) for _ in range(args.runs)]
    print(
        "worst case, random letters, cold: concept rules "
        f"p50 {statistics.median(w[0] for w in worst):.2f} ms p95 {statistics.median(w[1] for w in worst):.2f} ms"
    )


if __name__ == "__main__":
    main()

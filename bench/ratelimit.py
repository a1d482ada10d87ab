"""Throughput of the request limiter: GCRA decisions per second against a real Redis.

    .venv/bin/python bench/ratelimit.py [--redis redis://127.0.0.1:6379/15] [--threads 1,8] [--seconds 2]

Each run calls accounts.ratelimit.hit() in a loop (one Lua script call per request, as the API
does) from N threads, each with its own connection, on 1,000 keys; prints the median of 5 runs.
The baseline, measured the same way in the same run, is a bare PING per request: the round trip
any Redis-backed limiter pays, so the ratio is what the GCRA script itself costs on top.
It writes keys under imagegen:ratelimit:key:bench-* and deletes them after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imgplatform.settings")

import django  # noqa: E402

django.setup()

import redis  # noqa: E402

from accounts import ratelimit  # noqa: E402


def gcra(conn, i: int, n: int) -> None:
    bucket = ratelimit.Bucket(ratelimit.KEY_POLICY, f"bench-{(i * 7919 + n) % 1000}", 1_000_000)
    ratelimit.hit(buckets=[bucket], connection=conn)


def ping(conn, i: int, n: int) -> None:
    conn.ping()


def run(url: str, threads: int, seconds: float, call=gcra) -> float:
    counts = [0] * threads
    stop = time.monotonic() + seconds

    def loop(i: int) -> None:
        conn = redis.Redis.from_url(url)
        n = 0
        while time.monotonic() < stop:
            call(conn, i, n)
            n += 1
        counts[i] = n
        conn.close()

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    began = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.monotonic() - began)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
    parser.add_argument("--threads", default="1,8")
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    for threads in (int(t) for t in args.threads.split(",")):
        medians = {}
        for name, call in (("PING baseline", ping), ("GCRA limiter", gcra)):
            rates = [run(args.redis, threads, args.seconds, call) for _ in range(5)]
            medians[name] = statistics.median(rates)
            print(
                f"threads={threads} {name}: median {medians[name]:,.0f}/s (runs: "
                + ", ".join(f"{r:,.0f}" for r in rates)
                + ")"
            )
        print(f"threads={threads}: limiter/baseline = {medians['GCRA limiter'] / medians['PING baseline']:.2f}")
    conn = redis.Redis.from_url(args.redis)
    keys = list(conn.scan_iter("imagegen:ratelimit:key:bench-*"))
    if keys:
        conn.delete(*keys)


if __name__ == "__main__":
    main()

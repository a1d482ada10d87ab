"""How many /task/sync waits one ASGI web process holds, what each costs, and what they do to the
latency of others: memory (RSS) and threads of the web process idle and with N waits open, p95 of
/healthz and of GET /api/v2/task/<id> idle and with the waits open (the baseline is the idle figure
of the same run).

    .venv/bin/python bench/sync_waits.py [--waits 1000] [--probes 100] [--runs 3]
        [--database-url postgres://postgres@127.0.0.1:5432/imagegen_bench] [--redis redis://127.0.0.1:6379/9]

No generation worker runs, so every task stays queued and every wait lasts SYNC_WAIT_SECONDS (set
here to 120 s, longer than a run). The Redis database is flushed first.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _live  # noqa: E402
import httpx  # noqa: E402
import redis  # noqa: E402


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


async def probe(client, base: str, task_path: str, headers: dict, count: int) -> tuple[float, float]:
    health, task = [], []
    for _ in range(count):
        started = time.perf_counter()
        await client.get(f"{base}/healthz")
        health.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        await client.get(f"{base}{task_path}", headers=headers)
        task.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.01)
    return p95(health), p95(task)


async def one_run(base: str, pid: int, key: str, waits: int, probes: int, conn: redis.Redis) -> dict:
    headers = {"authorization": f"Token {key}"}
    limits = httpx.Limits(max_connections=waits + 10, max_keepalive_connections=waits + 10)
    async with httpx.AsyncClient(limits=limits, timeout=300) as client, httpx.AsyncClient() as prober:
        first = (await client.post(f"{base}/api/v2/task/async", json={"text_data": "probe"}, headers=headers)).json()
        task_path = f"/api/v2/task/{first['id']}"
        await probe(prober, base, task_path, headers, 10)
        idle = await probe(prober, base, task_path, headers, probes)
        rss_idle, threads_idle = _live.rss_kib(pid), _live.threads(pid)
        jobs = [
            asyncio.create_task(client.post(f"{base}/api/v2/task/sync", json={"text_data": f"w{i}"}, headers=headers))
            for i in range(waits)
        ]
        started = time.monotonic()
        while sum(conn.zcard(k) for k in conn.scan_iter("imagegen:sync-waits:*")) < waits:
            if time.monotonic() - started > 100:
                raise RuntimeError("the waits did not all start")
            await asyncio.sleep(0.2)
        admitted = time.monotonic() - started
        await asyncio.sleep(5)  # the last waits make their first read of the row
        loaded = await probe(prober, base, task_path, headers, probes)
        rss_loaded, threads_loaded = _live.rss_kib(pid), _live.threads(pid)
        held = sum(conn.zcard(k) for k in conn.scan_iter("imagegen:sync-waits:*"))
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
    return {
        "idle": idle,
        "loaded": loaded,
        "held": held,
        "admitted_s": admitted,
        "kib_per_wait": (rss_loaded - rss_idle) / waits,
        "threads": (threads_idle, threads_loaded),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--waits", type=int, default=1000)
    parser.add_argument("--probes", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    _live.add_store_arguments(parser)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4 * args.waits + 1024), hard))
    conn = redis.Redis.from_url(args.redis)
    env = _live.prepare(args.database_url, args.redis)
    key = _live.api_key(env)
    reports = []
    for run in range(args.runs):
        conn.flushdb()
        key = _live.api_key(env)
        with _live.server(env, kind="asgi", SYNC_WAIT_SECONDS="120") as (base, proc):
            report = asyncio.run(one_run(base, _live.worker_pid(proc.pid), key, args.waits, args.probes, conn))
        reports.append(report)
        (ih, it), (lh, lt) = report["idle"], report["loaded"]
        print(
            f"run {run + 1}: held {report['held']} (all admitted in {report['admitted_s']:.1f} s), "
            f"{report['kib_per_wait']:.1f} KiB/wait, threads {report['threads'][0]} -> {report['threads'][1]}, "
            f"healthz p95 {ih:.1f} -> {lh:.1f} ms, task p95 {it:.1f} -> {lt:.1f} ms",
            flush=True,
        )

    def med(f):
        return statistics.median(f(r) for r in reports)

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
    )
    print(f"{args.waits} waits, {args.probes} probes each, median of {args.runs} runs")
    print(f"waits held: {med(lambda r: r['held']):.0f}; memory per wait: {med(lambda r: r['kib_per_wait']):.1f} KiB")
    print(f"healthz p95: idle {med(lambda r: r['idle'][0]):.1f} ms, with waits {med(lambda r: r['loaded'][0]):.1f} ms")
    print(f"task p95:    idle {med(lambda r: r['idle'][1]):.1f} ms, with waits {med(lambda r: r['loaded'][1]):.1f} ms")


if __name__ == "__main__":
    main()

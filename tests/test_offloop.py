"""Sync code of the async views runs on a pool of threads, not on the event loop and not all on one
thread (``thread_sensitive=True`` would serialise every request of a process)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from imgplatform.offloop import run_sync

# The pool's threads are shared with earlier tests: one that ran a query holds a connection object,
# which run_sync's close_old_connections() looks at after each call.
pytestmark = pytest.mark.django_db(transaction=True)


def test_sync_calls_run_side_by_side_on_pool_threads_while_the_loop_goes_on():
    # Four calls meet at a barrier: only calls running side by side get through it (one after
    # another, the first would wait for the others until the barrier's timeout breaks it).
    barrier = threading.Barrier(4, timeout=30)

    def slow() -> int:
        barrier.wait()
        time.sleep(0.2)  # a slow query, say: the event loop must go on meanwhile
        return threading.get_ident()

    async def scenario():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        clock = asyncio.create_task(ticker())
        threads = await asyncio.gather(*(run_sync(slow) for _ in range(4)))
        clock.cancel()
        return threads, ticks

    threads, ticks = asyncio.run(scenario())
    assert len(set(threads)) == 4 and threading.get_ident() not in threads
    assert ticks > 0  # the event loop was not held while the calls ran

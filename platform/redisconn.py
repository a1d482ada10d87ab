"""The platform's Redis clients: pooled, with connect and read timeouts, so a Redis that is down
fails a request in REDIS_CONNECT_TIMEOUT and one that hangs in REDIS_SOCKET_TIMEOUT (the web
answers 503 ``service_unavailable``) instead of holding a request forever.

django-rq's ``get_connection`` builds a new client (and a new pool, so a new TCP connection) on
every call and sets no timeouts; the web process and the job code use :func:`connection` instead.
The rq *workers* keep django-rq's clients: rq widens a client's read timeout to fit its own
blocking dequeue (and would change a shared pool's settings for everyone)."""

from __future__ import annotations

import asyncio
import threading
import weakref

import redis
import redis.asyncio as aioredis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

_pools: dict[tuple, redis.ConnectionPool] = {}
_lock = threading.Lock()


def _pool(url: str, *, read_timeout: float) -> redis.ConnectionPool:
    key = (url, settings.REDIS_CONNECT_TIMEOUT, read_timeout)
    pool = _pools.get(key)
    if pool is None:
        with _lock:
            pool = _pools.get(key)
            if pool is None:
                pool = redis.ConnectionPool.from_url(
                    url,
                    socket_connect_timeout=settings.REDIS_CONNECT_TIMEOUT,
                    socket_timeout=read_timeout,
                    socket_keepalive=True,
                    health_check_interval=30,
                    # One immediate retry on a broken connection (a pooled socket that Redis closed
                    # when it restarted); none on a timeout, which would only double the wait.
                    retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
                )
                _pools[key] = pool
    return pool


def queue_url(name: str = "default") -> str:
    return settings.RQ_QUEUES[name]["URL"]


def connection(name: str = "default") -> redis.Redis:
    """A client for the Redis behind rq queue ``name``, from a pool shared by this process."""
    return redis.Redis(connection_pool=_pool(queue_url(name), read_timeout=settings.REDIS_SOCKET_TIMEOUT))


def unshared_connection(name: str = "default") -> redis.Redis:
    """A client with the same timeouts on a pool of its own, for code that hands its client to rq's
    ``Worker`` (``Worker.all``): rq raises the read timeout of whatever pool it is given to fit a
    worker's blocking dequeue, which must never happen to the shared pool."""
    return redis.Redis.from_url(
        queue_url(name),
        socket_connect_timeout=settings.REDIS_CONNECT_TIMEOUT,
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
        retry=Retry(NoBackoff(), 0),
    )


_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = weakref.WeakKeyDictionary()


def async_connection() -> aioredis.Redis:
    """This event loop's asyncio client of the default Redis (commands; the wake-ups' subscription
    has its own connection), with the same timeouts: a short command from an async view without a
    hop to the sync pool."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        client = _async_clients[loop] = aioredis.Redis.from_url(
            queue_url(),
            socket_connect_timeout=settings.REDIS_CONNECT_TIMEOUT,
            socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
            socket_keepalive=True,
            health_check_interval=30,
        )
    return client

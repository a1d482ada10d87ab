"""Public integer ids that are not the database's counters.

Hive's task object carries ``project_id`` and ``user_id`` as integers. Handing out the primary keys
would tell every customer how many projects and API keys the platform has (and how fast that
grows): they are platform-wide sequences. Instead each is mapped through a keyed permutation of
the integers 1..2**52 (a four-round Feistel network with HMAC-SHA256 as its round function, keyed
by ``PUBLIC_ID_KEY``; one key per kind, so a project and a key with the same primary key get
unrelated public ids). The mapping is one-to-one and reversible with the key, so nothing is stored
and a public id given back (``?project_id=``) is turned into the primary key again; without the key
the numbers are indistinguishable from random ones below 2**52 (exact in JSON and JavaScript).

``PUBLIC_ID_KEY`` defaults to ``SECRET_KEY``; set it explicitly in a deployment and never change it:
a new key gives every project and key a new public id."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from django.conf import settings

HALF_BITS = 26
MASK = (1 << HALF_BITS) - 1
LIMIT = 1 << (2 * HALF_BITS)  # public ids are 1..LIMIT; primary keys 0..LIMIT-1
ROUNDS = 4
KINDS = ("project", "api_key")


@lru_cache(maxsize=8)
def _key(secret: str, kind: str) -> bytes:
    return hmac.new(secret.encode(), f"imagegen public id: {kind}".encode(), hashlib.sha256).digest()


def _round(key: bytes, number: int, half: int) -> int:
    digest = hmac.new(key, bytes([number]) + half.to_bytes(4, "big"), hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big") & MASK


def _kind_key(kind: str) -> bytes:
    if kind not in KINDS:
        raise ValueError(f"unknown kind of public id: {kind!r}")
    return _key(settings.PUBLIC_ID_KEY or settings.SECRET_KEY, kind)


@lru_cache(maxsize=65536)
def _forward(key: bytes, pk: int) -> int:
    left, right = pk >> HALF_BITS, pk & MASK
    for number in range(ROUNDS):
        left, right = right, left ^ _round(key, number, right)
    return ((left << HALF_BITS) | right) + 1


def to_public(kind: str, pk: int | None) -> int | None:
    """The public id of primary key ``pk`` (None stays None)."""
    if pk is None:
        return None
    if not 0 <= pk < LIMIT:
        raise ValueError(f"{kind} primary key {pk} is outside the public id range")
    return _forward(_kind_key(kind), pk)


def from_public(kind: str, public: int) -> int | None:
    """The primary key a public id stands for, or None when ``public`` is not one (out of range)."""
    if not isinstance(public, int) or not 1 <= public <= LIMIT:
        return None
    key = _kind_key(kind)
    value = public - 1
    left, right = value >> HALF_BITS, value & MASK
    for number in reversed(range(ROUNDS)):
        left, right = right ^ _round(key, number, left), left
    return (left << HALF_BITS) | right

"""The two hashes of the platform: SHA-256 (``international`` suite) and SM3 (``gm`` suite, GB/T 32905).

Both come from OpenSSL through ``hashlib`` where its build has SM3 (Debian's does), else from
``cryptography``; ``tests/test_crypto.py`` checks both against the standards' examples.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from cryptography.hazmat.primitives import hashes

HashName = Literal["sha256", "sm3"]


def _sm3_from_cryptography(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def _sm3_function() -> Callable[[bytes], bytes]:
    if "sm3" in hashlib.algorithms_available:
        prototype = hashlib.new("sm3")

        def sm3(data: bytes) -> bytes:
            # Copying a ready context skips hashlib's lookup of the algorithm by name (~2x faster).
            h = prototype.copy()
            h.update(data)
            return h.digest()

        return sm3
    return _sm3_from_cryptography


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


@dataclass(frozen=True)
class Hash:
    """A hash function by name. ``digest`` is a plain function so hot loops can bind it once."""

    name: HashName
    digest: Callable[[bytes], bytes]
    size: int = 32


SHA256 = Hash("sha256", _sha256)
SM3 = Hash("sm3", _sm3_function())

HASHES: dict[str, Hash] = {SHA256.name: SHA256, SM3.name: SM3}


def hash_named(name: str) -> Hash:
    try:
        return HASHES[name]
    except KeyError:
        raise ValueError(f"unknown hash {name!r}; known: {', '.join(HASHES)}") from None

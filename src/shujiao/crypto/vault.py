"""The data vault's file format (数据金库): a dataset sealed in chunks with an AEAD, so that it can be
encrypted and decrypted as a stream without ever holding the whole file in memory.

The construction is STREAM (Hoang, Reyhanitabar, Rogaway, Vizár, "Online Authenticated-Encryption
and its Nonce-Reuse Misuse-Resistance", CRYPTO 2015), laid out much like Tink's streaming AEAD::

    header  = b"SJVAULT\\n" | version (1 byte, = 1) | algorithm id (1 byte) | chunk size (4 bytes, BE)
              | nonce prefix (7 random bytes)
    chunk i = AEAD.seal(nonce_i, plaintext_i, aad_i)          (ciphertext | 16-byte tag)
    nonce_i = nonce prefix | i (4 bytes, BE) | last (1 byte: 1 for the final chunk, else 0)
    aad_i   = header | i (4 bytes, BE) | last (1 byte) | context

Every chunk but the last holds exactly ``chunk size`` plaintext bytes; the last holds 0 to
``chunk size`` bytes (an empty file is one empty final chunk). The chunk index in the nonce stops
chunks from being reordered, the last-chunk flag stops the file from being truncated at a chunk
boundary (the chunk before the cut was sealed as "not last"), and the header and ``context`` (the
dataset's storage key) in the associated data stop chunks from being moved between files. Any of
these — or a single flipped bit — makes :func:`decrypt_chunks` raise :class:`VaultDamaged`.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from shujiao.crypto.aead import TAG_SIZE, Aead, DecryptionFailed

MAGIC = b"SJVAULT\n"
VERSION = 1
ALGORITHM_IDS: dict[str, int] = {"aes-256-gcm": 1, "sm4-gcm": 2}
CHUNK_SIZE = 256 * 1024
MAX_CHUNK_SIZE = 16 * 1024 * 1024  # refuse to allocate more than this for a header we have not authenticated
NONCE_PREFIX_SIZE = 7
MAX_CHUNKS = 2**32
_HEADER = struct.Struct(">8sBBI7s")
HEADER_SIZE = _HEADER.size  # 21
SEALED_SUFFIX = ".vault"


class VaultDamaged(Exception):
    """The sealed file is not intact: damaged, truncated, reordered, from another file, or not ours."""


@dataclass(frozen=True)
class Header:
    algorithm: str
    chunk_size: int
    nonce_prefix: bytes

    def pack(self) -> bytes:
        return _HEADER.pack(MAGIC, VERSION, ALGORITHM_IDS[self.algorithm], self.chunk_size, self.nonce_prefix)


def _nonce(header: Header, index: int, last: bool) -> bytes:
    return header.nonce_prefix + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def _aad(raw_header: bytes, index: int, last: bool, context: bytes) -> bytes:
    return raw_header + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00") + context


def _read_exact(source: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes; fewer only at the end of the stream (a read may return short)."""
    parts: list[bytes] = []
    remaining = size
    while remaining > 0:
        part = source.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def encrypt_stream(source: BinaryIO, out: BinaryIO, *, aead: Aead, context: bytes,
                   chunk_size: int = CHUNK_SIZE) -> int:
    """Seal everything ``source`` yields into ``out``; returns the number of plaintext bytes."""
    if not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError("chunk size out of range")
    header = Header(aead.algorithm, chunk_size, os.urandom(NONCE_PREFIX_SIZE))
    raw_header = header.pack()
    out.write(raw_header)
    total = 0
    index = 0
    current = _read_exact(source, chunk_size)
    while True:
        # Read one chunk ahead: a full chunk is the last one only if nothing follows it.
        following = _read_exact(source, chunk_size) if len(current) == chunk_size else b""
        last = not following
        if index >= MAX_CHUNKS:
            raise ValueError("file too large for the vault format")
        out.write(aead.seal(_nonce(header, index, last), current, _aad(raw_header, index, last, context)))
        total += len(current)
        if last:
            return total
        index += 1
        current = following


def read_header(source: BinaryIO) -> tuple[Header, bytes]:
    raw = _read_exact(source, HEADER_SIZE)
    if len(raw) < HEADER_SIZE:
        raise VaultDamaged("sealed file shorter than its header")
    magic, version, algorithm_id, chunk_size, prefix = _HEADER.unpack(raw)
    if magic != MAGIC:
        raise VaultDamaged("not a sealed vault file")
    if version != VERSION:
        raise VaultDamaged(f"unknown vault format version {version}")
    algorithm = next((name for name, number in ALGORITHM_IDS.items() if number == algorithm_id), None)
    if algorithm is None:
        raise VaultDamaged(f"unknown algorithm id {algorithm_id}")
    if not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise VaultDamaged(f"chunk size {chunk_size} out of range")
    return Header(algorithm, chunk_size, prefix), raw


def decrypt_chunks(source: BinaryIO, *, aead: Aead, context: bytes) -> Iterator[bytes]:
    """The plaintext, one authenticated chunk at a time. A chunk is yielded only once its tag has
    been checked; damage anywhere raises :class:`VaultDamaged` when the reader reaches it."""
    header, raw_header = read_header(source)
    if header.algorithm != aead.algorithm:
        raise VaultDamaged(f"file sealed with {header.algorithm}, key is for {aead.algorithm}")
    sealed_size = header.chunk_size + TAG_SIZE
    index = 0
    current = _read_exact(source, sealed_size)
    while True:
        if len(current) < TAG_SIZE:
            raise VaultDamaged(f"sealed file truncated at chunk {index}")
        following = _read_exact(source, sealed_size) if len(current) == sealed_size else b""
        last = not following
        try:
            plaintext = aead.open(_nonce(header, index, last), current, _aad(raw_header, index, last, context))
        except DecryptionFailed:
            raise VaultDamaged(f"chunk {index} does not authenticate (damaged, truncated, reordered or "
                               "from another file)") from None
        yield plaintext
        if last:
            return
        index += 1
        current = following


def is_sealed(path: Path) -> bool:
    with path.open("rb") as source:
        return source.read(len(MAGIC)) == MAGIC

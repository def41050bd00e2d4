"""The data vault's sealed file format, without a database: round trips at the chunk boundaries,
and every kind of damage (bit flips, truncation, reordering, chunks from another file) refused."""

from __future__ import annotations

import io
import os

import pytest

from shujiao.catalog.storage import LocalFileStorage
from shujiao.crypto import vault
from shujiao.crypto.aead import TAG_SIZE, Aead

ALGORITHMS = ["sm4-gcm", "aes-256-gcm"]
SMALL = 64  # a small chunk size, so that "many chunks" stays quick


def _aead(algorithm: str) -> Aead:
    return Aead(algorithm, Aead.generate_key(algorithm))  # type: ignore[arg-type]


def _seal(aead: Aead, plaintext: bytes, context: bytes = b"datasets/1/a.csv.vault", chunk_size: int = SMALL) -> bytes:
    out = io.BytesIO()
    assert vault.encrypt_stream(io.BytesIO(plaintext), out, aead=aead, context=context,
                                chunk_size=chunk_size) == len(plaintext)
    return out.getvalue()


def _open(aead: Aead, sealed: bytes, context: bytes = b"datasets/1/a.csv.vault") -> bytes:
    return b"".join(vault.decrypt_chunks(io.BytesIO(sealed), aead=aead, context=context))


def _chunks(sealed: bytes, chunk_size: int = SMALL) -> list[bytes]:
    body = sealed[vault.HEADER_SIZE:]
    step = chunk_size + TAG_SIZE
    return [body[i:i + step] for i in range(0, len(body), step)]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("size", [0, 1, SMALL - 1, SMALL, SMALL + 1, 2 * SMALL, 10 * SMALL + 7])
def test_round_trip_at_the_chunk_boundaries(algorithm: str, size: int) -> None:
    aead = _aead(algorithm)
    plaintext = os.urandom(size)
    sealed = _seal(aead, plaintext)
    assert _open(aead, sealed) == plaintext
    # One final chunk at least (an empty file is one empty final chunk); full chunks are never padded.
    chunks = max(1, -(-size // SMALL))
    assert len(sealed) == vault.HEADER_SIZE + size + chunks * TAG_SIZE
    assert sealed.startswith(vault.MAGIC + bytes([vault.VERSION, vault.ALGORITHM_IDS[algorithm]]))


def test_empty_file_exactly_one_chunk_and_many_chunks_at_the_real_chunk_size() -> None:
    aead = _aead("sm4-gcm")
    for plaintext in (b"", os.urandom(vault.CHUNK_SIZE), os.urandom(3 * vault.CHUNK_SIZE + 5)):
        out = io.BytesIO()
        vault.encrypt_stream(io.BytesIO(plaintext), out, aead=aead, context=b"k")
        sealed = out.getvalue()
        assert len(sealed) == vault.HEADER_SIZE + len(plaintext) + max(1, -(-len(plaintext) // vault.CHUNK_SIZE)) * 16
        chunks = list(vault.decrypt_chunks(io.BytesIO(sealed), aead=aead, context=b"k"))
        assert b"".join(chunks) == plaintext
        assert all(len(c) == vault.CHUNK_SIZE for c in chunks[:-1])


def test_the_same_plaintext_seals_differently_each_time() -> None:
    aead = _aead("aes-256-gcm")
    assert _seal(aead, b"same bytes") != _seal(aead, b"same bytes")


def test_sealed_into_storage_atomically(tmp_path) -> None:  # type: ignore[no-untyped-def]
    aead = _aead("sm4-gcm")
    storage = LocalFileStorage(tmp_path)
    plaintext = os.urandom(vault.CHUNK_SIZE + 1)
    with storage.writing("a/b.csv.vault") as out:
        assert vault.encrypt_stream(io.BytesIO(plaintext), out, aead=aead, context=b"k") == len(plaintext)
    dest = storage.local_path("a/b.csv.vault")
    assert [p.name for p in dest.parent.iterdir()] == ["b.csv.vault"] and vault.is_sealed(dest)
    with dest.open("rb") as source:
        assert b"".join(vault.decrypt_chunks(source, aead=aead, context=b"k")) == plaintext
    # A failure part way leaves neither the file nor its partial.
    with pytest.raises(OSError), storage.writing("a/c.csv.vault") as out:
        out.write(b"half")
        raise OSError("disk gone")
    assert [p.name for p in dest.parent.iterdir()] == ["b.csv.vault"]


def _damaged(aead: Aead, sealed: bytes, context: bytes = b"datasets/1/a.csv.vault") -> None:
    with pytest.raises(vault.VaultDamaged):
        _open(aead, sealed, context)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_flipped_bit_position_is_found(algorithm: str) -> None:
    aead = _aead(algorithm)
    sealed = _seal(aead, os.urandom(3 * SMALL + 10))
    for position in range(len(sealed)):
        damaged = bytearray(sealed)
        damaged[position] ^= 0x01
        _damaged(aead, bytes(damaged))


def test_truncation_anywhere_is_found_even_at_a_chunk_boundary() -> None:
    aead = _aead("sm4-gcm")
    sealed = _seal(aead, os.urandom(4 * SMALL))  # four full chunks, the fourth is the last
    for length in range(len(sealed)):
        _damaged(aead, sealed[:length])
    # Cutting exactly after chunk 1 or 2 leaves a well-formed file whose last chunk says "not last".
    boundary = vault.HEADER_SIZE + 2 * (SMALL + TAG_SIZE)
    _damaged(aead, sealed[:boundary])
    _damaged(aead, sealed + b"\x00")  # and nothing may be appended


def test_reordered_dropped_or_repeated_chunks_are_found() -> None:
    aead = _aead("aes-256-gcm")
    sealed = _seal(aead, os.urandom(4 * SMALL + 3))
    header, chunks = sealed[:vault.HEADER_SIZE], _chunks(sealed)
    assert len(chunks) == 5
    _damaged(aead, header + chunks[1] + chunks[0] + b"".join(chunks[2:]))
    _damaged(aead, header + chunks[0] + b"".join(chunks[2:]))
    _damaged(aead, header + chunks[0] + chunks[0] + b"".join(chunks[2:]))


def test_chunks_and_files_do_not_move_between_datasets() -> None:
    aead = _aead("sm4-gcm")
    a = _seal(aead, os.urandom(3 * SMALL), context=b"datasets/1/a.csv.vault")
    b = _seal(aead, os.urandom(3 * SMALL), context=b"datasets/1/b.csv.vault")
    # Same key even: B's chunk in A's file, and B's whole file under A's name, are both refused.
    mixed = a[:vault.HEADER_SIZE] + _chunks(a)[0] + _chunks(b)[1] + _chunks(a)[2]
    _damaged(aead, mixed, b"datasets/1/a.csv.vault")
    _damaged(aead, b, b"datasets/1/a.csv.vault")
    _damaged(_aead("sm4-gcm"), a, b"datasets/1/a.csv.vault")  # another key


def test_what_is_not_a_vault_file_is_refused_clearly() -> None:
    aead = _aead("sm4-gcm")
    for content in (b"", b"SJVAULT", "企业名称,行业\n".encode() * 10):
        _damaged(aead, content)
    sealed = _seal(aead, b"x")
    _damaged(_aead("aes-256-gcm"), sealed)  # sealed with SM4, opened with an AES key
    huge = bytearray(sealed)
    huge[10:14] = (1 << 30).to_bytes(4, "big")  # a chunk size we would not allocate
    with pytest.raises(vault.VaultDamaged, match="out of range"):
        _open(aead, bytes(huge))

"""What an auditor needs without database access: proof bundles, exports and key files.

Proof bundle (``GET /api/v1/log/entries/{index}`` returns one; save it as JSON)::

    {"index": 7, "tree_size": 12, "hash": "sm3", "leaf": "<the record's canonical JSON>",
     "leaf_hash": "<base64>", "proof": ["<base64>", …], "checkpoint": "<signed note>"}

Export directory (``shujiao log export DIR``): ``log.json`` (origin, hash, public keys),
``leaves.jsonl`` (one canonical record per line, the exact leaf bytes), ``nodes.bin`` (every stored
node as its 8-byte big-endian id — last leaf * 64 + level — and its hash) and ``checkpoints.jsonl``.

Key file: the JSON of ``GET /api/v1/keys`` (or ``log.json`` of an export).
"""

from __future__ import annotations

import base64
import functools
import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shujiao.crypto import note
from shujiao.crypto.hashing import hash_named
from shujiao.crypto.signing import SIGNATURE_ALGORITHMS, Verifier, load_verifier
from shujiao.tlog import checkpoint as checkpoint_format
from shujiao.tlog import merkle
from shujiao.tlog.verify import SignedCheckpoint

NODE_RECORD = struct.Struct(">Q32s")


@functools.lru_cache(maxsize=64)
def cached_verifier(algorithm: str, public_pem: str) -> Verifier:
    """``load_verifier``, parsed once per process for each (algorithm, PEM text): a verifier holds
    only the public key the text names, so the same text always gives the same verifier. A key
    document is read for every bundle checked, and parsing its PEM (SM2 especially) costs more
    than a hash-based proof. Errors are not cached: a bad PEM raises every time."""
    return load_verifier(algorithm, public_pem)  # type: ignore[arg-type]


def keys_from_document(document: dict[str, Any]) -> list[note.NoteKey]:
    found = []
    for entry in document.get("keys", []):
        verifier = cached_verifier(entry["algorithm"], entry["public_pem"])
        found.append(note.NoteKey(entry["note_name"], int(entry["note_key_id"]), verifier))
    return found


def keys_from_pem(pem: str, name: str) -> list[note.NoteKey]:
    """A bare public key PEM: the algorithm is whichever loads it; the key ID is derived (signed-note)."""
    for algorithm in SIGNATURE_ALGORITHMS:
        try:
            verifier = load_verifier(algorithm, pem)
        except Exception:  # noqa: BLE001 — each loader raises its own kind of error for a foreign key
            continue
        return [note.NoteKey(name, note.key_id(name, algorithm, verifier.public_bytes()), verifier)]
    raise ValueError("the PEM holds neither an Ed25519 nor an SM2 public key")


@dataclass(frozen=True)
class BundleResult:
    ok: bool
    message: str
    origin: str = ""
    tree_size: int = 0


def _canonical_b64decode(text: str) -> bytes:
    """Base64 in its one canonical spelling: unused low bits set would decode to the same bytes,
    so a changed character could otherwise go unnoticed."""
    value = base64.b64decode(text, validate=True)
    if base64.b64encode(value).decode() != text:
        raise ValueError("non-canonical base64")
    return value


def _count(value: Any) -> int:
    if type(value) is not int or value < 0:  # not bool, not 1.5 (which int() would take as 1)
        raise TypeError(f"not a whole number: {value!r}")
    return value


def verify_bundle(bundle: dict[str, Any], keys: list[note.NoteKey], *,
                  remembered: note.VerifiedSignatures | None = None) -> BundleResult:
    """Leaf → inclusion proof → signed checkpoint. ``remembered`` lets many bundles that share a
    checkpoint verify its signatures once (``note.VerifiedSignatures``); the leaf hash and the
    inclusion proof are checked in full every time."""
    try:
        hash_ = hash_named(bundle["hash"])
        index, tree_size = _count(bundle["index"]), _count(bundle["tree_size"])
        if not isinstance(bundle["proof"], list) or not isinstance(bundle.get("leaf", ""), (str, type(None))):
            raise TypeError("proof must be a list and leaf a string")
        proof = [_canonical_b64decode(p) for p in bundle["proof"]]
        leaf_hash = _canonical_b64decode(bundle["leaf_hash"])
        signed = note.open_note(bundle["checkpoint"], keys, remembered=remembered)
        head = checkpoint_format.parse(signed.text)
    except (KeyError, TypeError, ValueError) as exc:
        return BundleResult(False, f"unusable bundle: {exc}")
    if bundle.get("leaf") is not None:
        if merkle.leaf_hash(hash_.digest, bundle["leaf"].encode("utf-8")) != leaf_hash:
            return BundleResult(False, "the record does not hash to the leaf hash")
    if head.tree_size != tree_size:
        return BundleResult(False, f"the proof is for size {tree_size}, the checkpoint for {head.tree_size}")
    if not merkle.verify_inclusion(hash_.digest, index, tree_size, leaf_hash, proof, head.root):
        return BundleResult(False, "the inclusion proof does not lead to the checkpoint's root")
    signers = ", ".join(f"{k.name}/{k.key_id:08x}" for k in signed.verified_by)
    return BundleResult(True, f"record {index} is in the log {head.origin} of size {tree_size} (signed by {signers})",
                        head.origin, tree_size)


@dataclass(frozen=True)
class Export:
    directory: Path
    meta: dict[str, Any]

    @classmethod
    def open(cls, directory: Path) -> "Export":
        return cls(directory, json.loads((directory / "log.json").read_text()))

    def leaves(self) -> Iterator[tuple[int, bytes]]:
        with (self.directory / "leaves.jsonl").open("rb") as lines:
            for index, line in enumerate(lines):
                yield index, line.rstrip(b"\n")

    def nodes(self) -> Iterator[tuple[int, bytes]]:
        with (self.directory / "nodes.bin").open("rb") as stream:
            while chunk := stream.read(NODE_RECORD.size * 4096):
                yield from NODE_RECORD.iter_unpack(chunk)

    def checkpoints(self) -> list[SignedCheckpoint]:
        with (self.directory / "checkpoints.jsonl").open() as lines:
            return [SignedCheckpoint(int(d["tree_size"]), d["note"]) for d in map(json.loads, lines)]

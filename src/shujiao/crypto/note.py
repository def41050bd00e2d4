"""Signed notes (C2SP ``signed-note``): text, a blank line, then one line per signature,
``— <key name> base64(4-byte key ID || signature)``.

Key IDs follow the spec's recommendation, SHA-256(name || 0x0A || type || public key)[:4]:
Ed25519 keys use the assigned type byte 0x01 and the 32-byte key. SM2 has no assigned byte, so,
as the spec asks for unassigned types, Shujiao uses 0xff followed by the ASCII identifier
``sm2p256v1-sm3`` and then the 65-byte uncompressed point. The SM2 signature bytes are DER
(GB/T 35276), over the note text with the default user ID ``1234567812345678``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from shujiao.crypto.signing import SignatureAlgorithm, Signer, Verifier

SIGNATURE_TYPES: dict[str, bytes] = {"ed25519": b"\x01", "sm2": b"\xffsm2p256v1-sm3"}
EM_DASH = "\u2014"


def key_id(name: str, algorithm: SignatureAlgorithm, public_key: bytes) -> int:
    digest = hashlib.sha256(name.encode() + b"\n" + SIGNATURE_TYPES[algorithm] + public_key).digest()
    return struct.unpack(">I", digest[:4])[0]


@dataclass(frozen=True)
class NoteKey:
    """A public key as a note verifier knows it: name, key ID and the verifier itself."""

    name: str
    key_id: int
    verifier: Verifier


@dataclass(frozen=True)
class NoteSigner:
    name: str
    key_id: int
    signer: Signer


class NoteError(ValueError):
    pass


def sign(text: str, signers: Iterable[NoteSigner]) -> str:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    lines = []
    for s in signers:
        signature = struct.pack(">I", s.key_id) + s.signer.sign(text.encode())
        lines.append(f"{EM_DASH} {s.name} {base64.b64encode(signature).decode()}\n")
    if not lines:
        raise NoteError("a note needs at least one signature")
    return text + "\n" + "".join(lines)


@dataclass(frozen=True)
class VerifiedNote:
    text: str
    verified_by: tuple[NoteKey, ...]


def open_note(note: str, known: Iterable[NoteKey]) -> VerifiedNote:
    """Return the text if at least one known key signed it and no known key's signature fails."""
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise NoteError("malformed note: no blank line before the signatures")
    text, signature_block = note[: split + 1], note[split + 2:]
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise NoteError("malformed note: control characters")
    by_identity = {(k.name, k.key_id): k for k in known}
    verified: list[NoteKey] = []
    for line in signature_block.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != EM_DASH:
            raise NoteError(f"malformed signature line: {line!r}")
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except binascii.Error:
            raise NoteError(f"signature is not base64: {line!r}") from None
        if len(raw) < 5:
            raise NoteError(f"signature too short: {line!r}")
        key = by_identity.get((parts[1], struct.unpack(">I", raw[:4])[0]))
        if key is None:
            continue  # signatures from unknown keys are ignored (signed-note spec)
        if not key.verifier.verify(raw[4:], text.encode()):
            raise NoteError(f"signature by {key.name} ({key.key_id:08x}) does not verify")
        verified.append(key)
    if not verified:
        raise NoteError("no signature from a known key")
    return VerifiedNote(text, tuple(verified))

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
import re
import struct
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from shujiao.crypto.signing import SignatureAlgorithm, Signer, Verifier

SIGNATURE_TYPES: dict[str, bytes] = {"ed25519": b"\x01", "sm2": b"\xffsm2p256v1-sm3"}
EM_DASH = "\u2014"
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f]")  # control characters other than the newline


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


class VerifiedSignatures:
    """Signatures that verified, remembered so that a verifier checking many proofs against the
    same signed checkpoint verifies its signatures once (as Certificate Transparency clients keep
    the STHs they verified). An entry is the verifier object itself (held, so it is the same public
    key), the exact signature bytes and the exact signed bytes: anything else — another note,
    another signature, another key — is a miss and is verified in full. Failures are never
    remembered. Bounded: the oldest entries go first."""

    def __init__(self, maxsize: int = 256) -> None:
        self._maxsize = maxsize
        self._ok: OrderedDict[tuple[Verifier, bytes, bytes], None] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, verifier: Verifier, signature: bytes, data: bytes) -> bool:
        entry = (verifier, bytes(signature), bytes(data))
        with self._lock:
            if entry in self._ok:
                self._ok.move_to_end(entry)
                return True
        if not verifier.verify(signature, data):
            return False
        with self._lock:
            self._ok[entry] = None
            while len(self._ok) > self._maxsize:
                self._ok.popitem(last=False)
        return True

    def clear(self) -> None:
        with self._lock:
            self._ok.clear()

    def __len__(self) -> int:
        return len(self._ok)


def open_note(note: str, known: Iterable[NoteKey], *, remembered: VerifiedSignatures | None = None) -> VerifiedNote:
    """Return the text if at least one known key signed it and no known key's signature fails.
    With ``remembered``, a signature already verified over these exact bytes by this exact
    verifier is not verified again (every other check still runs)."""
    if not isinstance(note, str):
        raise ValueError("a signed note is text")
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise NoteError("malformed note: no blank line before the signatures")
    text, signature_block = note[: split + 1], note[split + 2:]
    if _CONTROL.search(note):
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
        ok = (remembered.verify(key.verifier, raw[4:], text.encode()) if remembered is not None
              else key.verifier.verify(raw[4:], text.encode()))
        if not ok:
            raise NoteError(f"signature by {key.name} ({key.key_id:08x}) does not verify")
        verified.append(key)
    if not verified:
        raise NoteError("no signature from a known key")
    return VerifiedNote(text, tuple(verified))

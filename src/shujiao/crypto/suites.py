"""The two algorithm suites, chosen by ``SHUJIAO_CRYPTO__SUITE``."""

from __future__ import annotations

from shujiao.config import Settings
from shujiao.crypto import note
from shujiao.crypto.hashing import SHA256, SM3, Hash
from shujiao.crypto.models import CryptoKey
from shujiao.crypto.signing import load_verifier

SUITES: dict[str, dict[str, str]] = {
    "gm": {"signature": "sm2", "hash": "sm3", "aead": "sm4-gcm"},
    "international": {"signature": "ed25519", "hash": "sha256", "aead": "aes-256-gcm"},
}


def suite_hash(settings: Settings) -> Hash:
    return SM3 if settings.crypto.suite == "gm" else SHA256


def note_key(row: CryptoKey) -> note.NoteKey:
    """A stored signing key as a signed-note verifier knows it."""
    return note.NoteKey(row.note_name or "", row.note_key_id or 0,
                        load_verifier(row.algorithm, row.public_pem or ""))  # type: ignore[arg-type]

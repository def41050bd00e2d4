"""The exchange's keys: created by ``shujiao keys init``, rotated by ``shujiao keys rotate``.

Private keys are files under ``settings.key_dir``: signing keys as encrypted PKCS#8 PEM, master
(key-wrapping) keys as a small JSON document holding the key sealed with a key-encryption key.
Both secrets derive from ``SHUJIAO_SECRET_KEY`` (HKDF-SHA256, one ``info`` label each), so a copy of
the key folder alone opens nothing. The rows in ``crypto_key`` — shared by every server process —
say which keys exist and which are active; a loaded private key is cached per process by its id,
which is safe because a key id always names the same key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from shujiao.audit import service as audit
from shujiao.commands import Actor, command, query, require_system
from shujiao.config import Settings
from shujiao.crypto import note
from shujiao.crypto.aead import KEY_SIZES, Aead, AeadAlgorithm
from shujiao.crypto.models import CryptoKey
from shujiao.crypto.signing import SignatureAlgorithm, Signer, generate_signer, load_signer
from shujiao.crypto.suites import SUITES
from shujiao.db import utcnow
from shujiao.errors import DomainError, InvalidInput

class KeysMissing(DomainError):
    status_code = 503
    code = "keys_missing"


def _derive(secret_key: str, label: bytes, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=label).derive(secret_key.encode())


def _key_file_passphrase(settings: Settings) -> bytes:
    return base64.b64encode(_derive(settings.secret_key, b"shujiao/key-file-passphrase"))


def _key_path(settings: Settings, key_id: str) -> Path:
    return settings.key_dir / f"{key_id}.pem"


def _write_private(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())
    partial.rename(path)


def _new_signing_key(session: Session, settings: Settings, algorithm: SignatureAlgorithm) -> CryptoKey:
    signer = generate_signer(algorithm)
    verifier = signer.verifier()
    public = verifier.public_bytes()
    key_id = f"{algorithm}-{hashlib.sha256(public).hexdigest()[:16]}"
    _write_private(_key_path(settings, key_id), signer.private_pem(_key_file_passphrase(settings)))
    row = CryptoKey(id=key_id, purpose="signing", algorithm=algorithm, note_name=settings.crypto.key_name,
                    note_key_id=note.key_id(settings.crypto.key_name, algorithm, public),
                    public_pem=verifier.public_pem(), valid_from=utcnow())
    session.add(row)
    return row


def _new_master_key(session: Session, settings: Settings, algorithm: AeadAlgorithm) -> CryptoKey:
    key = Aead.generate_key(algorithm)
    key_id = f"master-{algorithm}-{os.urandom(8).hex()}"
    wrapping = Aead(algorithm, _derive(settings.secret_key, b"shujiao/master-key-wrap", KEY_SIZES[algorithm]))
    nonce = os.urandom(12)
    document = {"id": key_id, "algorithm": algorithm, "nonce": base64.b64encode(nonce).decode(),
                "sealed": base64.b64encode(wrapping.seal(nonce, key, key_id.encode())).decode()}
    _write_private(_key_path(settings, key_id), json.dumps(document).encode())
    row = CryptoKey(id=key_id, purpose="master", algorithm=algorithm, valid_from=utcnow())
    session.add(row)
    return row


def _active(session: Session, purpose: str, algorithm: str) -> CryptoKey | None:
    return session.scalars(
        select(CryptoKey).where(CryptoKey.purpose == purpose, CryptoKey.algorithm == algorithm,
                                CryptoKey.valid_to.is_(None))
    ).first()


def _record_new(session: Session, row: CryptoKey) -> None:
    audit.record(session, subject_type="crypto_key", subject_id=row.id,
                 change={"created": {"purpose": row.purpose, "algorithm": row.algorithm,
                                     "note_key_id": row.note_key_id, "public_pem": row.public_pem}})


@command("keys.init")
def init_keys(session: Session, actor: Actor, *, settings: Settings) -> list[CryptoKey]:
    """Create what is missing: an active Ed25519 and SM2 signing key (checkpoints carry both, so
    that standard tlog tools and national-crypto tools can each verify), and a master key for the
    suite's cipher. Safe to run again."""
    require_system(actor)
    created: list[CryptoKey] = []
    for algorithm in ("ed25519", "sm2"):
        if _active(session, "signing", algorithm) is None:
            created.append(_new_signing_key(session, settings, algorithm))  # type: ignore[arg-type]
    aead = SUITES[settings.crypto.suite]["aead"]
    if _active(session, "master", aead) is None:
        created.append(_new_master_key(session, settings, aead))  # type: ignore[arg-type]
    session.flush()
    for row in created:
        _record_new(session, row)
    if not created:
        audit.record(session, subject_type="crypto_key", subject_id="*", change={"init": "nothing missing"})
    return created


@command("keys.rotate")
def rotate(session: Session, actor: Actor, *, settings: Settings, purpose: str, algorithm: str) -> CryptoKey:
    """Retire the active key of this purpose and algorithm and make a new one. The old key stays:
    signatures it made still verify, data it wrapped still opens."""
    require_system(actor)
    if purpose == "signing" and algorithm in ("ed25519", "sm2"):
        new = _new_signing_key(session, settings, algorithm)  # type: ignore[arg-type]
    elif purpose == "master" and algorithm in KEY_SIZES:
        new = _new_master_key(session, settings, algorithm)  # type: ignore[arg-type]
    else:
        raise InvalidInput("未知的密钥类型", f"unknown key: purpose {purpose!r}, algorithm {algorithm!r}")
    old = _active(session, purpose, algorithm)
    if old is not None:
        old.valid_to = utcnow()
    session.flush()
    _record_new(session, new)
    if old is not None:
        audit.record(session, subject_type="crypto_key", subject_id=old.id,
                     change={"retired": {"valid_to": old.valid_to, "replaced_by": new.id}})
    return new


@query
def public_keys(session: Session) -> Sequence[CryptoKey]:
    """Every signing key, active or retired, newest first."""
    return session.scalars(
        select(CryptoKey).where(CryptoKey.purpose == "signing").order_by(CryptoKey.valid_from.desc(), CryptoKey.id)
    ).all()


@query
def public_key_entries(session: Session) -> list[dict[str, Any]]:
    """Every signing key as offline verifiers read it (``tlog.offline.keys_from_document``): in a
    log export, in a certificate bundle."""
    return [{"id": k.id, "algorithm": k.algorithm, "note_name": k.note_name or "", "note_key_id": k.note_key_id or 0,
             "public_pem": k.public_pem or ""} for k in public_keys(session)]


_loaded: dict[tuple[str, str], Any] = {}
_load_lock = threading.Lock()


def _load_key_file(settings: Settings, row: CryptoKey, open_file: Callable[[bytes], Any]) -> Any:
    """The key named by ``row``, opened from its file once per process."""
    cache_key = (str(settings.key_dir.resolve()), row.id)
    with _load_lock:
        if cache_key not in _loaded:
            path = _key_path(settings, row.id)
            if not path.exists():
                raise KeysMissing("密钥文件缺失", f"key file for {row.id} is missing under {settings.key_dir}")
            _loaded[cache_key] = open_file(path.read_bytes())
        return _loaded[cache_key]


def _load_signer(settings: Settings, row: CryptoKey) -> Signer:
    return _load_key_file(settings, row, lambda pem: load_signer(
        row.algorithm, pem, _key_file_passphrase(settings)))  # type: ignore[arg-type]


@dataclass(frozen=True)
class ActiveSigner:
    key: CryptoKey
    signer: Signer

    def note_signer(self) -> note.NoteSigner:
        return note.NoteSigner(self.key.note_name or "", self.key.note_key_id or 0, self.signer)


@query
def active_signers(session: Session, settings: Settings) -> list[ActiveSigner]:
    """The active signing keys, the suite's own algorithm first. Refuses if ``keys init`` never ran."""
    rows = session.scalars(
        select(CryptoKey).where(CryptoKey.purpose == "signing", CryptoKey.valid_to.is_(None))
    ).all()
    if not rows:
        raise KeysMissing("尚未生成签名密钥（运行 shujiao keys init）",
                          "no signing keys yet (run `shujiao keys init`)")
    preferred = SUITES[settings.crypto.suite]["signature"]
    rows = sorted(rows, key=lambda r: (r.algorithm != preferred, r.id))
    return [ActiveSigner(row, _load_signer(settings, row)) for row in rows]


def _load_master(settings: Settings, row: CryptoKey) -> Aead:
    def open_file(content: bytes) -> Aead:
        document = json.loads(content)
        algorithm = document["algorithm"]
        wrapping = Aead(algorithm, _derive(settings.secret_key, b"shujiao/master-key-wrap", KEY_SIZES[algorithm]))
        key = wrapping.open(base64.b64decode(document["nonce"]), base64.b64decode(document["sealed"]), row.id.encode())
        return Aead(algorithm, key)

    return _load_key_file(settings, row, open_file)


@dataclass(frozen=True)
class MasterKey:
    id: str
    aead: Aead

    def wrap(self, data_key: bytes, *, context: bytes) -> bytes:
        """Seal a per-object data key; ``context`` (e.g. the dataset id) is bound in as associated
        data so that a wrapped key cannot be moved to another object."""
        nonce = os.urandom(12)
        return nonce + self.aead.seal(nonce, data_key, context)

    def unwrap(self, wrapped: bytes, *, context: bytes) -> bytes:
        return self.aead.open(wrapped[:12], wrapped[12:], context)


@query
def master_key(session: Session, settings: Settings, *, key_id: str | None = None) -> MasterKey:
    """The active master key of the suite's cipher, or — to unwrap older data — the one named."""
    if key_id is None:
        row = _active(session, "master", SUITES[settings.crypto.suite]["aead"])
    else:
        row = session.get(CryptoKey, key_id)
        if row is not None and row.purpose != "master":
            row = None
    if row is None:
        raise KeysMissing("尚未生成主密钥（运行 shujiao keys init）", "no master key yet (run `shujiao keys init`)")
    return MasterKey(row.id, _load_master(settings, row))


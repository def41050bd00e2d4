"""Signed certificate statements and the offline bundle that proves one (离线核验包).

A statement is the certificate's whole state after one event, as canonical JSON (the rules of
``audit/canonical.py``), signed by the exchange with the suite's algorithm (SM2 with SM3 and the
default ID in ``gm``, Ed25519 in ``international``)::

    {"type": "shujiao.certificate/v1", "number": …, "seq": 3, "event": "pledged", "at": …,
     "status": "pledged", "version": 1, "holder": {"name": …, "credit_code": …, "member_id": …},
     "right": "holding", "subject": {"type": "dataset", "id": …, "title": …}, "description": …,
     "content_sha256": …, "schema_fingerprint": …, "source": …, "valid_from": …, "valid_until": …,
     "issued_at": …, "pledgee": {…} | null, "detail": {…}, "previous": "sm3:<hex>" | "",
     "key_id": …, "exchange": …}

``previous`` is the suite hash of the previous statement's bytes, so the history is a chain. Each
statement is also the ``change`` of an audit record (subject ``certificate`` / number), so it is a
leaf of the transparency log.

Bundle (``GET /api/v1/certificates/{number}/bundle``)::

    {"number": …, "statement": "<signed bytes>", "signature": "<base64>", "key_id": …,
     "keys": <GET /api/v1/keys>, "log": <a log proof bundle, see tlog/offline.py>}

``verify_bundle`` checks, with no network: the signature over the statement by the named key; the
log proof of the record (leaf → inclusion proof → signed checkpoint); and that the record is the
statement's own (same certificate, same bytes, same signature and key).

Checking many bundles in one process (an auditor going through a registry's certificates) costs
about one signature verification each: the keys' PEM is parsed once per process
(``tlog.offline.cached_verifier``) and a checkpoint's signatures, which every bundle proven against
that checkpoint carries, are verified once and remembered (``note.VerifiedSignatures``, bounded).
Each bundle's own statement signature, leaf hash and inclusion proof are verified every time.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shujiao.audit import canonical
from shujiao.crypto import note
from shujiao.tlog import offline as tlog_offline

STATEMENT_TYPE = "shujiao.certificate/v1"

# Checkpoint signatures that verified in this process (see the module's docstring).
_checkpoint_signatures = note.VerifiedSignatures(maxsize=256)


def clear_caches() -> None:
    """Forget parsed keys and verified checkpoint signatures (benchmarks start cold with it)."""
    _checkpoint_signatures.clear()
    tlog_offline.cached_verifier.cache_clear()


def statement_bytes(document: dict[str, Any]) -> bytes:
    return canonical.dumps(document).encode("utf-8")


@dataclass(frozen=True)
class BundleCheck:
    ok: bool
    problems: list[str] = field(default_factory=list)
    statement: dict[str, Any] = field(default_factory=dict)
    log_message: str = ""
    keys_pinned: bool = False

    def effective_status(self, now: dt.datetime) -> str:
        """The status as of ``now``: a live certificate past its validity is expired."""
        status = self.statement.get("status", "")
        until = self.statement.get("valid_until")
        if status in ("valid", "pledged") and until and dt.datetime.fromisoformat(until.replace("Z", "+00:00")) <= now:
            return "expired"
        return status


def verify_bundle(bundle: Any, keys_document: dict[str, Any] | None = None) -> BundleCheck:
    """Check a certificate bundle. ``keys_document`` (the saved ``GET /api/v1/keys``) pins the keys;
    without it the bundle's own copy is used, which proves integrity but not who signed."""
    return verify_statement_bundle(bundle, keys_document, statement_type=STATEMENT_TYPE, subject_type="certificate",
                                   id_field="number", id_of=lambda statement: statement.get("number"))


def verify_statement_bundle(bundle: Any, keys_document: dict[str, Any] | None, *, statement_type: str,
                            subject_type: str, id_field: str,
                            id_of: Callable[[dict[str, Any]], Any]) -> BundleCheck:
    """Check any bundle of a statement the exchange signed and logged as the ``change`` of an audit
    record (``statement``, ``signature``, ``key_id``): certificates here, assessors' signatures of
    quality reports (``quality/signature.py``). ``bundle[id_field]`` names the subject; the statement
    must name the same one (``id_of``) and the log record must be about it (``subject_type``)."""
    pinned = keys_document is not None
    keys = keys_document if pinned else (bundle.get("keys") if isinstance(bundle, dict) else None)
    try:
        subject_id = bundle[id_field]
        text = bundle["statement"]
        signature_b64 = bundle["signature"]
        key_id = bundle["key_id"]
        signature = base64.b64decode(signature_b64, validate=True)
        statement = json.loads(text)
        log = bundle["log"]
        key_entry = next((k for k in keys["keys"] if k["id"] == key_id), None)  # type: ignore[index]
        note_keys = tlog_offline.keys_from_document(keys)  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return BundleCheck(False, [f"unusable bundle: {exc!r}"], keys_pinned=pinned)

    problems: list[str] = []
    if not isinstance(statement, dict) or statement.get("type") != statement_type:
        problems.append(f"the statement is not a {statement_type} statement")
        statement = {}
    else:
        try:
            names = id_of(statement)
        except (KeyError, TypeError, AttributeError):
            names = None
        if names != subject_id or statement.get("key_id") != key_id:
            problems.append(f"the statement names another {subject_type} or key than the bundle")
    try:
        canonical_form = text.encode("utf-8") == statement_bytes(statement)
    except (TypeError, ValueError):  # e.g. a float, which statements never hold
        canonical_form = False
    if not canonical_form:
        problems.append("the statement is not in canonical form")

    if key_entry is None:
        problems.append(f"key {key_id} is not among the exchange's keys")
    else:
        try:
            verifier = tlog_offline.cached_verifier(key_entry["algorithm"], key_entry["public_pem"])
            verified = verifier.verify(signature, text.encode("utf-8"))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"key {key_id} is unusable: {exc!r}")
        else:
            if not verified:
                problems.append("the exchange's signature over the statement does not verify")

    log_message = ""
    if not isinstance(log, dict) or log.get("leaf") is None:
        problems.append("the log proof carries no record")
    else:
        result = tlog_offline.verify_bundle(log, note_keys, remembered=_checkpoint_signatures)
        log_message = result.message
        if not result.ok:
            problems.append(f"log proof: {result.message}")
        try:
            record = json.loads(log["leaf"])
            change = record["change"]
            same = (record["subject"] == {"type": subject_type, "id": subject_id}
                    and change.get("statement") == text and change.get("signature") == signature_b64
                    and change.get("key_id") == key_id)
        except (KeyError, TypeError, ValueError, AttributeError):
            same = False
        if not same:
            problems.append("the log record is not this statement")
    return BundleCheck(not problems, problems, statement, log_message, pinned)

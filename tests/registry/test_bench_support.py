"""What bench/registry.py needed: batch approval, and bundle verification that parses keys once and
verifies a shared checkpoint once — without letting any tampered bundle through."""

from __future__ import annotations

import base64
import copy
import json

import pytest
from cryptography.exceptions import UnsupportedAlgorithm
from sqlalchemy import select

from shujiao.audit.models import AuditEvent
from shujiao.crypto import note
from shujiao.crypto.signing import generate_signer
from shujiao.db import unit_of_work
from shujiao.errors import Conflict, InvalidInput, PermissionDenied
from shujiao.registry import service, statement
from shujiao.registry.models import Application
from shujiao.registry.schemas import ApplicationDecision
from shujiao.tlog import offline
from tests.factories import make_dataset, make_member, make_operator
from tests.registry.test_lifecycle import apply_for, end_publicity

APPROVE = ApplicationDecision(decision="approve")


@pytest.fixture
def world(session_factory, storage, settings):  # type: ignore[no-untyped-def]
    operator = make_operator(session_factory)
    provider = make_member(session_factory, operator)
    _, dataset_id = make_dataset(session_factory, storage, provider, settings=settings)
    return operator, provider, dataset_id


def ready(factory, settings, provider, dataset_id, count):  # type: ignore[no-untyped-def]
    ids = [apply_for(factory, settings, provider, dataset_id) for _ in range(count)]
    for application_id in ids:
        end_publicity(factory, application_id)
    return ids


# --- decide_applications ----------------------------------------------------------------------

def test_a_batch_approval_issues_each_certificate_and_records_each_decision_and_the_batch(
        session_factory, settings, world):  # type: ignore[no-untyped-def]
    operator, provider, dataset_id = world
    ids = ready(session_factory, settings, provider, dataset_id, 3)
    with unit_of_work(session_factory) as session:
        decided = service.decide_applications(session, operator.actor, settings=settings, application_ids=ids,
                                              decision=APPROVE)
        assert [a.id for a in decided] == ids
    with unit_of_work(session_factory) as session:
        numbers = [n for i in ids for n in service.certificates_of_application(session, application_id=i)]
        assert len(numbers) == 3
        records = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "registry.application.decide_batch")).all()
        decisions = [r for r in records if r.subject_type == "registry_application" and r.subject_id != "*"]
        assert sorted(int(r.subject_id) for r in decisions) == ids
        assert all(json.loads(r.change_json)["status"] == {"from": "publicity", "to": "approved"} for r in decisions)
        [batch] = [r for r in records if r.subject_id == "*"]
        assert json.loads(batch.change_json)["batch"]["application_ids"] == ids
        assert batch.actor_member_id == operator.member_id
        bundles = [service.bundle(session, settings=settings, number=n) for n in numbers]
    for b in bundles:
        check = statement.verify_bundle(b, b["keys"])
        assert check.ok, check.problems
        assert check.statement["event"] == "issued" and check.statement["holder"]["member_id"] == provider.member_id


def test_a_batch_is_all_or_nothing(session_factory, settings, world):  # type: ignore[no-untyped-def]
    operator, provider, dataset_id = world
    ids = ready(session_factory, settings, provider, dataset_id, 2)
    still_public = apply_for(session_factory, settings, provider, dataset_id)  # comment period not over
    with pytest.raises(Conflict) as refused, unit_of_work(session_factory) as session:
        service.decide_applications(session, operator.actor, settings=settings,
                                    application_ids=[*ids, still_public], decision=APPROVE)
    assert refused.value.code == "publicity_not_over"
    with unit_of_work(session_factory) as session:
        statuses = session.scalars(select(Application.status).where(Application.id.in_([*ids, still_public]))).all()
        assert set(statuses) == {"publicity"}
        assert all(not service.certificates_of_application(session, application_id=i) for i in ids)


def test_only_the_operator_decides_a_batch_and_a_batch_names_each_application_once(
        session_factory, settings, world):  # type: ignore[no-untyped-def]
    operator, provider, dataset_id = world
    ids = ready(session_factory, settings, provider, dataset_id, 2)
    with pytest.raises(PermissionDenied), unit_of_work(session_factory) as session:
        service.decide_applications(session, provider.actor, settings=settings, application_ids=ids, decision=APPROVE)
    for bad, code in [([ids[0], ids[0]], "duplicate_application"), ([], "empty_batch"),
                      (list(range(1, 1002)), "batch_too_large")]:
        with pytest.raises(InvalidInput) as refused, unit_of_work(session_factory) as session:
            service.decide_applications(session, operator.actor, settings=settings, application_ids=bad,
                                        decision=APPROVE)
        assert refused.value.code == code
    with unit_of_work(session_factory) as session:
        rejected = service.decide_applications(session, operator.actor, settings=settings, application_ids=ids,
                                               decision=ApplicationDecision(decision="reject", reason="材料不全"))
        assert {a.status for a in rejected} == {"rejected"}
        assert all(not service.certificates_of_application(session, application_id=i) for i in ids)


# --- verification with caches -------------------------------------------------------------------

def tampered(bundle, other):  # type: ignore[no-untyped-def]
    """Every way of changing a bundle that verify_bundle must catch."""
    signature = bytearray(base64.b64decode(bundle["signature"]))
    signature[-1] ^= 1
    note_text, block = bundle["log"]["checkpoint"].split("\n\n")
    lines = block.splitlines()
    raw = bytearray(base64.b64decode(lines[0].split(" ")[2]))
    raw[-1] ^= 1
    bad_line = " ".join(lines[0].split(" ")[:2] + [base64.b64encode(bytes(raw)).decode()])
    cases = {
        "statement": dict(bundle, statement=bundle["statement"].replace('"status":"valid"', '"status":"revoked"')),
        "signature": dict(bundle, signature=base64.b64encode(bytes(signature)).decode()),
        "leaf hash": {**bundle, "log": {**bundle["log"], "leaf_hash": base64.b64encode(bytes(32)).decode()}},
        "proof": {**bundle, "log": {**bundle["log"], "proof": list(reversed(bundle["log"]["proof"]))}},
        "another record": {**bundle, "log": other["log"]},
        "checkpoint text": {**bundle, "log": {**bundle["log"], "checkpoint": bundle["log"]["checkpoint"].replace(
            "\n", "\n ", 1)}},
        "checkpoint signature": {**bundle, "log": {**bundle["log"], "checkpoint": "\n\n".join(
            [note_text, "\n".join([bad_line, *lines[1:]]) + "\n"])}},
    }
    assert len({json.dumps(c, sort_keys=True) for c in cases.values()} | {json.dumps(bundle, sort_keys=True)}) == 8
    return cases


def test_with_warm_caches_every_tampered_bundle_still_fails(
        session_factory, settings, world):  # type: ignore[no-untyped-def]
    operator, provider, dataset_id = world
    ids = ready(session_factory, settings, provider, dataset_id, 3)
    with unit_of_work(session_factory) as session:
        service.decide_applications(session, operator.actor, settings=settings, application_ids=ids, decision=APPROVE)
    with unit_of_work(session_factory) as session:
        numbers = [n for i in ids for n in service.certificates_of_application(session, application_id=i)]
        bundles = [service.bundle(session, settings=settings, number=n) for n in numbers]
    keys_document = bundles[0]["keys"]
    assert len({b["log"]["checkpoint"] for b in bundles}) == 1  # they share the checkpoint that covers them all

    statement.clear_caches()
    for b in bundles:
        assert statement.verify_bundle(b, keys_document).ok
    assert len(statement._checkpoint_signatures) == 2  # the checkpoint's Ed25519 and SM2 signatures, once each
    for name, bad in tampered(bundles[-1], bundles[0]).items():
        check = statement.verify_bundle(bad, keys_document)
        assert not check.ok, name
    # ... and the caches did not learn anything from the failures
    assert len(statement._checkpoint_signatures) == 2
    assert statement.verify_bundle(copy.deepcopy(bundles[1]), keys_document).ok


def test_remembered_signatures_are_keyed_by_verifier_signature_and_bytes() -> None:
    signer = generate_signer("sm2")
    verifier = signer.verifier()
    other = generate_signer("sm2").verifier()
    memo = note.VerifiedSignatures(maxsize=2)
    sig = signer.sign(b"text\n")
    assert memo.verify(verifier, sig, b"text\n") and len(memo) == 1
    assert memo.verify(verifier, sig, b"text\n") and len(memo) == 1
    assert not memo.verify(verifier, sig, b"text!\n")  # other bytes: verified, fails, not remembered
    assert not memo.verify(other, sig, b"text\n")  # another key
    assert not memo.verify(verifier, sig[:-1] + bytes([sig[-1] ^ 1]), b"text\n")
    assert len(memo) == 1
    for i in range(3):  # bounded
        data = f"n{i}\n".encode()
        assert memo.verify(verifier, signer.sign(data), data)
    assert len(memo) == 2


def test_open_note_with_a_memo_still_rejects_a_bad_signature_of_a_known_key() -> None:
    sm2, ed = generate_signer("sm2"), generate_signer("ed25519")
    keys = [note.NoteKey("k", note.key_id("k", "sm2", sm2.verifier().public_bytes()), sm2.verifier()),
            note.NoteKey("k", note.key_id("k", "ed25519", ed.verifier().public_bytes()), ed.verifier())]
    signers = [note.NoteSigner(k.name, k.key_id, s) for k, s in zip(keys, (sm2, ed))]
    signed = note.sign("origin\n3\nroot\n", signers)
    memo = note.VerifiedSignatures()
    assert note.open_note(signed, keys, remembered=memo).text == "origin\n3\nroot\n"
    assert len(memo) == 2
    # The same text with one good and one bad signature: the good one is remembered, the bad one fails.
    good_line, ed_line = signed.split("\n\n")[1].splitlines()
    raw = bytearray(base64.b64decode(ed_line.split(" ")[2]))
    raw[-1] ^= 1
    bad = "origin\n3\nroot\n\n" + good_line + "\n" + " ".join(ed_line.split(" ")[:2] + [
        base64.b64encode(bytes(raw)).decode()]) + "\n"
    with pytest.raises(note.NoteError):
        note.open_note(bad, keys, remembered=memo)
    with pytest.raises(note.NoteError):
        note.open_note(signed.replace("root", "toor"), keys, remembered=memo)


def test_verifiers_are_parsed_once_per_pem_and_bad_pem_always_fails() -> None:
    verifier = generate_signer("sm2").verifier()
    pem = verifier.public_pem()
    offline.cached_verifier.cache_clear()
    first = offline.cached_verifier("sm2", pem)
    assert offline.cached_verifier("sm2", pem) is first
    assert first.public_bytes() == verifier.public_bytes()
    for _ in range(2):
        with pytest.raises((ValueError, UnsupportedAlgorithm)):
            offline.cached_verifier("ed25519", pem)  # an SM2 key is no Ed25519 key, every time

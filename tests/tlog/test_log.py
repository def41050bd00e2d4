"""The audit record as a transparency log: a trade's records proven offline, and tampering found."""

from __future__ import annotations

import base64
import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from shujiao.commands import SYSTEM
from shujiao.crypto import service as keys
from shujiao.crypto.hashing import SM3
from shujiao.db import unit_of_work
from shujiao.tlog import checkpoint, merkle, offline
from shujiao.tlog import service as tlog
from shujiao.tlog.verify import SignedCheckpoint, verify
from shujiao.crypto.suites import note_key
from tests.api import market_with_one_product


@pytest.fixture
def with_keys(session_factory, settings):
    with unit_of_work(session_factory) as session:
        keys.init_keys(session, SYSTEM, settings=settings)


def _full_trade(client, session_factory) -> tuple[int, object]:
    market = market_with_one_product(client, session_factory)
    order_id = market.order(client)
    assert client.post(f"/api/v1/orders/{order_id}/pay", headers=market.buyer).status_code == 200
    delivery = client.get(f"/api/v1/orders/{order_id}/delivery", headers=market.buyer).json()
    assert client.get(delivery["download_url"], headers=market.buyer).status_code == 200
    assert client.post(f"/api/v1/orders/{order_id}/accept", headers=market.buyer).status_code == 200
    return order_id, market


def _verify_database_log(session_factory, settings):
    with unit_of_work(session_factory) as session:
        head = tlog.head(session)
        return verify(head.hash, list(tlog.iter_leaves(session)), stored_nodes=list(tlog.iter_nodes(session)),
                      checkpoints=[SignedCheckpoint(c.tree_size, c.note) for c in tlog.checkpoints(session)],
                      keys=[note_key(k) for k in tlog.signing_keys(session)], origin=settings.log.origin)


def test_a_full_trade_is_in_the_log_and_verifies_offline(client, session_factory, with_keys):
    order_id, market = _full_trade(client, session_factory)
    public_keys = client.get("/api/v1/keys").json()
    assert {k["algorithm"] for k in public_keys["keys"]} == {"ed25519", "sm2"}
    known = offline.keys_from_document(public_keys)

    evidence = client.get(f"/api/v1/orders/{order_id}/evidence", headers=market.buyer)
    assert evidence.status_code == 200, evidence.text
    entries = evidence.json()["entries"]
    actions = [json.loads(e["leaf"])["action"] for e in entries]
    assert actions == ["market.order.create", "market.order.pay", "delivery.link.issue",
                       "market.order.deliver", "delivery.download", "market.order.accept"]
    for entry in entries:
        result = offline.verify_bundle(entry, known)
        assert result.ok, result.message
        # Changing one character of the record breaks it.
        forged = dict(entry, leaf=entry["leaf"].replace('"market.', '"markets.', 1).replace('"delivery.', '"deliverx.', 1))
        assert not offline.verify_bundle(forged, known).ok
    # The provider sees the same evidence; a stranger gets 404.
    assert client.get(f"/api/v1/orders/{order_id}/evidence", headers=market.seller).status_code == 200
    assert client.get(f"/api/v1/orders/{order_id}/evidence").status_code in (401, 404)

    # The checkpoint endpoint serves the C2SP format, signed by both keys.
    note_text = client.get("/api/v1/log/checkpoint").text
    signed = offline.note.open_note(note_text, known)
    assert len(signed.verified_by) == 2
    head = checkpoint.parse(signed.text)
    assert head.origin == "shujiao.local/log" and head.tree_size >= entries[-1]["index"] + 1


def test_entries_reveal_records_only_to_who_may_read_them(client, session_factory, with_keys):
    order_id, market = _full_trade(client, session_factory)
    index = client.get(f"/api/v1/orders/{order_id}/evidence", headers=market.buyer).json()["entries"][0]["index"]
    anonymous = client.get(f"/api/v1/log/entries/{index}")
    assert anonymous.status_code == 200 and anonymous.json()["leaf"] is None
    assert offline.verify_bundle(anonymous.json(), offline.keys_from_document(client.get("/api/v1/keys").json())).ok
    assert client.get(f"/api/v1/log/entries/{index}", headers=market.seller).json()["leaf"] is None
    assert client.get(f"/api/v1/log/entries/{index}", headers=market.buyer).json()["leaf"] is not None
    assert client.get(f"/api/v1/log/entries/{index}", headers=market.op).json()["leaf"] is not None
    assert client.get("/api/v1/log/entries/999999").status_code == 404
    assert client.get("/api/v1/log/entries/-1").status_code == 422


def test_consistency_between_two_checkpoints(client, session_factory, with_keys, settings):
    market_with_one_product(client, session_factory)
    first = checkpoint.parse(client.get("/api/v1/log/checkpoint").text.split("\n\n")[0] + "\n")
    with unit_of_work(session_factory) as session:
        keys.rotate(session, SYSTEM, settings=settings, purpose="signing", algorithm="sm2")  # grows the log
    with unit_of_work(session_factory) as session:
        second = tlog.publish_checkpoint(session, SYSTEM, settings=settings, force=True)
    assert second.tree_size > first.tree_size
    body = client.get("/api/v1/log/consistency", params={"first": first.tree_size, "second": second.tree_size}).json()
    proof = [base64.b64decode(p) for p in body["proof"]]
    assert merkle.verify_consistency(SM3.digest, first.tree_size, second.tree_size, proof, first.root, second.root)
    assert not merkle.verify_consistency(SM3.digest, first.tree_size, second.tree_size, proof, second.root, second.root)
    bad = client.get("/api/v1/log/consistency", params={"first": second.tree_size + 1, "second": second.tree_size})
    assert bad.status_code == 422 and "error" in bad.json()
    # Sizes beyond the log (or beyond any log) are the caller's error, found with the proof's one query.
    for params in ({"first": 1, "second": second.tree_size + 1000}, {"first": 1, "second": 2**60}):
        beyond = client.get("/api/v1/log/consistency", params=params)
        assert beyond.status_code == 422 and beyond.json()["error"]["code"], beyond.text
    for tree_size in (second.tree_size + 1000, 2**62):
        beyond = client.get("/api/v1/log/entries/0", params={"tree_size": tree_size})
        assert beyond.status_code == 422 and beyond.json()["error"]["code"], beyond.text
    # Both keys (the retired SM2 one too) still verify the old checkpoint.
    known = offline.keys_from_document(client.get("/api/v1/keys").json())
    assert len(known) == 3
    with unit_of_work(session_factory) as session:
        old = tlog.checkpoint_at(session, tree_size=first.tree_size)
    assert len(offline.note.open_note(old.note, known).verified_by) == 2


def _lift_guards(session, backend):
    if backend == "postgresql":
        session.execute(sa.text("SET LOCAL session_replication_role = replica"))  # superuser: triggers off
    else:
        for table in ("audit_event", "log_node"):
            for verb in ("update", "delete"):
                session.execute(sa.text(f"DROP TRIGGER IF EXISTS {table}_no_{verb}"))


@pytest.mark.parametrize("tampering", ["edit", "delete", "reorder", "rewrite_node"])
def test_direct_database_tampering_is_found_at_the_first_bad_record(client, session_factory, settings, backend,
                                                                     with_keys, tampering):
    _full_trade(client, session_factory)
    with unit_of_work(session_factory) as session:
        tlog.publish_checkpoint(session, SYSTEM, settings=settings, force=True)
    assert _verify_database_log(session_factory, settings).ok
    with pytest.raises(sa.exc.DatabaseError):  # the guard itself
        with unit_of_work(session_factory) as session:
            session.execute(sa.text("UPDATE audit_event SET change_json = '{}' WHERE leaf_index = 5"))
    with unit_of_work(session_factory) as session:
        _lift_guards(session, backend)
        if tampering == "edit":
            session.execute(sa.text("UPDATE audit_event SET actor_label = 'someone else' WHERE leaf_index = 5"))
        elif tampering == "delete":
            session.execute(sa.text("DELETE FROM audit_event WHERE leaf_index = 5"))
        elif tampering == "reorder":
            session.execute(sa.text("UPDATE audit_event SET leaf_index = -1 WHERE leaf_index = 5"))
            session.execute(sa.text("UPDATE audit_event SET leaf_index = 5 WHERE leaf_index = 6"))
            session.execute(sa.text("UPDATE audit_event SET leaf_index = 6 WHERE leaf_index = -1"))
        else:  # forge the record and rewrite its leaf hash to match: only the signed root can tell
            session.execute(sa.text("UPDATE audit_event SET actor_label = 'someone else' WHERE leaf_index = 5"))
            row = session.scalars(sa.select(tlog.AuditEvent).where(tlog.AuditEvent.leaf_index == 5)).one()
            forged = merkle.leaf_hash(SM3.digest, tlog.canonical.event_bytes(row))
            session.execute(sa.text("UPDATE log_node SET hash = :h WHERE id = :id"),
                            {"h": forged, "id": merkle.node_id((5, 0))})
    report = _verify_database_log(session_factory, settings)
    assert not report.ok
    if tampering == "rewrite_node":
        assert any("root signed in the checkpoint" in p for p in report.problems)
    else:
        assert report.first_bad_leaf == 5, report.problems


def test_export_and_offline_cli_verification(client, session_factory, settings, with_keys, tmp_path, monkeypatch):
    order_id, market = _full_trade(client, session_factory)
    entry = client.get(f"/api/v1/orders/{order_id}/evidence", headers=market.buyer).json()["entries"][-1]
    (tmp_path / "bundle.json").write_text(json.dumps(entry))
    (tmp_path / "keys.json").write_text(client.get("/api/v1/keys").text)
    sm2_pem = next(k["public_pem"] for k in client.get("/api/v1/keys").json()["keys"] if k["algorithm"] == "sm2")
    (tmp_path / "sm2.pem").write_text(sm2_pem)

    from shujiao import cli_support
    from shujiao.cli import app as cli

    monkeypatch.setattr(cli_support, "settings", lambda: settings)
    cli_support.session_factory.cache_clear()
    monkeypatch.setattr(cli_support, "session_factory", lambda: session_factory)
    runner = CliRunner()
    for args in (["log", "verify-proof", str(tmp_path / "bundle.json"), "--keys", str(tmp_path / "keys.json")],
                 ["log", "verify-proof", str(tmp_path / "bundle.json"), "--key", str(tmp_path / "sm2.pem")]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0 and "verified" in result.output, result.output
    forged = dict(entry, leaf=entry["leaf"].replace("accept", "reject"))
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    result = runner.invoke(cli, ["log", "verify-proof", str(tmp_path / "forged.json"), "--keys", str(tmp_path / "keys.json")])
    assert result.exit_code == 1

    assert runner.invoke(cli, ["log", "checkpoint", "--force"]).exit_code == 0
    assert runner.invoke(cli, ["log", "export", str(tmp_path / "export")]).exit_code == 0
    result = runner.invoke(cli, ["log", "verify", "--export", str(tmp_path / "export")])
    assert result.exit_code == 0 and "log intact" in result.output, result.output
    result = runner.invoke(cli, ["log", "verify"])
    assert result.exit_code == 0, result.output
    # An auditor's copy with one record changed: the export verifier names it.
    leaves = (tmp_path / "export" / "leaves.jsonl").read_text().splitlines()
    leaves[3] = leaves[3].replace('"action":"', '"action":"x')
    (tmp_path / "export" / "leaves.jsonl").write_text("\n".join(leaves) + "\n")
    result = runner.invoke(cli, ["log", "verify", "--export", str(tmp_path / "export")])
    assert result.exit_code == 1 and "3" in result.output.split("FIRST BAD RECORD")[-1].splitlines()[0]


def test_hard_strings_are_stored_exactly_as_their_leaves_were_hashed(client, session_factory, settings, with_keys):
    # On PostgreSQL the records reach the database as JSON text (tlog.writer): what is stored must be
    # exactly what was hashed, or the log would not verify.
    market = market_with_one_product(client, session_factory)
    order_id = market.order(client)
    assert client.post(f"/api/v1/orders/{order_id}/pay", headers=market.buyer).status_code == 200
    reason = 'quote " backslash \\ \\u0041 tab\t newline\n 中文 😀 \u2028 </script> \x7f end'
    response = client.post(f"/api/v1/orders/{order_id}/refund", json={"reason": reason}, headers=market.op)
    assert response.status_code == 200, response.text
    with unit_of_work(session_factory) as session:
        stored = session.scalars(sa.text("SELECT change_json FROM audit_event "
                                 "WHERE action = 'market.order.refund' AND subject_type = 'order'")).one()
    assert json.loads(stored)["reason"] == reason
    assert _verify_database_log(session_factory, settings).ok

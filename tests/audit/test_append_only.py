"""The audit record and the journal are append-only, enforced by the database itself."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

from shujiao.audit import canonical
from shujiao.audit.models import AuditEvent
from shujiao.db import unit_of_work
from tests.factories import make_member, make_operator


@pytest.mark.parametrize("statement", [
    "UPDATE audit_event SET actor_label = 'someone else'",
    "DELETE FROM audit_event",
    "UPDATE ledger_posting SET amount_fen = amount_fen * 2",
    "DELETE FROM ledger_posting",
    "DELETE FROM ledger_entry",
])
def test_rewriting_history_is_refused(session_factory, statement):
    operator = make_operator(session_factory)
    make_member(session_factory, operator, kind="buyer", deposit_fen=100)
    with pytest.raises(DatabaseError):
        with unit_of_work(session_factory) as session:
            session.execute(sa.text(statement))
    with unit_of_work(session_factory) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) > 0


def test_postgres_refuses_an_unbalanced_entry_at_commit(session_factory, backend):
    if backend != "postgresql":
        pytest.skip("SQLite has no deferred constraint triggers; there ledger.core is the only guard")
    operator = make_operator(session_factory)
    buyer = make_member(session_factory, operator, kind="buyer")
    with pytest.raises(DatabaseError, match="does not balance"):
        with unit_of_work(session_factory) as session:
            entry_id = session.execute(sa.text(
                "INSERT INTO ledger_entry (idempotency_key, kind, memo, content_sha256, posted_at) "
                "VALUES ('forged', 'deposit', '', '', now()) RETURNING id")).scalar_one()
            account_id = session.execute(sa.text("SELECT id FROM ledger_account WHERE code = :c"),
                                         {"c": f"member:{buyer.member_id}:wallet"}).scalar_one()
            session.execute(sa.text("INSERT INTO ledger_posting (entry_id, account_id, amount_fen) "
                                    "VALUES (:e, :a, -100)"), {"e": entry_id, "a": account_id})


def test_the_canonical_form_is_stable(session_factory):
    operator = make_operator(session_factory)
    with unit_of_work(session_factory) as session:
        event = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).first()
        data = canonical.event_bytes(event)
    document = json.loads(data)
    assert list(document) == sorted(document)
    assert data == canonical.dumps(document).encode()
    assert document["actor"]["kind"] == "system" and document["action"] == "members.create_operator"
    assert document["occurred_at"].endswith("Z") and "交易中心运营方" in data.decode()
    assert document["subject"] == {"type": "member", "id": str(operator.member_id)}
    with pytest.raises(TypeError):
        canonical.dumps({"amount": 1.5})


@pytest.mark.parametrize("label", ["plain", "引号\"与\\反斜杠", "control\x01\x1f\n", "emoji 🙂 and \u2028"])
@pytest.mark.parametrize("occurred_at", [
    dt.datetime(2026, 11, 23, 12, 0, 0, tzinfo=dt.UTC),  # no microseconds: still printed
    dt.datetime(2026, 11, 23, 20, 0, 0, 123, tzinfo=dt.timezone(dt.timedelta(hours=8))),  # converted to UTC
])
def test_the_leaf_written_field_by_field_is_the_canonical_document(label, occurred_at):
    fields = dict(index=7, occurred_at=occurred_at, actor_kind="user", actor_label=label, actor_user_id=None,
                  actor_member_id=3, action="x.y", subject_type="order", subject_id=label,
                  change_json=canonical.dumps({"note": label, "fen": 5}))
    document = {"index": 7, "occurred_at": occurred_at, "action": "x.y", "change": {"note": label, "fen": 5},
                "actor": {"kind": "user", "label": label, "user_id": None, "member_id": 3},
                "subject": {"type": "order", "id": label}}
    assert canonical.leaf_bytes(**fields) == canonical.dumps(document).encode()
    assert json.loads(canonical.leaf_bytes(**fields))["occurred_at"] == occurred_at.astimezone(dt.UTC).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")

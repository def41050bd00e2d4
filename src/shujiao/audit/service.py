"""Append and read audit records. ``record`` is the only writer of ``audit_event``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from shujiao.audit import canonical
from shujiao.audit.models import AuditEvent
from shujiao.commands import Actor, current_command, inside_command, query, require_operator
from shujiao.db import utcnow


_PENDING = "shujiao_audit_pending"


def _pending(session: Session) -> list[dict[str, Any]]:
    return session.info.setdefault(_PENDING, [])


def _write_pending(session: Session) -> None:
    rows = session.info.pop(_PENDING, None)
    if rows:
        # Imported here: the log module reads audit models, and this hook is the log's only writer.
        from shujiao.tlog.writer import append_records

        append_records(session, rows)


@event.listens_for(Session, "before_commit")
def _write_before_commit(session: Session) -> None:
    if session.info.get(_PENDING):
        # The ORM's own pending writes go first (commit would flush them after this hook): the
        # log's head lock, taken next, is then held only for the log's writes and the commit.
        session.flush()
    _write_pending(session)


@event.listens_for(Session, "after_rollback")
def _discard_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


@inside_command
def record(session: Session, *, subject_type: str, subject_id: Any, change: dict[str, Any]) -> None:
    """Append one record for the running command, in the caller's transaction.

    Records wait in the session and are written just before the transaction commits (or before
    any audit query in it), together with their leaves in the transparency log
    (``tlog.writer.append_records``): one multi-row INSERT for the records, one for the tree
    nodes, one head update. A rollback discards them with everything else.
    """
    running = current_command()
    actor = running.actor
    event = dict(
        occurred_at=utcnow(),
        actor_kind=actor.kind,
        actor_user_id=actor.user_id,
        actor_member_id=actor.member_id,
        actor_label=actor.label,
        action=running.name,
        subject_type=subject_type,
        subject_id=str(subject_id),
        change_json=canonical.dumps(change),
    )
    _pending(session).append(event)
    running.recorded += 1


@query
def list_events(
    session: Session,
    actor: Actor,
    *,
    subject_type: str | None = None,
    subject_id: str | None = None,
    action: str | None = None,
    after_id: int = 0,
    limit: int = 100,
) -> Sequence[AuditEvent]:
    require_operator(actor)
    _write_pending(session)
    stmt = select(AuditEvent).where(AuditEvent.id > after_id).order_by(AuditEvent.id).limit(limit)
    if subject_type:
        stmt = stmt.where(AuditEvent.subject_type == subject_type)
    if subject_id:
        stmt = stmt.where(AuditEvent.subject_id == subject_id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    return session.scalars(stmt).all()


@query
def events_for_subject(session: Session, *, subject_type: str, subject_id: Any) -> Sequence[AuditEvent]:
    """The history of one object, for pages that already checked the actor may see the object."""
    _write_pending(session)
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == str(subject_id))
        .order_by(AuditEvent.id)
    )
    return session.scalars(stmt).all()

"""Append and read audit records. ``record`` is the only writer of ``audit_event``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shujiao.audit import canonical
from shujiao.audit.models import AuditEvent
from shujiao.commands import Actor, current_command, inside_command, query, require_operator
from shujiao.db import utcnow


@inside_command
def record(session: Session, *, subject_type: str, subject_id: Any, change: dict[str, Any]) -> AuditEvent:
    """Append one record for the running command, in the caller's transaction."""
    running = current_command()
    actor = running.actor
    event = AuditEvent(
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
    # No flush here: the records go out with the command's other writes in one batch.
    session.add(event)
    running.recorded += 1
    return event


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
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == str(subject_id))
        .order_by(AuditEvent.id)
    )
    return session.scalars(stmt).all()

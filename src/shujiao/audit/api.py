from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from shujiao.audit import service
from shujiao.deps import CurrentActor, SessionDep

router = APIRouter(prefix="/api/v1", tags=["audit 审计留痕"])


class AuditEventRead(BaseModel):
    id: int
    occurred_at: dt.datetime
    actor_kind: str
    actor_label: str
    actor_user_id: int | None
    actor_member_id: int | None
    action: str
    subject_type: str
    subject_id: str
    change: Any


@router.get("/audit/events", response_model=list[AuditEventRead])
def list_events(
    session: SessionDep,
    actor: CurrentActor,
    subject_type: Annotated[str | None, Query(max_length=32)] = None,
    subject_id: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    after_id: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEventRead]:
    events = service.list_events(session, actor, subject_type=subject_type, subject_id=subject_id, action=action,
                                 after_id=after_id, limit=limit)
    return [
        AuditEventRead(
            id=e.id, occurred_at=e.occurred_at, actor_kind=e.actor_kind, actor_label=e.actor_label,
            actor_user_id=e.actor_user_id, actor_member_id=e.actor_member_id, action=e.action,
            subject_type=e.subject_type, subject_id=e.subject_id, change=json.loads(e.change_json),
        )
        for e in events
    ]

"""The operator's view of the audit log (审计留痕), filtered and paged by event id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from shujiao.audit import service
from shujiao.db import MAX_ID
from shujiao.deps import SessionDep
from shujiao.web.deps import PageOperator
from shujiao.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/operator/audit")
def audit_page(
    request: Request, session: SessionDep, actor: PageOperator,
    subject_type: Annotated[str, Query(max_length=32)] = "",
    subject_id: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    after_id: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    filters = {"subject_type": subject_type.strip(), "subject_id": subject_id.strip(), "action": action.strip()}
    events = service.list_events(session, actor, after_id=after_id, limit=limit,
                                 **{k: v or None for k, v in filters.items()})
    return render(request, "audit/operator_audit.html", events=events, filters=filters, after_id=after_id,
                  limit=limit, next_after=events[-1].id if len(events) == limit else None)

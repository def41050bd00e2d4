from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from shujiao.deps import CurrentActor, PathId, SessionDep
from shujiao.members import service as members
from shujiao.valuation import document, service
from shujiao.valuation.schemas import ComparableTrade, ReportCreate, ReportRead, ReportRevise

router = APIRouter(prefix="/api/v1", tags=["valuation 数据资产评估"])


@router.post("/valuations", status_code=201, response_model=ReportRead)
def create_report(session: SessionDep, actor: CurrentActor, data: ReportCreate) -> ReportRead:
    return service.report_read(service.create_report(session, actor, data=data))


@router.get("/valuations", response_model=list[ReportRead])
def list_reports(session: SessionDep, actor: CurrentActor,
                 limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[ReportRead]:
    return [service.report_read(r) for r in service.list_reports(session, actor, limit=limit)]


@router.get("/valuations/comparables", response_model=list[ComparableTrade])
def comparable_trades(session: SessionDep, actor: CurrentActor,
                      domain: Annotated[str | None, Query(max_length=64)] = None,
                      since: Annotated[dt.datetime | None, Query()] = None,
                      limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[ComparableTrade]:
    """Settled trades of the exchange that a market valuation may use as comparables (成交案例)."""
    return service.comparables_for(session, actor, domain=domain or None, since=since, limit=limit)


@router.get("/valuations/{report_id}", response_model=ReportRead)
def get_report(session: SessionDep, actor: CurrentActor, report_id: PathId) -> ReportRead:
    return service.report_read(service.get_report(session, actor, report_id=report_id))


@router.put("/valuations/{report_id}/inputs", response_model=ReportRead)
def revise_report(session: SessionDep, actor: CurrentActor, report_id: PathId, data: ReportRevise) -> ReportRead:
    return service.report_read(service.revise_report(session, actor, report_id=report_id, inputs=data.inputs))


@router.post("/valuations/{report_id}/finalize", response_model=ReportRead)
def finalize_report(session: SessionDep, actor: CurrentActor, report_id: PathId) -> ReportRead:
    return service.report_read(service.finalize_report(session, actor, report_id=report_id))


@router.get("/valuations/{report_id}/pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}, "description": "the valuation report"}})
def get_pdf(session: SessionDep, actor: CurrentActor, report_id: PathId) -> Response:
    report = service.get_report(session, actor, report_id=report_id)
    name = members.member_names(session, {report.member_id}).get(report.member_id, "")
    pdf = document.report_pdf(service.report_read(report), member_name=name)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="valuation-{report.id}.pdf"', "Cache-Control": "no-store"})

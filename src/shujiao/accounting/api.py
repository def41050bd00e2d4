from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from shujiao.accounting import core, service
from shujiao.accounting.models import Asset
from shujiao.accounting.schemas import (
    AssetCreate, AssetDetail, AssetRead, Classify, DisclosureRead, EntryCreate, EntryRead, PolicyRead, PolicyUpdate,
    ReadyForUse, Reversal, ScheduleLineRead, TableRead, TableRowRead,
)
from shujiao.commands import Actor
from shujiao.deps import CurrentActor, PathId, SessionDep
from shujiao.errors import InvalidInput

router = APIRouter(prefix="/api/v1/accounting", tags=["accounting 数据资源入表"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Year = Annotated[int | None, Query(ge=2000, le=2200)]
Day = Annotated[dt.date | None, Query()]


def _detail(session: Session, actor: Actor, asset: Asset) -> AssetDetail:
    item = AssetDetail.model_validate(asset)
    item.entries = [EntryRead.model_validate(e) for e in service.asset_entries(session, actor, asset_id=asset.id)]
    item.figures = service.figures(session, actor, asset_id=asset.id)
    return item


def period(year: int | None, start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    """A period is a year, or a start and an end date (both days included)."""
    if year is not None and start is None and end is None:
        return service.year_period(year)
    if year is None and start is not None and end is not None:
        return start, end
    raise InvalidInput("请指定年份，或同时指定起止日期", "give a year, or both a start and an end date",
                       code="bad_period")


def table_read(table: core.Table) -> TableRead:
    return TableRead(classification=table.classification,
                     columns={c: list(labels) for c, labels in core.COLUMN_LABELS[table.classification].items()},
                     rows=[TableRowRead(label_zh=r.label_zh, label_en=r.label_en, level=r.level, figures=r.figures)
                           for r in core.table_rows(table)],
                     reconciles=not table.problems())


@router.get("/assets", response_model=list[AssetRead])
def list_assets(session: SessionDep, actor: CurrentActor) -> object:
    return service.list_assets(session, actor)


@router.post("/assets", status_code=201, response_model=AssetDetail)
def create_asset(session: SessionDep, actor: CurrentActor, data: AssetCreate) -> AssetDetail:
    return _detail(session, actor, service.create_asset(session, actor, data=data))


@router.get("/assets/{asset_id}", response_model=AssetDetail)
def get_asset(session: SessionDep, actor: CurrentActor, asset_id: PathId) -> AssetDetail:
    return _detail(session, actor, service.get_asset(session, actor, asset_id=asset_id))


@router.post("/assets/{asset_id}/classify", response_model=AssetDetail)
def classify_asset(session: SessionDep, actor: CurrentActor, asset_id: PathId, data: Classify) -> AssetDetail:
    return _detail(session, actor, service.classify_asset(session, actor, asset_id=asset_id, data=data))


@router.post("/assets/{asset_id}/ready", response_model=AssetDetail)
def mark_ready(session: SessionDep, actor: CurrentActor, asset_id: PathId, data: ReadyForUse) -> AssetDetail:
    return _detail(session, actor, service.mark_ready_for_use(session, actor, asset_id=asset_id, data=data))


@router.post("/assets/{asset_id}/entries", status_code=201, response_model=EntryRead)
def add_entry(session: SessionDep, actor: CurrentActor, asset_id: PathId, data: EntryCreate) -> object:
    return service.add_entry(session, actor, asset_id=asset_id, data=data)


@router.post("/entries/{entry_id}/reverse", status_code=201, response_model=EntryRead)
def reverse_entry(session: SessionDep, actor: CurrentActor, entry_id: PathId, data: Reversal) -> object:
    return service.reverse_entry(session, actor, entry_id=entry_id, data=data)


@router.get("/assets/{asset_id}/schedule", response_model=list[ScheduleLineRead])
def amortization_schedule(session: SessionDep, actor: CurrentActor, asset_id: PathId) -> list[ScheduleLineRead]:
    return [ScheduleLineRead(year=line.month.year, month=line.month.month, amount_fen=line.amount_fen,
                             accumulated_fen=line.accumulated_fen, carrying_fen=line.carrying_fen)
            for line in service.schedule(session, actor, asset_id=asset_id)]


@router.get("/disclosure", response_model=DisclosureRead)
def disclosure(session: SessionDep, actor: CurrentActor, year: Year = None, start: Day = None,
               end: Day = None) -> DisclosureRead:
    """The disclosure tables of 财会〔2023〕11号 三、(二) for a year or a date range."""
    first, last = period(year, start, end)
    result = service.disclosure(session, actor, start=first, end=last)
    return DisclosureRead(member_id=actor.member_id or 0, start=first, end=last,
                          intangible=table_read(result.intangible), inventory=table_read(result.inventory),
                          research_expensed_fen=result.rnd.expensed_fen,
                          development_capitalised_fen=result.rnd.capitalised_fen,
                          development_in_progress_fen=result.rnd.in_progress_fen,
                          pending_asset_ids=list(result.pending_asset_ids))


@router.get("/disclosure.xlsx", response_class=Response)
def disclosure_excel(session: SessionDep, actor: CurrentActor, year: Year = None, start: Day = None,
                     end: Day = None) -> Response:
    first, last = period(year, start, end)
    content = service.disclosure_excel(session, actor, start=first, end=last)
    filename = f"data-resources-{first.isoformat()}-{last.isoformat()}.xlsx"
    return Response(content, media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


@router.get("/policy", response_model=PolicyRead)
def get_policy(session: SessionDep, actor: CurrentActor) -> PolicyRead:
    return service.get_policy(session, actor)


@router.put("/policy", response_model=PolicyRead)
def set_policy(session: SessionDep, actor: CurrentActor, data: PolicyUpdate) -> PolicyRead:
    policy = service.set_policy(session, actor, data=data)
    return PolicyRead(default_classification=policy.default_classification,
                      default_useful_life_months=policy.default_useful_life_months)

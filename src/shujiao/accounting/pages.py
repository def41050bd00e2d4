"""Data resource accounting (数据资源入表) as pages: the asset register, an asset card with its
entries and amortization schedule, and the disclosure tables of a year with the Excel download."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from shujiao.accounting import api as accounting_api
from shujiao.accounting import core, schemas, service
from shujiao.accounting.schemas import AssetCreate, Classify, EntryCreate, PolicyUpdate, ReadyForUse, Reversal
from shujiao.deps import PathId, SessionDep
from shujiao.web.deps import FormUser, PageUser
from shujiao.web.forms import validate, whole_number, yuan_to_fen
from shujiao.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

LABELS = {"classification": schemas.CLASSIFICATIONS, "acquisition": schemas.ACQUISITIONS,
          "cost_kind": schemas.COST_KINDS, "entry_type": schemas.ENTRY_TYPES, "reason": schemas.DISPOSAL_REASONS}
Text = Annotated[str, Form(max_length=400)]


def _asset_url(asset_id: int) -> str:
    return f"/dashboard/accounting/assets/{asset_id}"


def _optional(text: str) -> str | None:
    return text.strip() or None


def _optional_int(text: str, *, zh: str, en: str) -> int | None:
    return whole_number(text, zh=zh, en=en) if text.strip() else None


@router.get("/dashboard/accounting")
def register(request: Request, session: SessionDep, actor: PageUser) -> Response:
    if actor.is_operator:
        return redirect(request, "/operator/ledger")
    assets = service.list_assets(session, actor)
    return render(request, "accounting/register.html", assets=assets, L=LABELS,
                  figures=service.register_figures(session, actor),
                  policy=service.get_policy(session, actor), year=service.today().year)


@router.post("/dashboard/accounting/assets")
def create_asset(request: Request, session: SessionDep, actor: FormUser, name: Text = "",
                 description: Annotated[str, Form(max_length=40_000)] = "", classification: Text = "pending",
                 acquisition: Text = "", useful_life_months: Text = "", ready_for_use_on: Text = "") -> Response:
    data = validate(AssetCreate, name=name, description=description, classification=classification,
                    acquisition=acquisition,
                    useful_life_months=_optional_int(useful_life_months, zh="使用寿命", en="useful life"),
                    ready_for_use_on=_optional(ready_for_use_on))
    asset = service.create_asset(session, actor, data=data)
    return redirect(request, _asset_url(asset.id), ok=("已建立资产卡片", "asset card created"))


@router.post("/dashboard/accounting/policy")
def set_policy(request: Request, session: SessionDep, actor: FormUser, default_classification: Text = "",
               default_useful_life_months: Text = "") -> Response:
    data = validate(PolicyUpdate, default_classification=default_classification,
                    default_useful_life_months=_optional_int(default_useful_life_months, zh="使用寿命",
                                                             en="useful life"))
    service.set_policy(session, actor, data=data)
    return redirect(request, "/dashboard/accounting", ok=("已保存", "saved"))


@router.get("/dashboard/accounting/assets/{asset_id}")
def asset_card(request: Request, session: SessionDep, actor: PageUser, asset_id: PathId) -> Response:
    asset = service.get_asset(session, actor, asset_id=asset_id)
    entries = service.asset_entries(session, actor, asset_id=asset_id)
    reversed_ids = {e.reverses_entry_id for e in entries if e.reverses_entry_id}
    return render(request, "accounting/asset.html", asset=asset, entries=entries, reversed_ids=reversed_ids,
                  reversible=service.REVERSIBLE, L=LABELS, today=service.today(),
                  figures=service.figures(session, actor, asset_id=asset_id),
                  schedule=service.schedule(session, actor, asset_id=asset_id))


@router.post("/dashboard/accounting/assets/{asset_id}/classify")
def classify(request: Request, session: SessionDep, actor: FormUser, asset_id: PathId, classification: Text = "",
             useful_life_months: Text = "", ready_for_use_on: Text = "") -> Response:
    data = validate(Classify, classification=classification,
                    useful_life_months=_optional_int(useful_life_months, zh="使用寿命", en="useful life"),
                    ready_for_use_on=_optional(ready_for_use_on))
    service.classify_asset(session, actor, asset_id=asset_id, data=data)
    return redirect(request, _asset_url(asset_id), ok=("已分类", "classified"))


@router.post("/dashboard/accounting/assets/{asset_id}/ready")
def mark_ready(request: Request, session: SessionDep, actor: FormUser, asset_id: PathId,
               ready_for_use_on: Text = "", useful_life_months: Text = "") -> Response:
    data = validate(ReadyForUse, ready_for_use_on=_optional(ready_for_use_on),
                    useful_life_months=_optional_int(useful_life_months, zh="使用寿命", en="useful life"))
    service.mark_ready_for_use(session, actor, asset_id=asset_id, data=data)
    return redirect(request, _asset_url(asset_id), ok=("已达到预定用途，开始摊销", "ready for use; amortization starts"))


@router.post("/dashboard/accounting/assets/{asset_id}/entries")
def add_entry(request: Request, session: SessionDep, actor: FormUser, asset_id: PathId, entry_type: Text = "",
              detail: Text = "", amount: Text = "", occurred_on: Text = "",
              note: Annotated[str, Form(max_length=10_000)] = "") -> Response:
    amount_fen = yuan_to_fen(amount) if amount.strip() else 0
    data = validate(EntryCreate, entry_type=entry_type, detail=detail, amount_fen=amount_fen,
                    occurred_on=_optional(occurred_on), note=note)
    service.add_entry(session, actor, asset_id=asset_id, data=data)
    return redirect(request, _asset_url(asset_id), ok=("已记账", "entry recorded"))


@router.post("/dashboard/accounting/entries/{entry_id}/reverse")
def reverse_entry(request: Request, session: SessionDep, actor: FormUser, entry_id: PathId,
                  occurred_on: Text = "", note: Annotated[str, Form(max_length=10_000)] = "") -> Response:
    data = validate(Reversal, occurred_on=_optional(occurred_on), note=note)
    reversal = service.reverse_entry(session, actor, entry_id=entry_id, data=data)
    return redirect(request, _asset_url(reversal.asset_id), ok=("已红字冲销", "entry reversed"))


def _year(year: int | None) -> tuple[dt.date, dt.date]:
    return service.year_period(year if year is not None else service.today().year)


@router.get("/dashboard/accounting/disclosure")
def disclosure_page(request: Request, session: SessionDep, actor: PageUser,
                    year: Annotated[int | None, Query(ge=2000, le=2200)] = None) -> Response:
    start, end = _year(year)
    result = service.disclosure(session, actor, start=start, end=end)
    tables = [(t, core.COLUMN_LABELS[t.classification], core.table_rows(t))
              for t in (result.intangible, result.inventory)]
    return render(request, "accounting/disclosure.html", result=result, tables=tables, year=start.year,
                  columns=core.COLUMNS)


@router.get("/dashboard/accounting/disclosure.xlsx")
def disclosure_excel(request: Request, session: SessionDep, actor: PageUser,
                     year: Annotated[int | None, Query(ge=2000, le=2200)] = None) -> Response:
    start, end = _year(year)
    content = service.disclosure_excel(session, actor, start=start, end=end)
    return Response(content, media_type=accounting_api.XLSX, headers={
        "Content-Disposition": f'attachment; filename="data-resources-{start.year}.xlsx"',
        "Cache-Control": "no-store"})

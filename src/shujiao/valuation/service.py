"""Valuation reports (数据资产评估报告): a member values one of its datasets, resources or products
(or a subject it describes) by the income, cost or market method; the report keeps the inputs and
everything computed from them. A draft may be recomputed; a final report never changes.

The market method's comparables come from the exchange's own settled trades, read through the
market service (:func:`comparable_trades`); the formulas are in ``formulas.py``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shujiao.audit import service as audit
from shujiao.catalog import service as catalog
from shujiao.commands import Actor, authorize, command, query, require_member, require_user
from shujiao.db import utcnow
from shujiao.errors import Conflict, InvalidInput, not_found
from shujiao.listing import service as listing
from shujiao.market import service as market
from shujiao.quality import service as quality
from shujiao.valuation import report as reports
from shujiao.valuation.models import Report
from shujiao.valuation.schemas import (
    ComparableTrade, CostInputs, IncomeInputs, MarketInputs, ReportCreate, ReportRead, ValuationInputs,
)


# --- what other domains give the valuation ----------------------------------------------------

def _trade(order: Any) -> ComparableTrade:
    snapshot = json.loads(order.snapshot_json)
    dataset = snapshot.get("dataset") or {}
    return ComparableTrade(order_id=order.id, price_fen=order.amount_fen, settled_at=order.closed_at,
                           title=snapshot.get("title", ""), domain=(snapshot.get("resource") or {}).get("domain", ""),
                           rows=dataset.get("rows"), size_bytes=dataset.get("size_bytes"),
                           file_format=dataset.get("format", ""))


@query
def comparable_trades(session: Session, *, domain: str | None = None, since: dt.datetime | None = None,
                      limit: int = 100) -> list[ComparableTrade]:
    """The exchange's settled trades (成交案例), newest first, that a market valuation may use as
    comparables: price (the order's amount), settlement date and what the product was (its
    snapshot), never the parties. ``domain`` keeps the trades of products in that resource domain
    (所属领域). Not checked against an actor: see :func:`comparables_for` for people."""
    return [_trade(o) for o in market.settled_trades(session, since=since, domain=domain, limit=limit)]


@query
def comparables_for(session: Session, actor: Actor, *, domain: str | None = None, since: dt.datetime | None = None,
                    limit: int = 100) -> list[ComparableTrade]:
    """:func:`comparable_trades` for a person: an approved member or the operator."""
    require_user(actor)
    authorize(actor.is_operator or (actor.member_id is not None and actor.member_status == "approved"),
              "仅会员可查询成交案例", "only a member may read settled trades")
    return comparable_trades(session, domain=domain, since=since, limit=limit)


def _settled_comparables(session: Session, inputs: MarketInputs) -> dict[int, ComparableTrade]:
    """The settled trades the comparables name; a comparable that is not a settled order is refused."""
    wanted = [c.order_id for c in inputs.comparables if c.order_id is not None]
    if not wanted:
        return {}
    found = {o.id: _trade(o) for o in market.settled_trades(session, order_ids=wanted, limit=len(wanted))}
    missing = [order_id for order_id in wanted if order_id not in found]
    if missing:
        raise InvalidInput(f"可比案例须为已结算的成交订单，以下订单不是：{missing}",
                           f"comparables must be settled orders; these are not: {missing}",
                           code="not_a_settled_trade", order_ids=missing)
    return found


def _quality_score_of(session: Session, actor: Actor, report_id: int) -> Decimal:
    """The overall score (0–100) of a quality evaluation report (质量评价报告) the actor may read: one
    of its own datasets', one it was commissioned to assess, or one shown on a listed product (whose
    score is public there). Any other report is a 404, as if it did not exist."""
    report, _whole = quality.report_for_reader(session, actor, report_id=report_id)
    return Decimal(report.overall_score)


@query
def compute(session: Session, actor: Actor, inputs: ValuationInputs) -> dict[str, Any]:
    """The report of ``inputs`` (for :func:`create_report`, :func:`revise_report` and the CLI with a
    database): looks up the quality report and the settled trades the inputs name, then computes."""
    if isinstance(inputs, IncomeInputs):
        return reports.income_report(inputs)
    score = inputs.quality_score
    if inputs.quality_report_id is not None:
        score = _quality_score_of(session, actor, inputs.quality_report_id)
    if isinstance(inputs, CostInputs):
        return reports.cost_report(inputs, quality_score=score)
    return reports.market_report(inputs, quality_score=score, trades=_settled_comparables(session, inputs))


# --- reports ------------------------------------------------------------------------------------

def _check_subject(session: Session, actor: Actor, data: ReportCreate) -> None:
    """The subject must be the actor's own dataset, resource or product (else 404)."""
    assert data.subject_id is not None or data.subject_type == "text"
    if data.subject_type == "dataset":
        catalog.get_dataset(session, actor, dataset_id=data.subject_id)  # type: ignore[arg-type]
    elif data.subject_type == "resource":
        catalog.get_resource(session, actor, resource_id=data.subject_id)  # type: ignore[arg-type]
    elif data.subject_type == "product":
        product = listing.get_product(session, actor, product_id=data.subject_id)  # type: ignore[arg-type]
        if product.member_id != actor.member_id:
            raise not_found("产品", "product")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@command("valuation.report.create")
def create_report(session: Session, actor: Actor, *, data: ReportCreate) -> Report:
    """Value a subject of the member's: the report is computed now and kept as a draft."""
    require_member(actor)
    _check_subject(session, actor, data)
    result = compute(session, actor, data.inputs)
    now = utcnow()
    report = Report(member_id=actor.member_id, subject_type=data.subject_type, subject_id=data.subject_id,
                    subject_text=data.subject_text, method=data.inputs.method,
                    inputs_json=_dumps(data.inputs.model_dump(mode="json")), result_json=_dumps(result),
                    value_fen=result["value"]["fen"], status="draft", created_by_user_id=actor.user_id,
                    created_at=now, updated_at=now)
    session.add(report)
    session.flush()
    audit.record(session, subject_type="valuation_report", subject_id=report.id, change={
        "status": "draft", "subject_type": data.subject_type, "subject_id": data.subject_id,
        "subject_text": data.subject_text, "method": report.method, "value_fen": report.value_fen})
    return report


def _own_report_for_update(session: Session, actor: Actor, report_id: int) -> Report:
    require_member(actor)
    report = session.scalar(select(Report).where(Report.id == report_id).with_for_update())
    if report is None or report.member_id != actor.member_id:
        raise not_found("评估报告", "valuation report")
    if report.status != "draft":
        raise Conflict("评估报告已定稿，不能修改；如需重新评估请新建报告",
                       "the report is final and cannot change; start a new valuation instead", code="bad_state")
    return report


@command("valuation.report.revise")
def revise_report(session: Session, actor: Actor, *, report_id: int, inputs: ValuationInputs) -> Report:
    """Recompute a draft with new inputs (the method may change; the subject stays)."""
    report = _own_report_for_update(session, actor, report_id)
    result = compute(session, actor, inputs)
    previous = report.value_fen
    report.method, report.inputs_json = inputs.method, _dumps(inputs.model_dump(mode="json"))
    report.result_json, report.value_fen, report.updated_at = _dumps(result), result["value"]["fen"], utcnow()
    session.flush()
    audit.record(session, subject_type="valuation_report", subject_id=report.id, change={
        "method": report.method, "value_fen": {"from": previous, "to": report.value_fen}})
    return report


@command("valuation.report.finalize")
def finalize_report(session: Session, actor: Actor, *, report_id: int) -> Report:
    """Issue the report (定稿): from now on it never changes."""
    report = _own_report_for_update(session, actor, report_id)
    report.status, report.finalized_at = "final", utcnow()
    session.flush()
    audit.record(session, subject_type="valuation_report", subject_id=report.id,
                 change={"status": {"from": "draft", "to": "final"}, "value_fen": report.value_fen})
    return report


@query
def get_report(session: Session, actor: Actor, *, report_id: int) -> Report:
    """A report, seen by the member that asked for it and by the operator; anyone else gets 404."""
    report = session.get(Report, report_id)
    if report is None or not (actor.is_operator or (actor.member_id is not None
                                                    and report.member_id == actor.member_id)):
        raise not_found("评估报告", "valuation report")
    return report


@query
def list_reports(session: Session, actor: Actor, *, limit: int = 100) -> Sequence[Report]:
    """The member's own reports, newest first (the operator sees every member's)."""
    require_user(actor)
    stmt = select(Report).order_by(Report.id.desc()).limit(limit)
    if not actor.is_operator:
        stmt = stmt.where(Report.member_id == actor.member_id)
    return session.scalars(stmt).all()


@query
def report_read(report: Report) -> ReportRead:
    return ReportRead(id=report.id, member_id=report.member_id, subject_type=report.subject_type,
                      subject_id=report.subject_id, subject_text=report.subject_text, method=report.method,
                      status=report.status, value_fen=report.value_fen, inputs=json.loads(report.inputs_json),
                      result=json.loads(report.result_json), created_by_user_id=report.created_by_user_id,
                      created_at=report.created_at, finalized_at=report.finalized_at)

"""Valuation (数据资产评估) as pages: a form per method, the member's reports, and the report itself
with its inputs, formula, intermediate values, result and sensitivity."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from shujiao.catalog import service as catalog
from shujiao.deps import PathId, SessionDep
from shujiao.errors import InvalidInput
from shujiao.listing import service as listing
from shujiao.valuation import formulas, report as reports, service
from shujiao.valuation.schemas import ReportCreate
from shujiao.web.deps import FormUser, PageUser
from shujiao.web.forms import checked, validate, whole_number
from shujiao.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=200)]
LongText = Annotated[str, Form(max_length=10_000)]
Many = Annotated[list[str], Form(max_length=200)]
COMPARABLE_ROWS = 5


def _report_url(report_id: int) -> str:
    return f"/dashboard/valuations/{report_id}"


def _series(text: str) -> list[str]:
    """"1000000, 1100000" or one amount a line → the list of amounts."""
    return [part for part in re.split(r"[\s,，;；]+", text.strip()) if part]


def _named(text: str) -> dict[str, Any]:
    """Lines "name: value" (or "name: v1, v2, …" for a yearly series) → a mapping."""
    named: dict[str, Any] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, sep, values = re.split(r"([:：=])", line, maxsplit=1) if re.search(r"[:：=]", line) else (line, "", "")
        if not sep or not name.strip():
            raise InvalidInput(f"无法理解这一行：{line.strip()}（应为“名称: 数值”）",
                               f"cannot read the line {line.strip()!r}; write 'name: value'", code="invalid_input")
        named[name.strip()] = _series(values)
    return named


def _given(**fields: Any) -> dict[str, Any]:
    """The fields the form filled in (an empty box is "not given", not zero)."""
    return {k: v for k, v in fields.items() if v not in ("", None, [], {})}


def _create(request: Request, session: Any, actor: Any, subject: str, subject_text: str,
            inputs: dict[str, Any]) -> Response:
    # The subject select sends "dataset:12", "resource:3", "product:7" or "text".
    kind, _, number = subject.partition(":")
    subject_id = whole_number(number, zh="评估对象", en="subject") if number else None
    data = validate(ReportCreate, subject_type=kind or "text", subject_id=subject_id, subject_text=subject_text,
                    inputs=inputs)
    report = service.create_report(session, actor, data=data)
    return redirect(request, _report_url(report.id),
                    ok=("已生成评估报告草稿", "draft valuation report computed"))


@router.get("/dashboard/valuations")
def my_valuations(request: Request, session: SessionDep, actor: PageUser) -> Response:
    resources = [] if actor.is_operator else catalog.list_resources(session, actor)
    return render(request, "valuation/my_valuations.html",
                  reports=service.list_reports(session, actor), resources=resources,
                  datasets={r.id: catalog.list_datasets(session, actor, resource_id=r.id) for r in resources},
                  products=[] if actor.is_operator else listing.list_own_products(session, actor),
                  trades=service.comparables_for(session, actor, limit=50) if actor.member_status == "approved"
                  or actor.is_operator else [],
                  subject_types=reports.SUBJECT_TYPES, cost_items=formulas.COST_ITEMS,
                  variants=formulas.INCOME_VARIANTS, rows=range(COMPARABLE_ROWS))


@router.post("/dashboard/valuations/income")
def value_by_income(
    request: Request, session: SessionDep, actor: FormUser, subject: Text = "text", subject_text: Text = "",
    variant: Annotated[str, Form(max_length=16)] = "direct", income: LongText = "", discount_rate: Text = "",
    remaining_life: Text = "", mid_year: Annotated[str | None, Form(max_length=8)] = None, share_rate: Text = "",
    contributory_charges: LongText = "", income_without: LongText = "",
) -> Response:
    return _create(request, session, actor, subject, subject_text, _given(
        method="income", variant=variant, income=_series(income), discount_rate=discount_rate,
        remaining_life=remaining_life, mid_year=checked(mid_year), share_rate=share_rate,
        contributory_charges=_named(contributory_charges), income_without=_series(income_without)))


@router.post("/dashboard/valuations/cost")
def value_by_cost(
    request: Request, session: SessionDep, actor: FormUser, subject: Text = "text", subject_text: Text = "",
    cost_planning: Text = "", cost_collection: Text = "", cost_storage: Text = "", cost_cleaning: Text = "",
    cost_labelling: Text = "", cost_integration: Text = "", cost_security: Text = "", cost_indirect: Text = "",
    cost_opportunity: Text = "", taxes: Text = "", profit_rate: Text = "", depreciation_rate: Text = "",
    quality_score: Text = "", other_factors: LongText = "",
) -> Response:
    costs = _given(planning=cost_planning, collection=cost_collection, storage=cost_storage, cleaning=cost_cleaning,
                   labelling=cost_labelling, integration=cost_integration, security=cost_security,
                   indirect=cost_indirect, opportunity=cost_opportunity)
    factors = {name: values[0] if len(values) == 1 else values for name, values in _named(other_factors).items()}
    return _create(request, session, actor, subject, subject_text, {"method": "cost", "costs": costs, **_given(
        taxes=taxes, profit_rate=profit_rate, depreciation_rate=depreciation_rate, quality_score=quality_score,
        other_factors=factors)})


@router.post("/dashboard/valuations/market")
def value_by_market(
    request: Request, session: SessionDep, actor: FormUser, subject: Text = "text", subject_text: Text = "",
    quality_score: Text = "", order_id: Many = [], reference: Many = [], price: Many = [],  # noqa: B006
    quality_factor: Many = [], comparable_quality_score: Many = [], supply_demand_factor: Many = [],  # noqa: B006
    date_factor: Many = [], volume_factor: Many = [], other_factor: Many = [],  # noqa: B006
) -> Response:
    columns = {"order_id": order_id, "reference": reference, "price": price, "quality_factor": quality_factor,
               "quality_score": comparable_quality_score, "supply_demand_factor": supply_demand_factor,
               "date_factor": date_factor, "volume_factor": volume_factor, "other_factor": other_factor}
    comparables = []
    for row in range(max((len(c) for c in columns.values()), default=0)):
        values = {name: (column[row].strip() if row < len(column) else "") for name, column in columns.items()}
        if values["order_id"] or values["price"]:  # a row with neither is an unused line of the form
            if values["order_id"]:
                values["order_id"] = whole_number(values["order_id"], zh="成交订单号", en="order id")
            comparables.append(_given(**values))
    return _create(request, session, actor, subject, subject_text,
                   {"method": "market", "comparables": comparables, **_given(quality_score=quality_score)})


@router.get("/dashboard/valuations/{report_id}")
def report_page(request: Request, session: SessionDep, actor: PageUser, report_id: PathId) -> Response:
    report = service.get_report(session, actor, report_id=report_id)
    read = service.report_read(report)
    return render(request, "valuation/report.html", report=read, result=read.result, shown=reports.shown,
                  input_labels=reports.INPUT_LABELS, subject_types=reports.SUBJECT_TYPES,
                  cost_items=formulas.COST_ITEMS,
                  may_finalize=read.status == "draft" and report.member_id == actor.member_id)


@router.post("/dashboard/valuations/{report_id}/finalize")
def finalize(request: Request, session: SessionDep, actor: FormUser, report_id: PathId) -> Response:
    service.finalize_report(session, actor, report_id=report_id)
    return redirect(request, _report_url(report_id), ok=("评估报告已定稿", "the valuation report is final"))

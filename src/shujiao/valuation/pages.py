"""Valuation (数据资产评估) as pages: a form per method, the member's reports, and the report itself
with its inputs, formula, intermediate values, result and sensitivity."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from shujiao.catalog import service as catalog
from shujiao.deps import PathId, SessionDep
from shujiao.errors import InvalidInput
from shujiao.listing import service as listing
from shujiao.valuation import formulas, report as reports, service
from shujiao.valuation.schemas import ReportCreate
from shujiao.web.deps import FormUser, PageUser
from shujiao.web.forms import LabelOf, checked, validate, whole_number
from shujiao.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=200)]
LongText = Annotated[str, Form(max_length=10_000)]
Many = Annotated[list[str], Form(max_length=200)]
COMPARABLE_ROWS = 5
SUBJECT_LABELS = {
    "subject_type": ("评估对象类型", "subject type"),
    "subject_id": ("评估对象", "subject"),
    "subject_text": ("评估对象说明", "subject description"),
}


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


def form_label(loc: tuple[int | str, ...], comparable_rows: Sequence[int] = ()) -> tuple[str, str]:
    """A refused input named as the form names it, e.g. ("inputs", "income", "discount_rate") →
    "折现率 i discount rate i", ("inputs", "market", "comparables", 0, "price") → "可比案例第 1 行 外部成交价".
    ``comparable_rows`` are the form's row numbers (from 1) of the comparables sent: empty rows are skipped."""
    if loc[:1] != ("inputs",):
        zh, en = SUBJECT_LABELS.get(str(loc[0]), (str(loc[0]), str(loc[0]))) if loc else ("", "")
        return (f"{zh} {en}" if zh else ""), en
    name, *rest = loc[2:] or ("",)
    if not name:  # the method's own check: its message says what is wrong
        return "", ""
    if name == "comparables":
        if not rest:
            zh, en = "可比案例", "comparables"
        else:
            index = int(rest[0])
            row = comparable_rows[index] if index < len(comparable_rows) else index + 1
            zh, en = f"可比案例第 {row} 行", f"comparable row {row}"
            if len(rest) > 1:
                field_zh, field_en = reports.COMPARABLE_LABELS.get(str(rest[1]), (str(rest[1]), str(rest[1])))
                zh, en = f"{zh} {field_zh}", f"{en} {field_en}"
    elif name == "costs" and rest and str(rest[0]) in formulas.COST_ITEMS:
        zh, en = formulas.COST_ITEMS[str(rest[0])]
    else:
        zh, en = reports.INPUT_LABELS.get(str(name), (str(name), str(name)))
        for part in rest:  # a year of a series (index from 0) or a named charge or factor
            zh, en = (f"{zh} 第 {part + 1} 年", f"{en} year {part + 1}") if isinstance(part, int) else \
                (f"{zh} {part}", f"{en} {part}")
    return f"{zh} {en}", en


def _create(request: Request, session: Any, actor: Any, form: str, typed: dict[str, Any],
            inputs: Callable[[], dict[str, Any]], label_of: LabelOf = form_label) -> Response:
    """Compute and store a draft report, or show the form again with what was typed and why it was
    refused (the page stays where the user was; nothing is stored)."""
    try:
        # The subject select sends "dataset:12", "resource:3", "product:7" or "text".
        kind, _, number = typed["subject"].partition(":")
        subject_id = whole_number(number, zh="评估对象", en="subject") if number else None
        data = validate(ReportCreate, label_of=label_of, subject_type=kind or "text", subject_id=subject_id,
                        subject_text=typed["subject_text"], inputs=inputs())
        report = service.create_report(session, actor, data=data)
    except InvalidInput as error:
        session.rollback()
        errors = error.details.get("fields") or [{"field": "", "zh": error.zh, "en": error.en}]
        return _page(request, session, actor, form=form, typed=typed, errors=errors, status_code=error.status_code)
    return redirect(request, _report_url(report.id),
                    ok=("已生成评估报告草稿", "draft valuation report computed"))


def _page(request: Request, session: Any, actor: Any, *, form: str = "", typed: dict[str, Any] | None = None,
          errors: list[dict[str, str]] | None = None, status_code: int = 200) -> Response:
    resources = [] if actor.is_operator else catalog.list_resources(session, actor)
    return render(request, "valuation/my_valuations.html", status_code=status_code,
                  reports=service.list_reports(session, actor), resources=resources,
                  datasets={r.id: catalog.list_datasets(session, actor, resource_id=r.id) for r in resources},
                  products=[] if actor.is_operator else listing.list_own_products(session, actor),
                  trades=service.comparables_for(session, actor, limit=50) if actor.member_status == "approved"
                  or actor.is_operator else [],
                  subject_types=reports.SUBJECT_TYPES, cost_items=formulas.COST_ITEMS,
                  variants=formulas.INCOME_VARIANTS, rows=range(COMPARABLE_ROWS),
                  form=form, typed=typed or {}, errors=errors or [])


@router.get("/dashboard/valuations")
def my_valuations(request: Request, session: SessionDep, actor: PageUser,
                  pick: Annotated[list[int], Query(max_length=COMPARABLE_ROWS)] = []) -> Response:  # noqa: B006
    """``pick`` are the settled trades chosen from the list as comparables (the pages run no script:
    each choice is a link that reloads the form with the order ids filled in)."""
    picked = list(dict.fromkeys(pick))[:COMPARABLE_ROWS]
    return _page(request, session, actor, form="market" if picked else "",
                 typed={"order_id": [str(order_id) for order_id in picked]} if picked else None)


@router.post("/dashboard/valuations/income")
def value_by_income(
    request: Request, session: SessionDep, actor: FormUser, subject: Text = "text", subject_text: Text = "",
    variant: Annotated[str, Form(max_length=16)] = "direct", income: LongText = "", discount_rate: Text = "",
    remaining_life: Text = "", mid_year: Annotated[str | None, Form(max_length=8)] = None, share_rate: Text = "",
    contributory_charges: LongText = "", income_without: LongText = "",
) -> Response:
    typed = {"subject": subject, "subject_text": subject_text, "variant": variant, "income": income,
             "discount_rate": discount_rate, "remaining_life": remaining_life, "mid_year": checked(mid_year),
             "share_rate": share_rate, "contributory_charges": contributory_charges, "income_without": income_without}
    return _create(request, session, actor, "income", typed, lambda: _given(
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
    typed = {"subject": subject, "subject_text": subject_text, "taxes": taxes, "profit_rate": profit_rate,
             "depreciation_rate": depreciation_rate, "quality_score": quality_score, "other_factors": other_factors,
             **{f"cost_{name}": amount for name, amount in costs.items()}}

    def inputs() -> dict[str, Any]:
        factors = {name: values[0] if len(values) == 1 else values for name, values in _named(other_factors).items()}
        return {"method": "cost", "costs": costs, **_given(
            taxes=taxes, profit_rate=profit_rate, depreciation_rate=depreciation_rate, quality_score=quality_score,
            other_factors=factors)}

    return _create(request, session, actor, "cost", typed, inputs)


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
    typed = {"subject": subject, "subject_text": subject_text, "quality_score": quality_score, **columns,
             "comparable_quality_score": comparable_quality_score}

    form_rows: list[int] = []  # filled as the rows are read, before validation names a refused row

    def inputs() -> dict[str, Any]:
        comparables = []
        for row in range(max((len(c) for c in columns.values()), default=0)):
            values = {name: (column[row].strip() if row < len(column) else "") for name, column in columns.items()}
            if values["order_id"] or values["price"]:  # a row with neither is an unused line of the form
                if values["order_id"]:
                    values["order_id"] = whole_number(values["order_id"], zh=f"可比案例第 {row + 1} 行 成交订单号",
                                                      en=f"comparable row {row + 1} order id")
                comparables.append(_given(**values))
                form_rows.append(row + 1)
        return {"method": "market", "comparables": comparables, **_given(quality_score=quality_score)}

    return _create(request, session, actor, "market", typed, inputs,
                   label_of=functools.partial(form_label, comparable_rows=form_rows))


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

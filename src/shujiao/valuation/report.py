"""A valuation report (评估报告) from validated inputs: inputs, formula, intermediate values, the
result and its sensitivity, as one JSON-ready dict. Pure: the service and the CLI both call it, the
service after it has looked up what needs the database (settled trades, quality reports)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from shujiao.valuation import formulas as f
from shujiao.valuation.schemas import ComparableTrade, CostInputs, IncomeInputs, MarketInputs

METHODS = {
    "income": ("收益法", "income method"),
    "cost": ("成本法", "cost method"),
    "market": ("市场法", "market method"),
}
SUBJECT_TYPES = {
    "dataset": ("数据集", "dataset"),
    "resource": ("数据资源", "resource"),
    "product": ("数据产品", "product"),
    "text": ("其他", "other"),
}
INPUT_LABELS = {
    "variant": ("收益预测方式", "variant"),
    "income": ("逐年收益 R_t（元）", "yearly income R_t (yuan)"),
    "discount_rate": ("折现率 i", "discount rate i"),
    "remaining_life": ("剩余经济寿命期 n（年）", "remaining economic life n (years)"),
    "mid_year": ("年中折现", "mid-year discounting"),
    "share_rate": ("分成率 K", "share rate K"),
    "contributory_charges": ("贡献资产贡献额（元）", "contributory asset charges (yuan)"),
    "income_without": ("未使用该数据时的收益（元）", "income without the data (yuan)"),
    "costs": ("成本项目（元）", "cost items (yuan)"),
    "taxes": ("相关税费（元）", "taxes (yuan)"),
    "profit_rate": ("合理利润率 r", "reasonable profit rate r"),
    "depreciation_rate": ("贬值率 δ", "depreciation rate δ"),
    "quality_score": ("数据质量评分 q", "data quality score q"),
    "quality_report_id": ("质量评价报告", "quality report"),
    "other_factors": ("其他调整系数", "other adjustment factors"),
}
COMPARABLE_LABELS = {
    "order_id": ("成交订单号", "order id"),
    "reference": ("来源", "reference"),
    "price": ("外部成交价（元）", "outside price (yuan)"),
    "quality_factor": ("质量调整系数", "quality factor"),
    "quality_score": ("可比案例质量评分", "comparable's quality score"),
    "supply_demand_factor": ("供求调整系数", "supply-demand factor"),
    "date_factor": ("期日调整系数", "date factor"),
    "volume_factor": ("容量调整系数", "volume factor"),
    "other_factor": ("其他调整系数", "other factor"),
}
SENSITIVITY_INPUTS = {
    "discount_rate": ("折现率 i", "discount rate i"),
    "income": ("收益额 F_t", "attributable income F_t"),
    "adjustment_factor": ("价值调整系数 k", "value adjustment factor k"),
    "replacement_cost": ("重置成本 TC", "replacement cost TC"),
    "quality": ("质量调整系数", "quality factor"),
    "supply_demand": ("供求调整系数", "supply-demand factor"),
}


def number(value: Decimal) -> str:
    """A decimal as plain text without exponent (JSON keeps it exact)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def money(value: Decimal) -> dict[str, Any]:
    fen = f.to_fen(value)
    return {"exact": number(value), "fen": fen, "yuan": format(f.fen_to_yuan(fen).quantize(Decimal("0.01")), "f")}


def _sensitivity(rows: tuple[f.SensitivityRow, ...], base: Decimal) -> list[dict[str, Any]]:
    base_fen = f.to_fen(base)
    return [{"input": r.input, "label": SENSITIVITY_INPUTS[r.input], "change": number(r.change),
             "change_pct": f"{r.change * 100:+.0f}%", "value": money(r.value),
             "difference_fen": r.value_fen - base_fen} for r in rows]


def _report(method: str, formula: str, inputs: dict[str, Any], intermediates: dict[str, Any], value: Decimal,
            sensitivity: tuple[f.SensitivityRow, ...], **extra: Any) -> dict[str, Any]:
    return {"method": method, "method_label": METHODS[method], "formula": formula, "source": f.SOURCE,
            **extra, "inputs": inputs, "intermediates": intermediates, "value": money(value),
            "sensitivity": _sensitivity(sensitivity, value)}


def income_report(inputs: IncomeInputs) -> dict[str, Any]:
    forecast = f.IncomeForecast(
        variant=inputs.variant, income=tuple(inputs.income), share_rate=inputs.share_rate,
        charges={k: tuple(v) for k, v in (inputs.contributory_charges or {}).items()},
        without=tuple(inputs.income_without) if inputs.income_without else None)
    arguments = {"discount_rate": inputs.discount_rate, "remaining_life": inputs.remaining_life,
                 "mid_year": inputs.mid_year}
    result = f.income_value(forecast, **arguments)
    zh, en, variant_formula = f.INCOME_VARIANTS[inputs.variant]
    years = [{"year": y.year, "income": number(y.income), "deduction": number(y.deduction),
              "attributable": number(y.attributable), "discount_factor": number(y.discount_factor),
              "present_value": number(y.present_value)} for y in result.years]
    return _report("income", f.INCOME_FORMULA + ("  (t − ½: mid-year 年中折现)" if inputs.mid_year else ""),
                   inputs.model_dump(mode="json"), {"years": years, "total_present_value": number(result.value)},
                   result.value, f.income_sensitivity(forecast, **arguments),
                   variant=inputs.variant, variant_label=(zh, en), variant_formula=variant_formula)


def cost_report(inputs: CostInputs, *, quality_score: Decimal | None) -> dict[str, Any]:
    """``quality_score`` is the inputs' own score, or the one read from the quality report they name."""

    def revalue(**scales: Decimal) -> f.CostResult:
        return f.cost_value(inputs.costs, taxes=inputs.taxes, profit_rate=inputs.profit_rate,
                            depreciation_rate=inputs.depreciation_rate, quality_score=quality_score,
                            other_factors=inputs.other_factors, **scales)

    result = revalue()
    intermediates = {
        "items": [{"item": name, "label": f.COST_ITEMS[name], "amount": number(amount)}
                  for name, amount in result.items],
        "cost_before_profit": number(result.cost_before_profit), "profit_rate": number(result.profit_rate),
        "profit": number(result.profit), "taxes": number(result.taxes),
        "replacement_cost": number(result.replacement_cost),
        "factors": [{"name": name, "value": number(value)} for name, value in result.factors],
        "quality_score": number(quality_score) if quality_score is not None else None,
        "adjustment_factor": number(result.adjustment_factor),
    }
    return _report("cost", f.COST_FORMULA, inputs.model_dump(mode="json"), intermediates, result.value,
                   f.cost_sensitivity(revalue))


def market_report(inputs: MarketInputs, *, quality_score: Decimal | None,
                  trades: Mapping[int, ComparableTrade]) -> dict[str, Any]:
    """``trades`` are the settled exchange orders the comparables name (the service checked them)."""
    comparables = []
    for given in inputs.comparables:
        if given.order_id is not None:
            trade = trades[given.order_id]
            price = f.fen_to_yuan(trade.price_fen)
            reference = given.reference or f"订单 order #{trade.order_id} · {trade.title}"
        else:
            assert given.price is not None
            price, reference = given.price, given.reference
        if given.quality_score is not None:
            assert quality_score is not None
            quality = f.quality_factor(quality_score, given.quality_score)
        else:
            quality = given.quality_factor or f.ONE
        comparables.append(f.Comparable(reference, price, quality, given.supply_demand_factor, given.date_factor,
                                        given.volume_factor, given.other_factor))
    result = f.market_value(comparables)
    rows = [{"reference": a.comparable.reference, "order_id": given.order_id, "price": number(a.comparable.price),
             "quality": number(a.comparable.quality), "supply_demand": number(a.comparable.supply_demand),
             "date": number(a.comparable.date), "volume": number(a.comparable.volume),
             "other": number(a.comparable.other), "combined_factor": number(a.combined_factor),
             "adjusted_price": number(a.adjusted_price)}
            for a, given in zip(result.comparables, inputs.comparables, strict=True)]
    intermediates = {"comparables": rows, "count": len(rows),
                     "quality_score": number(quality_score) if quality_score is not None else None,
                     "mean_of": "arithmetic mean of the adjusted prices 调整后价格的算术平均"}
    return _report("market", f.MARKET_FORMULA, inputs.model_dump(mode="json"), intermediates, result.value,
                   f.market_sensitivity(comparables))


def shown(text: str | None, places: int = 2) -> str:
    """An exact decimal of a report, rounded half up for reading (money to the fen, factors to six
    places); the report itself keeps the exact value."""
    if text is None:
        return "—"
    value = Decimal(text).quantize(Decimal(1).scaleb(-places), rounding="ROUND_HALF_UP")
    return f"{value:,}"

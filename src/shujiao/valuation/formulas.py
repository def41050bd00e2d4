"""The valuation formulas (评估方法的计算公式), in one place, with where each comes from.

Source: 中国资产评估协会《数据资产评估指导意见》(中评协〔2023〕17号, in force from 2023-10-01),
第五章 评估方法 (第二十二条 to 第二十五条: income, cost and market methods and their derivatives)
and its appendix on the methods (附件：数据资产评估方法说明). The formulas below are the appendix's
as we rely on them; the full text of the appendix could not be retrieved while writing this module,
so each docstring quotes the formula in its standard published form and says where we chose
something the guidance leaves open (mid-year discounting, how comparables are averaged, the
profit on replacement cost).

Everything here is pure: ``Decimal`` in, ``Decimal`` out, no database, no floats. Amounts are yuan
(元) as ``Decimal``; intermediates are kept at :data:`PRECISION` significant digits — sums and
products of the inputs the schemas accept are exact in all but extreme cases (a long product of
many-decimal factors), and discounting and averaging divide, so those are rounded at the 50th
digit, far below the fen — and money is rounded to the fen (分, ROUND_HALF_UP) only in
:func:`to_fen` at the end.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

PRECISION = 50
SOURCE = "中国资产评估协会《数据资产评估指导意见》(中评协〔2023〕17号) 第五章及附件"
SENSITIVITY_STEPS = (Decimal("-0.2"), Decimal("-0.1"), Decimal("0.1"), Decimal("0.2"))
ONE = Decimal(1)
HUNDRED = Decimal(100)


def _context() -> decimal.Context:
    return decimal.Context(prec=PRECISION, rounding=ROUND_HALF_UP, traps=[decimal.InvalidOperation,
                                                                         decimal.DivisionByZero,
                                                                         decimal.Overflow])


def to_fen(yuan: Decimal) -> int:
    """Round an amount of yuan to whole fen, half up (the only rounding in a report)."""
    with decimal.localcontext(_context()):
        return int((yuan * HUNDRED).quantize(ONE, rounding=ROUND_HALF_UP))


def fen_to_yuan(fen: int) -> Decimal:
    return Decimal(fen) / HUNDRED


# --- income method (收益法) ----------------------------------------------------------------------

INCOME_FORMULA = "P = Σ_{t=1}^{n} F_t × 1/(1+i)^t"
INCOME_VARIANTS = {
    "direct": ("直接收益预测", "direct income forecast", "F_t = R_t"),
    "share": ("分成收益预测（分成率法）", "income share (royalty) forecast", "F_t = R_t × K"),
    "excess": ("多期超额收益预测", "multi-period excess earnings", "F_t = R_t − Σ_k C_{k,t}"),
    "incremental": ("增量收益预测", "incremental income forecast", "F_t = R^Y_t − R^N_t"),
}


@dataclass(frozen=True)
class IncomeYear:
    """One year of the forecast: the year's figures, its attributable income F_t, the discount
    factor 1/(1+i)^t (or 1/(1+i)^(t−½) mid-year) and the present value F_t × factor."""

    year: int
    income: Decimal          # R_t: total income, income with the data (incremental), or F_t (direct)
    deduction: Decimal       # what is taken off R_t: contributory charges, income without the data, or 0
    attributable: Decimal    # F_t
    discount_factor: Decimal
    present_value: Decimal


@dataclass(frozen=True)
class IncomeResult:
    variant: str
    discount_rate: Decimal
    mid_year: bool
    years: tuple[IncomeYear, ...]
    value: Decimal           # exact Σ of present values, not yet rounded


@dataclass(frozen=True)
class IncomeForecast:
    """What the forecast says, year by year (list index 0 is year 1).

    ``income`` is R_t (for ``incremental``: the income *with* the data, R^Y_t); ``without`` is the
    income without the data R^N_t (incremental only); ``charges`` are the contributory asset charges
    C_{k,t} by asset name (excess only); ``share_rate`` is K (share only).
    """

    variant: str
    income: tuple[Decimal, ...]
    share_rate: Decimal | None = None
    charges: Mapping[str, tuple[Decimal, ...]] | None = None
    without: tuple[Decimal, ...] | None = None


def _year_value(series: Sequence[Decimal], t: int) -> Decimal:
    """Year t (1-based) of a series; past its end the last year repeats (the stable period 稳定期)."""
    return series[min(t, len(series)) - 1]


def attributable_income(forecast: IncomeForecast, t: int) -> tuple[Decimal, Decimal, Decimal]:
    """(R_t, deduction, F_t) for year t after the forecast's variant (附件 收益法, 收益额的预测):

    - 直接收益预测 direct: F_t = R_t, the income the data itself earns (e.g. its sales or licences);
    - 分成收益预测 share: F_t = R_t × K, the data's share K (分成率) of the income it contributes to;
    - 超额收益预测 excess (多期超额收益法): F_t = R_t − Σ_k C_{k,t}, the income left after the
      returns due to the other contributory assets (贡献资产: working capital, fixed assets,
      other intangibles, workforce);
    - 增量收益预测 incremental: F_t = R^Y_t − R^N_t, the income with the data less the income of the
      same business without it.
    """
    income = _year_value(forecast.income, t)
    if forecast.variant == "direct":
        return income, Decimal(0), income
    if forecast.variant == "share":
        assert forecast.share_rate is not None
        share = income * forecast.share_rate
        return income, income - share, share
    if forecast.variant == "excess":
        charges = sum((_year_value(series, t) for series in (forecast.charges or {}).values()), Decimal(0))
        return income, charges, income - charges
    if forecast.variant == "incremental":
        assert forecast.without is not None
        without = _year_value(forecast.without, t)
        return income, without, income - without
    raise ValueError(f"unknown income variant {forecast.variant!r}")


def income_value(forecast: IncomeForecast, *, discount_rate: Decimal, remaining_life: int,
                 mid_year: bool = False, income_scale: Decimal = ONE) -> IncomeResult:
    """收益法 (附件)：P = Σ_{t=1}^{n} F_t × 1/(1+i)^t, where P is the value of the data asset, F_t the
    income attributable to it in year t of the forecast, n its remaining economic life (剩余经济寿命期)
    in years, and i the discount rate (折现率).

    The guidance's formula discounts each year's income from the end of the year; ``mid_year`` uses
    the mid-year convention instead (exponent t − ½, for income that arrives through the year) —
    an option, off by default. When the forecast is shorter than n, its last year repeats to year n.
    ``income_scale`` multiplies every F_t (used by the sensitivity table; 1 otherwise).
    """
    with decimal.localcontext(_context()):
        years = []
        base = ONE + discount_rate
        for t in range(1, remaining_life + 1):
            income, deduction, attributable = attributable_income(forecast, t)
            attributable *= income_scale
            exponent = Decimal(t) - Decimal("0.5") if mid_year else Decimal(t)
            factor = ONE / base ** exponent if mid_year else ONE / base ** t
            years.append(IncomeYear(t, income, deduction, attributable, +factor, attributable * factor))
        value = sum((y.present_value for y in years), Decimal(0))
    return IncomeResult(forecast.variant, discount_rate, mid_year, tuple(years), value)


# --- cost method (成本法) ------------------------------------------------------------------------

COST_FORMULA = "P = TC × k,  TC = Σ C_j × (1 + r) + T,  k = (1 − δ) × q/100 × Π u_m"
# Replacement cost items (重置成本构成), after the guidance: 前期费用 (planning), 直接成本 (collection,
# storage, processing), 间接成本 (security and the shared infrastructure and management costs),
# 机会成本 and 相关税费 (taxes, kept apart: the reasonable profit is not charged on them).
COST_ITEMS = {
    "planning": ("前期费用（规划）", "planning"),
    "collection": ("数据采集", "collection"),
    "storage": ("数据存储", "storage"),
    "cleaning": ("数据加工·清洗", "processing: cleaning"),
    "labelling": ("数据加工·标注", "processing: labelling"),
    "integration": ("数据加工·整合", "processing: integration"),
    "security": ("数据安全", "security"),
    "indirect": ("间接成本（软硬件、基础设施、公共管理分摊）", "indirect (software, hardware, infrastructure, overheads)"),
    "opportunity": ("机会成本", "opportunity cost"),
}


@dataclass(frozen=True)
class CostResult:
    items: tuple[tuple[str, Decimal], ...]
    cost_before_profit: Decimal   # Σ C_j
    profit_rate: Decimal          # r, 合理利润率
    profit: Decimal
    taxes: Decimal                # T, 相关税费
    replacement_cost: Decimal     # TC
    factors: tuple[tuple[str, Decimal], ...]  # the parts of k
    adjustment_factor: Decimal    # k
    value: Decimal


def cost_value(items: Mapping[str, Decimal], *, taxes: Decimal = Decimal(0), profit_rate: Decimal = Decimal(0),
               depreciation_rate: Decimal | None = None, quality_score: Decimal | None = None,
               other_factors: Mapping[str, Decimal] | None = None, cost_scale: Decimal = ONE,
               factor_scale: Decimal = ONE) -> CostResult:
    """成本法 (附件)：评估值 = 重置成本 × (1 − 贬值率); the guidance allows the (1 − 贬值率) to be
    replaced, or complemented, by a value adjustment factor (价值调整系数) that adjusts the whole cost
    of the data asset for its quality (质量因素) and its use (应用场景 …). Here:

        P = TC × k
        TC = Σ_j C_j × (1 + r) + T          (重置成本: 前期费用 + 直接成本 + 间接成本 + 机会成本,
                                               plus a reasonable profit r (合理利润), plus taxes T)
        k  = (1 − δ) × (q / 100) × Π_m u_m  (each part only when given; at least one must be)

    with δ the depreciation rate (贬值率), q the data-quality score 0–100 (from the quality
    evaluation after GB/T 36344-2018) and u_m any further adjustment factors the assessor gives.
    Taxes are not marked up by the profit rate. ``cost_scale`` and ``factor_scale`` multiply TC
    and k for the sensitivity table.
    """
    with decimal.localcontext(_context()):
        listed = tuple((name, amount) for name, amount in items.items())
        cost = sum((amount for _, amount in listed), Decimal(0))
        profit = cost * profit_rate
        replacement_cost = (cost + profit + taxes) * cost_scale
        factors: list[tuple[str, Decimal]] = []
        if depreciation_rate is not None:
            factors.append(("1 − depreciation_rate", ONE - depreciation_rate))
        if quality_score is not None:
            factors.append(("quality_score / 100", quality_score / HUNDRED))
        factors.extend((other_factors or {}).items())
        if not factors:
            raise ValueError("the cost method needs a depreciation rate, a quality score or an adjustment factor")
        adjustment = ONE
        for _, factor in factors:
            adjustment *= factor
        adjustment *= factor_scale
        return CostResult(listed, cost, profit_rate, profit, taxes, replacement_cost, tuple(factors), adjustment,
                          replacement_cost * adjustment)


# --- market method (市场法) ----------------------------------------------------------------------

MARKET_FORMULA = "P = (1/m) Σ_{j=1}^{m} P_j × q_j × s_j × d_j × v_j × o_j"
MARKET_FACTORS = {
    "quality": ("质量调整系数", "quality factor"),
    "supply_demand": ("供求调整系数", "supply-demand factor"),
    "date": ("期日调整系数", "date factor"),
    "volume": ("容量调整系数", "volume factor"),
    "other": ("其他调整系数", "other factor"),
}


@dataclass(frozen=True)
class Comparable:
    """One comparable transaction (可比案例) and its adjustment factors (each 1 when not adjusted)."""

    reference: str
    price: Decimal
    quality: Decimal = ONE
    supply_demand: Decimal = ONE
    date: Decimal = ONE
    volume: Decimal = ONE
    other: Decimal = ONE


@dataclass(frozen=True)
class AdjustedComparable:
    comparable: Comparable
    combined_factor: Decimal
    adjusted_price: Decimal


@dataclass(frozen=True)
class MarketResult:
    comparables: tuple[AdjustedComparable, ...]
    value: Decimal


def quality_factor(subject_score: Decimal, comparable_score: Decimal) -> Decimal:
    """质量调整系数 = the subject's quality score ÷ the comparable's (both 0–100)."""
    with decimal.localcontext(_context()):
        return subject_score / comparable_score


def market_value(comparables: Sequence[Comparable]) -> MarketResult:
    """市场法 (附件)：被评估数据资产的价值 = 可比案例数据资产的价值 × 质量调整系数 × 供求调整系数
    × 期日调整系数 × 容量调整系数 × 其他调整系数.

    The guidance gives the formula for one comparable; with several (it asks for enough comparable
    cases), the value here is the arithmetic mean of their adjusted prices, each comparable
    weighing the same:

        P = (1/m) Σ_j P_j × q_j × s_j × d_j × v_j × o_j
    """
    if not comparables:
        raise ValueError("the market method needs at least one comparable")
    with decimal.localcontext(_context()):
        adjusted = []
        for c in comparables:
            combined = c.quality * c.supply_demand * c.date * c.volume * c.other
            adjusted.append(AdjustedComparable(c, combined, c.price * combined))
        value = sum((a.adjusted_price for a in adjusted), Decimal(0)) / len(adjusted)
    return MarketResult(tuple(adjusted), value)


# --- sensitivity (敏感性分析) --------------------------------------------------------------------

@dataclass(frozen=True)
class SensitivityRow:
    input: str
    change: Decimal          # −0.2, −0.1, +0.1, +0.2
    value: Decimal           # exact
    value_fen: int


def sensitivity(inputs: Mapping[str, Callable[[Decimal], Decimal]],
                steps: Sequence[Decimal] = SENSITIVITY_STEPS) -> tuple[SensitivityRow, ...]:
    """The value when each named input moves by each relative step (input × (1 + step)), all
    else unchanged. ``inputs`` maps an input's name to a function from the multiplier to the value."""
    rows = []
    for name, revalue in inputs.items():
        for step in steps:
            value = revalue(ONE + step)
            rows.append(SensitivityRow(name, step, value, to_fen(value)))
    return tuple(rows)


def income_sensitivity(forecast: IncomeForecast, *, discount_rate: Decimal, remaining_life: int,
                       mid_year: bool = False) -> tuple[SensitivityRow, ...]:
    """Income method: the discount rate i and the attributable income F_t each moved ±10 %, ±20 %."""

    def at(rate_scale: Decimal = ONE, income_scale: Decimal = ONE) -> Decimal:
        with decimal.localcontext(_context()):
            rate = discount_rate * rate_scale
        return income_value(forecast, discount_rate=rate, remaining_life=remaining_life, mid_year=mid_year,
                            income_scale=income_scale).value

    return sensitivity({"discount_rate": lambda m: at(rate_scale=m),
                              "income": lambda m: at(income_scale=m)})


def cost_sensitivity(revalue: Callable[..., CostResult]) -> tuple[SensitivityRow, ...]:
    """Cost method: the adjustment factor k and the replacement cost TC each moved ±10 %, ±20 %.
    ``revalue(cost_scale=…, factor_scale=…)`` is :func:`cost_value` with the report's inputs."""
    return sensitivity({"adjustment_factor": lambda m: revalue(factor_scale=m).value,
                                         "replacement_cost": lambda m: revalue(cost_scale=m).value})


def market_sensitivity(comparables: Sequence[Comparable]) -> tuple[SensitivityRow, ...]:
    """Market method: every comparable's quality and supply-demand factors moved ±10 %, ±20 %."""

    def scaled(field: str, multiplier: Decimal) -> Decimal:
        with decimal.localcontext(_context()):
            moved = [replace(c, **{field: getattr(c, field) * multiplier}) for c in comparables]
        return market_value(moved).value

    return sensitivity({
        "quality": lambda m: scaled("quality", m), "supply_demand": lambda m: scaled("supply_demand", m)})

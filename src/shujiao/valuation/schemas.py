"""What a valuation takes (the inputs of each method) and what it gives back. Amounts are yuan (元)
as decimals — JSON numbers or strings; rates and factors are decimals (0.1 = 10 %)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shujiao.db import MAX_ID
from shujiao.valuation.formulas import COST_ITEMS

MAX_YEARS = 50
MAX_COMPARABLES = 50

Amount = Annotated[Decimal, Field(ge=-10**15, le=10**15, max_digits=24, decimal_places=6, allow_inf_nan=False)]
NonNegativeAmount = Annotated[Decimal, Field(ge=0, le=10**15, max_digits=24, decimal_places=6, allow_inf_nan=False)]
DiscountRate = Annotated[Decimal, Field(gt=0, le=1, decimal_places=10, allow_inf_nan=False)]
ShareRate = Annotated[Decimal, Field(gt=0, le=1, decimal_places=10, allow_inf_nan=False)]
Factor = Annotated[Decimal, Field(gt=0, le=100, decimal_places=10, allow_inf_nan=False)]
Score = Annotated[Decimal, Field(ge=0, le=100, decimal_places=4, allow_inf_nan=False)]
PositiveScore = Annotated[Decimal, Field(gt=0, le=100, decimal_places=4, allow_inf_nan=False)]
Id = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
Series = Annotated[list[Amount], Field(min_length=1, max_length=MAX_YEARS)]
FactorName = Annotated[str, Field(min_length=1, max_length=40)]
CostItem = Literal[tuple(COST_ITEMS)]  # type: ignore[valid-type]


def _refuse(en: str, zh: str) -> ValueError:
    """Our validators write "English / 中文" (see web.forms)."""
    return ValueError(f"{en} / {zh}")


class _Inputs(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IncomeInputs(_Inputs):
    """收益法. ``income`` is R_t per year from year 1 (for ``incremental``: the income with the data);
    a forecast shorter than ``remaining_life`` repeats its last year to the end."""

    method: Literal["income"] = "income"
    variant: Literal["direct", "share", "excess", "incremental"] = "direct"
    income: Series
    discount_rate: DiscountRate
    remaining_life: int = Field(ge=1, le=MAX_YEARS)
    mid_year: bool = False
    share_rate: ShareRate | None = None
    contributory_charges: dict[FactorName, Series] | None = Field(None, max_length=20)
    income_without: Series | None = None

    @model_validator(mode="after")
    def _fits_variant(self) -> "IncomeInputs":
        series = [self.income, self.income_without, *(self.contributory_charges or {}).values()]
        if any(s is not None and len(s) > self.remaining_life for s in series):
            raise _refuse("a forecast is longer than the remaining economic life", "预测期长于剩余经济寿命期")
        needs = {"share": ("share_rate", self.share_rate, "分成率"),
                 "excess": ("contributory_charges", self.contributory_charges, "贡献资产贡献额"),
                 "incremental": ("income_without", self.income_without, "无该数据资产时的收益")}
        for variant, (name, value, zh) in needs.items():
            if (self.variant == variant) != (value is not None and value != {}):
                if self.variant == variant:
                    raise _refuse(f"the {variant} variant needs {name}", f"该收益预测方式须填写{zh}")
                raise _refuse(f"{name} belongs to the {variant} variant only", f"{zh}仅适用于对应的收益预测方式")
        return self


class CostInputs(_Inputs):
    """成本法: the replacement cost items (yuan), taxes, a reasonable profit rate, and the parts of the
    value adjustment factor: a depreciation rate, a quality score (or a quality report) and others."""

    method: Literal["cost"] = "cost"
    costs: dict[CostItem, NonNegativeAmount] = Field(min_length=1)
    taxes: NonNegativeAmount = Decimal(0)
    profit_rate: Annotated[Decimal, Field(ge=0, le=10, decimal_places=10)] = Decimal(0)
    depreciation_rate: Annotated[Decimal, Field(ge=0, lt=1, decimal_places=10)] | None = None
    quality_score: Score | None = None
    quality_report_id: Id | None = None
    other_factors: dict[FactorName, Factor] = Field(default_factory=dict, max_length=20)

    @model_validator(mode="after")
    def _has_an_adjustment(self) -> "CostInputs":
        if self.quality_score is not None and self.quality_report_id is not None:
            raise _refuse("give a quality score or a quality report, not both", "质量评分与质量评价报告只填其一")
        if (self.depreciation_rate is None and self.quality_score is None and self.quality_report_id is None
                and not self.other_factors):
            raise _refuse("give a depreciation rate, a quality score or an adjustment factor",
                          "须填写贬值率、质量评分或价值调整系数")
        return self


class ComparableInput(_Inputs):
    """A comparable: a settled trade on this exchange (``order_id``; its price is the order's) or an
    outside case (``reference`` and ``price``). The quality factor is given, or computed as the
    subject's quality score ÷ the comparable's ``quality_score``."""

    order_id: Id | None = None
    reference: str = Field("", max_length=200)
    price: NonNegativeAmount | None = None
    quality_factor: Factor | None = None
    quality_score: PositiveScore | None = None
    supply_demand_factor: Factor = Decimal(1)
    date_factor: Factor = Decimal(1)
    volume_factor: Factor = Decimal(1)
    other_factor: Factor = Decimal(1)

    @model_validator(mode="after")
    def _one_source(self) -> "ComparableInput":
        if (self.order_id is None) == (self.price is None):
            raise _refuse("a comparable is either an exchange order (order_id) or an outside price",
                          "可比案例须为本交易所的成交订单或填写外部成交价，二者取一")
        if self.price is not None and not self.reference.strip():
            raise _refuse("an outside comparable needs a reference", "外部可比案例须注明来源")
        if self.quality_factor is not None and self.quality_score is not None:
            raise _refuse("give the quality factor or the comparable's quality score, not both",
                          "质量调整系数与可比案例质量评分只填其一")
        return self


class MarketInputs(_Inputs):
    """市场法: the subject's quality (score or report) and the comparables with their factors."""

    method: Literal["market"] = "market"
    quality_score: PositiveScore | None = None
    quality_report_id: Id | None = None
    comparables: list[ComparableInput] = Field(min_length=1, max_length=MAX_COMPARABLES)

    @model_validator(mode="after")
    def _subject_quality_when_needed(self) -> "MarketInputs":
        if self.quality_score is not None and self.quality_report_id is not None:
            raise _refuse("give a quality score or a quality report, not both", "质量评分与质量评价报告只填其一")
        if any(c.quality_score is not None for c in self.comparables) and (
                self.quality_score is None and self.quality_report_id is None):
            raise _refuse("comparables with a quality score need the subject's quality score",
                          "按质量评分调整时须填写被评估数据资产的质量评分")
        order_ids = [c.order_id for c in self.comparables if c.order_id is not None]
        if len(order_ids) != len(set(order_ids)):
            raise _refuse("the same order is listed twice", "同一订单重复作为可比案例")
        return self


ValuationInputs = Annotated[Union[IncomeInputs, CostInputs, MarketInputs], Field(discriminator="method")]


class InputsDocument(BaseModel):
    """Wraps the inputs so that one validation picks the method's schema (CLI files, forms)."""

    inputs: ValuationInputs


class ReportCreate(BaseModel):
    """A valuation request: what is valued (one of the member's datasets, resources or products, or
    a subject described in words) and the method's inputs."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    subject_type: Literal["dataset", "resource", "product", "text"]
    subject_id: Id | None = None
    subject_text: str = Field("", max_length=200)
    inputs: ValuationInputs

    @model_validator(mode="after")
    def _subject_named(self) -> "ReportCreate":
        if self.subject_type == "text":
            if not self.subject_text:
                raise _refuse("describe the subject", "请填写评估对象")
            if self.subject_id is not None:
                raise _refuse("a described subject has no id", "文字描述的评估对象不填编号")
        elif self.subject_id is None:
            raise _refuse(f"name the {self.subject_type} (subject_id)", "请选择评估对象")
        return self


class ReportRevise(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inputs: ValuationInputs


class ComparableTrade(BaseModel):
    """A settled trade of this exchange as the market method sees it: the price, when, and what the
    product was (from the order's frozen snapshot). Who bought and sold is not shown."""

    order_id: int
    price_fen: int
    settled_at: dt.datetime | None
    title: str
    domain: str
    rows: int | None
    size_bytes: int | None
    file_format: str


class ReportRead(BaseModel):
    id: int
    member_id: int
    subject_type: str
    subject_id: int | None
    subject_text: str
    method: str
    status: str
    value_fen: int
    inputs: dict[str, Any]
    result: dict[str, Any]
    created_by_user_id: int | None
    created_at: dt.datetime
    finalized_at: dt.datetime | None

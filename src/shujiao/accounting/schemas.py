from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shujiao.db import MAX_ID

CLASSIFICATIONS = {
    "pending": ("待分类", "pending"),
    "intangible": ("无形资产", "intangible asset"),
    "inventory": ("存货", "inventory"),
}
ACQUISITIONS = {
    "purchased": ("外购", "purchased"),
    "self_developed": ("自行开发/自行加工", "self-developed / self-processed"),
    "other": ("其他方式取得", "obtained otherwise"),
}
# What makes up the cost of a data resource (暂行规定 二、2 and 二、5).
COST_KINDS = {
    "purchase_price": ("购买价款", "purchase price"),
    "taxes": ("相关税费", "taxes"),
    "exchange_fee": ("交易服务费", "exchange fee"),
    "processing": ("加工费用（脱敏、清洗、标注、整合、分析、可视化）", "processing"),
    "registration_fee": ("登记结算费用", "registration fee"),
    "assessment_fee": ("权属鉴证、质量评估费用", "assessment fee"),
    "other": ("其他", "other"),
}
ENTRY_TYPES = {
    "cost": ("成本", "cost"),
    "research": ("研究阶段支出（费用化）", "research (expensed)"),
    "development": ("开发阶段支出（资本化）", "development (capitalised)"),
    "impairment": ("减值/跌价准备", "impairment / write-down"),
    "impairment_reversal": ("跌价准备转回", "write-down reversed"),
    "disposal": ("终止确认", "derecognition"),
    "sale": ("出售（结转成本）", "sale (cost moved out)"),
}
DISPOSAL_REASONS = {
    "disposal": ("处置", "disposed of"),
    "expired": ("失效且终止确认", "expired and derecognised"),
    "other": ("其他", "other"),
}
Classification = Literal["pending", "intangible", "inventory"]
Acquisition = Literal["purchased", "self_developed", "other"]
EntryType = Literal["cost", "research", "development", "impairment", "impairment_reversal", "disposal", "sale"]
OptionalId = Field(None, strict=True, ge=1, le=MAX_ID)
Amount = Field(strict=True, ge=1, le=10**15)
Life = Field(None, strict=True, ge=1, le=1200)
EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2200, 12, 31)


def _in_range(day: dt.date | None) -> None:
    if day is not None and not EARLIEST <= day <= LATEST:
        raise ValueError("the date must lie between 2000 and 2200 / 日期须在 2000 至 2200 年之间")


class AssetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=2, max_length=200)
    description: str = Field("", max_length=20_000)
    resource_id: int | None = OptionalId
    dataset_id: int | None = OptionalId
    product_id: int | None = OptionalId
    classification: Classification = "pending"
    acquisition: Acquisition
    useful_life_months: int | None = Life
    ready_for_use_on: dt.date | None = None

    @model_validator(mode="after")
    def _consistent(self) -> AssetCreate:
        _in_range(self.ready_for_use_on)
        if self.classification != "intangible" and (self.useful_life_months or self.ready_for_use_on):
            raise ValueError("only an intangible has a useful life and a ready-for-use date / "
                             "只有无形资产有使用寿命和达到预定用途日期")
        return self


class Classify(BaseModel):
    model_config = ConfigDict(extra="forbid")
    classification: Literal["intangible", "inventory"]
    useful_life_months: int | None = Life
    ready_for_use_on: dt.date | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Classify:
        _in_range(self.ready_for_use_on)
        if self.classification == "inventory" and (self.useful_life_months or self.ready_for_use_on):
            raise ValueError("inventory has no useful life / 存货没有使用寿命")
        return self


class ReadyForUse(BaseModel):
    """A self-developed intangible reaches its intended use (达到预定用途): amortization starts."""

    model_config = ConfigDict(extra="forbid")
    ready_for_use_on: dt.date
    useful_life_months: int | None = Life

    @model_validator(mode="after")
    def _in_range(self) -> ReadyForUse:
        _in_range(self.ready_for_use_on)
        return self


class EntryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    entry_type: EntryType
    detail: str = Field("", max_length=24)
    amount_fen: int = Field(0, strict=True, ge=0, le=10**15)
    occurred_on: dt.date
    note: str = Field("", max_length=5000)

    @model_validator(mode="after")
    def _consistent(self) -> EntryCreate:
        _in_range(self.occurred_on)
        if self.entry_type == "cost" and self.detail not in COST_KINDS:
            raise ValueError("a cost names its kind: " + ", ".join(COST_KINDS) + " / 请选择成本类别")
        if self.entry_type == "disposal":
            if self.detail not in DISPOSAL_REASONS:
                raise ValueError("a derecognition names its reason: disposal, expired or other / 请选择终止确认原因")
            if self.amount_fen:
                raise ValueError("a derecognition takes out the whole balance; give no amount / 终止确认无需填写金额")
        elif self.amount_fen < 1:
            raise ValueError("the amount must be at least 0.01 yuan / 金额须大于零")
        if self.entry_type not in ("cost", "disposal") and self.detail:
            raise ValueError("only costs and derecognitions take a detail / 仅成本和终止确认需要类别")
        return self


class Reversal(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    occurred_on: dt.date
    note: str = Field(min_length=2, max_length=5000)

    @model_validator(mode="after")
    def _date(self) -> Reversal:
        _in_range(self.occurred_on)
        return self


class PolicyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    default_classification: Classification
    default_useful_life_months: int | None = Life

    @model_validator(mode="after")
    def _consistent(self) -> PolicyUpdate:
        if self.default_classification != "intangible" and self.default_useful_life_months:
            raise ValueError("only an intangible has a useful life / 只有无形资产有使用寿命")
        return self


class EntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    asset_id: int
    entry_type: str
    detail: str
    amount_fen: int
    occurred_on: dt.date
    source: str | None
    reverses_entry_id: int | None
    note: str
    created_by: str
    created_at: dt.datetime


class AssetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    member_id: int
    name: str
    description: str
    resource_id: int | None
    dataset_id: int | None
    product_id: int | None
    classification: str
    acquisition: str
    useful_life_months: int | None
    ready_for_use_on: dt.date | None
    status: str
    created_at: dt.datetime
    classified_at: dt.datetime | None


class Figures(BaseModel):
    cost_fen: int
    accumulated_amortization_fen: int
    impairment_fen: int
    carrying_fen: int
    development_in_progress_fen: int


class AssetDetail(AssetRead):
    entries: list[EntryRead] = []
    figures: Figures | None = None


class ScheduleLineRead(BaseModel):
    year: int
    month: int
    amount_fen: int
    accumulated_fen: int
    carrying_fen: int


class PolicyRead(BaseModel):
    default_classification: str
    default_useful_life_months: int | None


class TableRowRead(BaseModel):
    label_zh: str
    label_en: str
    level: int
    figures: dict[str, int] | None


class TableRead(BaseModel):
    classification: str
    columns: dict[str, list[str]]
    rows: list[TableRowRead]
    reconciles: bool


class DisclosureRead(BaseModel):
    member_id: int
    start: dt.date
    end: dt.date
    intangible: TableRead
    inventory: TableRead
    research_expensed_fen: int
    development_capitalised_fen: int
    development_in_progress_fen: int
    pending_asset_ids: list[int]

"""What the fingerprint API takes and returns."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MODES = {
    "alter_values": ("可在容差内改动数值", "values may change within a tolerance"),
    "no_alteration": ("不改动任何数值（按买方选取行）", "no value changes (a keyed subset of rows per buyer)"),
}


class ColumnToleranceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=200)
    # The column's values are given to this many decimal places (0 for whole numbers).
    decimals: int = Field(0, ge=0, le=8, strict=True)
    # No value moves by more than this, in the column's own units (e.g. "0.01" yuan).
    max_abs_change: Decimal = Field(Decimal(1), gt=0, le=Decimal(10) ** 9, max_digits=20, decimal_places=8)


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    mode: Literal["alter_values", "no_alteration"]
    key_columns: list[str] = Field(min_length=1, max_length=8)
    columns: list[ColumnToleranceIn] = Field(default_factory=list, max_length=50)
    # About one row in γ carries a mark (or, without alteration, may be left out of a copy).
    gamma: int = Field(10, ge=2, le=1000, strict=True)


class PolicyRead(BaseModel):
    product_id: int
    mode: Literal["alter_values", "no_alteration"]
    mode_zh: str
    key_columns: list[str]
    columns: list[ColumnToleranceIn]
    gamma: int
    saved: bool  # False: the default the exchange applies until the provider chooses
    updated_at: dt.datetime | None


class BuyerScore(BaseModel):
    order_id: int
    buyer_member_id: int
    buyer_name: str
    matches: int
    bits: int
    p_value: float


class DetectionRead(BaseModel):
    product_id: int
    named_order_id: int | None
    named_buyer_member_id: int | None
    named_buyer_name: str | None
    # The probability that an innocent copy matches as well as the best buyer (Bonferroni-corrected).
    significance: float
    threshold: float
    rows: int
    marks: int
    recovered_bits: int
    verdict_zh: str
    verdict_en: str
    scores: list[BuyerScore]

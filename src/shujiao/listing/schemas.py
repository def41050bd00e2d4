from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from shujiao.db import MAX_ID
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shujiao.usage.offer import Offer

MAX_PRICE_FEN = 10**12

CHECKLIST_ITEMS = {
    "legal_source": ("数据来源合法", "the data's source is lawful"),
    "personal_information": ("个人信息已依法处理（无或已取得授权）", "personal information absent or lawfully authorized"),
    "security_grade": ("分类分级与安全措施相符", "classification grade and security measures match"),
    "intellectual_property": ("无知识产权争议", "no intellectual-property dispute"),
    "negative_list": ("不涉及负面清单", "not on the negative list"),
}


class ProductCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    resource_id: int = Field(strict=True, ge=1, le=MAX_ID)
    dataset_id: int = Field(strict=True, ge=1, le=MAX_ID)
    title: str = Field(min_length=2, max_length=200)
    description: str = Field(min_length=1, max_length=20_000)
    price_fen: int = Field(ge=0, le=MAX_PRICE_FEN, strict=True)
    offer: Offer = Field(default_factory=Offer)  # pricing plan and usage terms (ODRL Offer)


class ProductUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    title: str | None = Field(None, min_length=2, max_length=200)
    description: str | None = Field(None, min_length=1, max_length=20_000)
    price_fen: int | None = Field(None, ge=0, le=MAX_PRICE_FEN, strict=True)
    offer: Offer | None = None


class Checklist(BaseModel):
    """Each item is true when the reviewer confirmed it; an approval needs all five."""

    model_config = ConfigDict(extra="forbid")
    legal_source: bool = Field(strict=True)
    personal_information: bool = Field(strict=True)
    security_grade: bool = Field(strict=True)
    intellectual_property: bool = Field(strict=True)
    negative_list: bool = Field(strict=True)


class Review(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    decision: Literal["approve", "reject"]
    checklist: Checklist
    reason: str = Field("", max_length=5000)

    @model_validator(mode="after")
    def _consistent(self) -> "Review":
        if self.decision == "approve" and not all(self.checklist.model_dump().values()):
            raise ValueError("approval needs every checklist item confirmed / 批准上架须确认全部合规检查项")
        if self.decision == "reject" and len(self.reason) < 2:
            raise ValueError("a rejection needs a reason / 驳回须说明理由")
        return self


class Delisting(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str = Field("", max_length=2000)


class ProductRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    member_id: int
    provider_name: str = ""
    resource_id: int
    dataset_id: int
    title: str
    description: str
    price_fen: int
    status: str
    version: int
    listed_at: dt.datetime | None
    disclosure: dict[str, Any] = {}
    offer: dict[str, Any] = {}


class ReviewRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    product_id: int
    product_version: int
    decision: str
    reason: str
    reviewed_at: dt.datetime

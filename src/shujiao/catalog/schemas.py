from __future__ import annotations

import datetime as dt
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

GRADE_LABELS = {"core": "核心数据", "important": "重要数据", "general": "一般数据"}
SENSITIVITY_LABELS = {1: "1级（公开）", 2: "2级（内部）", 3: "3级（敏感）", 4: "4级（高敏感）"}


class ResourceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=2, max_length=200)
    description: str = Field("", max_length=10_000)
    domain: str = Field(min_length=1, max_length=64)
    grade: Literal["core", "important", "general"]
    sensitivity: int | None = Field(None, ge=1, le=4, strict=True)

    @model_validator(mode="after")
    def _sensitivity_only_for_general(self) -> "ResourceCreate":
        if self.grade == "general" and self.sensitivity is None:
            raise ValueError("general data needs a sensitivity level 1–4 / 一般数据须标明敏感级别")
        if self.grade != "general" and self.sensitivity is not None:
            raise ValueError("sensitivity levels apply to general data only / 敏感级别仅适用于一般数据")
        return self


class ResourceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    member_id: int
    name: str
    description: str
    domain: str
    grade: str
    sensitivity: int | None
    created_at: dt.datetime


class Column(BaseModel):
    name: str
    type: str


class DatasetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    resource_id: int
    filename: str
    file_format: str
    size_bytes: int
    sha256: str
    rows: int
    columns: list[Column]
    uploaded_at: dt.datetime

    @classmethod
    def of(cls, dataset: object) -> "DatasetRead":
        return cls(
            id=dataset.id, resource_id=dataset.resource_id, filename=dataset.filename,  # type: ignore[attr-defined]
            file_format=dataset.file_format, size_bytes=dataset.size_bytes,  # type: ignore[attr-defined]
            sha256=dataset.sha256, rows=dataset.row_count,  # type: ignore[attr-defined]
            columns=json.loads(dataset.columns_json), uploaded_at=dataset.uploaded_at,  # type: ignore[attr-defined]
        )

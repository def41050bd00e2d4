from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator



class UpstreamRegister(BaseModel):
    """The secret value is write-only: no response, page, log or error ever carries it."""

    model_config = ConfigDict(extra="forbid")
    base_url: str = Field(min_length=8, max_length=500, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    auth_header: str = Field("Authorization", min_length=1, max_length=100, pattern=r"^[A-Za-z0-9-]+$")
    secret: str = Field(min_length=1, max_length=2000, repr=False)

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("auth_header")
    @classmethod
    def _not_hop_by_hop(cls, value: str) -> str:
        if value.lower() in {"host", "connection", "content-length", "transfer-encoding", "x-api-key", "cookie"}:
            raise ValueError("this header cannot carry the secret / 该请求头不能用于上游认证")
        return value


class UpstreamRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    product_id: int
    member_id: int
    base_url: str
    auth_header: str
    has_secret: bool = True
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, upstream: Any) -> "UpstreamRead":
        return cls(id=upstream.id, product_id=upstream.product_id, member_id=upstream.member_id,
                   base_url=upstream.base_url, auth_header=upstream.auth_header,
                   created_at=upstream.created_at,
                   updated_at=upstream.updated_at)


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    order_id: int
    prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str  # shown once


class DayUsage(BaseModel):
    day: str
    calls: int
    billable: int
    errors: int
    bytes_in: int
    bytes_out: int


class UsageRead(BaseModel):
    order_id: int
    calls: int
    billable_calls: int
    bytes_in: int
    bytes_out: int
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    statuses: dict[str, int]
    days: list[DayUsage]
    period_start: dt.datetime | None
    period_end: dt.datetime | None
    period_calls: int
    quota: int | None
    quota_left: int | None


class StatementRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    order_id: int
    buyer_member_id: int
    provider_member_id: int
    period_start: dt.datetime
    period_end: dt.datetime
    calls_total: int
    calls_billable: int
    amount_fen: int
    fee_fen: int
    status: str
    ledger_key: str | None
    created_at: dt.datetime
    paid_at: dt.datetime | None
    lines: list[dict[str, Any]]

    @classmethod
    def of(cls, statement: Any) -> "StatementRead":
        return cls.model_validate({name: getattr(statement, name) for name in cls.model_fields if name != "lines"}
                                  | {"lines": json.loads(statement.lines_json)})

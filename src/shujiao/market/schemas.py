from __future__ import annotations

import datetime as dt
import json
from typing import Any

from shujiao.db import MAX_ID
from pydantic import BaseModel, ConfigDict, Field

from shujiao.usage.offer import Purpose


class OrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: int = Field(strict=True, ge=1, le=MAX_ID)
    purpose: Purpose | None = None  # 用途, from the offer's list; becomes the contract's purpose constraint


class RefundRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str = Field("", max_length=1000)


class OrderRead(BaseModel):
    id: int
    status: str
    amount_fen: int
    fee_fen: int | None
    product_id: int
    product_version: int
    buyer_member_id: int
    provider_member_id: int
    created_at: dt.datetime
    paid_at: dt.datetime | None
    delivered_at: dt.datetime | None
    closed_at: dt.datetime | None
    close_reason: str
    purpose: str = ""
    product: dict[str, Any]

    @classmethod
    def of(cls, order: Any) -> "OrderRead":
        return cls(
            id=order.id, status=order.status, amount_fen=order.amount_fen, fee_fen=order.fee_fen,
            product_id=order.product_id, product_version=order.product_version,
            buyer_member_id=order.buyer_member_id, provider_member_id=order.provider_member_id,
            created_at=order.created_at, paid_at=order.paid_at, delivered_at=order.delivered_at,
            closed_at=order.closed_at, close_reason=order.close_reason, purpose=order.purpose,
            product=json.loads(order.snapshot_json),
        )

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class RevokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str = Field("", max_length=1000)


class PeriodRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    order_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    max_downloads: int | None
    downloads_used: int
    status: str


class ContractRead(BaseModel):
    order_id: int
    status: str
    buyer_member_id: int
    provider_member_id: int
    product_id: int
    purpose: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    max_downloads: int | None
    downloads_used: int
    revoked_at: dt.datetime | None
    revoke_reason: str
    periods: list[PeriodRead]
    offer: dict[str, Any]
    policy_zh: list[str]

    @classmethod
    def of(cls, view: Any) -> "ContractRead":
        root = view.contract
        return cls(order_id=root.order_id, status=view.status, buyer_member_id=root.buyer_member_id,
                   provider_member_id=root.provider_member_id, product_id=root.product_id, purpose=root.purpose,
                   starts_at=view.starts_at, ends_at=view.ends_at, max_downloads=view.max_downloads,
                   downloads_used=view.downloads_used, revoked_at=root.revoked_at, revoke_reason=root.revoke_reason,
                   periods=[PeriodRead.model_validate(p) for p in view.periods], offer=view.offer.model_dump(),
                   policy_zh=view.policy_zh)


class DenialRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    order_id: int
    member_id: int | None
    action: str
    rule: str
    occurred_at: dt.datetime

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shujiao.consent.core import PURPOSES


class ChallengeStart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str = Field(min_length=5, max_length=32)


class ChallengeRead(BaseModel):
    challenge_id: int
    expires_at: dt.datetime
    # Only outside production with the ``log`` SMS backend: no SMS gateway is wired in yet.
    dev_code: str | None = None


class PersonLogin(BaseModel):
    model_config = ConfigDict(extra="forbid")
    challenge_id: int = Field(ge=1, le=2**53)
    code: str = Field(min_length=1, max_length=12)


class PersonToken(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: dt.datetime
    person_id: int


class PersonRead(BaseModel):
    person_id: int
    keys: list[dict[str, str]]  # kind and the person key (the keyed hash) of each verified identifier


class ScenarioCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=2, max_length=200)
    purpose: Literal[tuple(PURPOSES)]  # type: ignore[valid-type]
    description: str = Field("", max_length=2000)
    data_items: list[str] = Field(min_length=1, max_length=200)
    key_column: str = Field(min_length=1, max_length=200)
    max_days: int = Field(ge=1, le=36500)
    sensitive: bool = False
    on_missing: Literal["exclude", "refuse"] = "exclude"


class ScenarioRead(BaseModel):
    id: int
    product_id: int
    product_title: str
    provider_name: str
    name: str
    purpose: str
    purpose_zh: str
    purpose_en: str
    description: str
    data_items: list[str]
    key_column: str
    max_days: int
    sensitive: bool
    on_missing: str
    status: str
    created_at: dt.datetime
    live_consents: int | None = None  # for the provider and the operator only


class ConsentGrant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: int | None = Field(None, ge=1, le=36500)  # default: the scenario's longest period


class UseRead(BaseModel):
    channel: str
    order_id: int
    buyer_name: str
    reference: str
    rows: int
    used_at: dt.datetime


class ConsentRead(BaseModel):
    id: int
    receipt_id: str
    scenario_id: int
    product_id: int
    scenario_name: str
    product_title: str
    purpose: str
    status: str  # live, expired or revoked
    granted_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    uses: int


class ConsentDetail(ConsentRead):
    receipt: dict[str, Any]
    signature: str  # base64 of the exchange's signature over ``receipt_json``
    receipt_json: str
    key_id: str
    revocation: dict[str, Any] | None
    revocation_json: str | None
    revocation_signature: str | None
    use_log: list[UseRead]

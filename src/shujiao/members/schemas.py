from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shujiao.members import credit_code as credit_code_rules

USERNAME_PATTERN = r"^[A-Za-z0-9_.\-]{3,64}$"


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(pattern=USERNAME_PATTERN)
    password: str = Field(min_length=8, max_length=128)


class StaffCreate(UserCreate):
    role: Literal["admin", "staff"] = "staff"


class MemberApply(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=2, max_length=200)
    credit_code: str
    kind: Literal["provider", "buyer", "service", "financial", "assessor", "authority"]
    admin: UserCreate

    @field_validator("credit_code")
    @classmethod
    def _valid_credit_code(cls, value: str) -> str:
        value = value.strip().upper()
        problem = credit_code_rules.problem(value)
        if problem:
            raise ValueError(f"invalid unified social credit code ({problem}) / 统一社会信用代码无效")
        return value


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=2, max_length=1000)


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    role: str


class MemberRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    credit_code: str | None
    kind: str
    status: str
    decision_reason: str
    applied_at: dt.datetime
    decided_at: dt.datetime | None


class MeRead(BaseModel):
    member: MemberRead
    user: UserRead


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: dt.datetime

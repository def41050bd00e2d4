from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shujiao.db import MAX_ID

RIGHTS = {
    "holding": ("数据资源持有权", "data resource holding right"),
    "processing": ("数据加工使用权", "data processing and use right"),
    "operating": ("数据产品经营权", "data product operating right"),
}
SOURCES = {
    "self_collected": ("自行采集", "self-collected"),
    "purchased": ("交易取得", "purchased"),
    "public_authorization": ("公共数据授权运营", "public-data authorized operation"),
    "derived": ("基于已上架产品加工", "derived from listed products"),
}
CERTIFICATE_STATUSES = {
    "valid": ("有效", "Valid"),
    "pledged": ("已质押", "Pledged"),
    "revoked": ("已撤销", "Revoked"),
    "expired": ("已过期", "Expired"),
}
Right = Literal["holding", "processing", "operating"]
Source = Literal["self_collected", "purchased", "public_authorization", "derived"]
Id = Field(strict=True, ge=1, le=MAX_ID)


class ApplicationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    subject_type: Literal["resource", "dataset", "product"]
    subject_id: int = Id
    # The data version being registered; required for a resource (which dataset of it), taken
    # from the subject for a dataset or a product.
    dataset_id: int | None = Field(None, strict=True, ge=1, le=MAX_ID)
    title: str = Field(min_length=2, max_length=200)
    description: str = Field("", max_length=20_000)
    rights: list[Right] = Field(min_length=1, max_length=3)
    source: Source
    source_note: str = Field("", max_length=5000)
    validity_years: int | None = Field(None, strict=True, ge=1, le=20)

    @model_validator(mode="after")
    def _consistent(self) -> "ApplicationCreate":
        if len(set(self.rights)) != len(self.rights):
            raise ValueError("each right once / 每项权利只能申请一次")
        if self.source in ("purchased", "derived", "public_authorization") and len(self.source_note) < 2:
            raise ValueError("say where the data came from (contract, order or authorization) / 请说明数据来源凭据")
        return self


class ObjectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    objector_name: str = Field(min_length=2, max_length=200)
    contact: str = Field(min_length=3, max_length=200)
    reason: str = Field(min_length=5, max_length=10_000)


class ObjectionResolution(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    decision: Literal["upheld", "dismissed"]
    resolution: str = Field(min_length=2, max_length=5000)


class ApplicationDecision(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    decision: Literal["approve", "reject"]
    reason: str = Field("", max_length=5000)
    # A flagged duplicate is approved only when the reviewer says they checked it.
    duplicate_reviewed: bool = Field(False, strict=True)

    @model_validator(mode="after")
    def _consistent(self) -> "ApplicationDecision":
        if self.decision == "reject" and len(self.reason) < 2:
            raise ValueError("a rejection needs a reason / 驳回须说明理由")
        return self


class BatchDecision(ApplicationDecision):
    application_ids: list[int] = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _ids(self) -> "BatchDecision":
        if any(not (1 <= i <= MAX_ID) for i in self.application_ids):
            raise ValueError("application ids are positive integers / 申请编号须为正整数")
        return self


class CertificateChange(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    title: str | None = Field(None, min_length=2, max_length=200)
    description: str | None = Field(None, max_length=20_000)
    # A new version of the data: the certificate's fingerprints follow it.
    dataset_id: int | None = Field(None, strict=True, ge=1, le=MAX_ID)
    reason: str = Field(min_length=2, max_length=5000)


class Counterparty(BaseModel):
    """The other member, by id or by its 统一社会信用代码 (how organizations know each other)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    member_id: int | None = Field(None, strict=True, ge=1, le=MAX_ID)
    credit_code: str | None = Field(None, min_length=18, max_length=18)

    @model_validator(mode="after")
    def _one(self) -> "Counterparty":
        if (self.member_id is None) == (self.credit_code is None):
            raise ValueError("give member_id or credit_code / 请给出会员编号或统一社会信用代码之一")
        return self


class TransferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    to: Counterparty
    note: str = Field("", max_length=5000)


class PledgeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    pledgee: Counterparty
    # The loan or pledge contract the pledge secures (质押合同编号).
    contract_ref: str = Field(min_length=2, max_length=200)
    secured_amount_fen: int = Field(ge=0, le=10**14, strict=True)


class Answer(BaseModel):
    """The counterparty's answer to a transfer or pledge request."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    accept: bool = Field(strict=True)
    note: str = Field("", max_length=5000)


class Revocation(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str = Field(min_length=2, max_length=5000)
    # Operator only: a dispute ruling names the ruling (e.g. the order dispute or court case).
    basis: Literal["holder", "operator", "dispute_ruling"] = "holder"
    ruling_ref: str = Field("", max_length=200)

    @model_validator(mode="after")
    def _consistent(self) -> "Revocation":
        if self.basis == "dispute_ruling" and len(self.ruling_ref) < 2:
            raise ValueError("a dispute ruling needs its reference / 争议裁决须注明文号")
        return self


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    note: str = Field("", max_length=5000)


class DocumentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    filename: str
    size_bytes: int
    sha256: str
    uploaded_at: dt.datetime


class ObjectionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    application_id: int
    objector_name: str
    contact: str
    reason: str
    status: str
    resolution: str
    created_at: dt.datetime
    resolved_at: dt.datetime | None


class ApplicationRead(BaseModel):
    """What anyone sees of an application in its public comment period (公示)."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    member_id: int
    applicant_name: str = ""
    subject_type: str
    subject_id: int
    title: str
    description: str
    rights: list[str] = []
    source: str
    content_sha256: str
    schema_fingerprint: str
    status: str
    duplicate_flag: bool
    publicity_ends_at: dt.datetime | None
    decision_reason: str
    submitted_at: dt.datetime | None
    decided_at: dt.datetime | None


class ApplicationDetail(ApplicationRead):
    """The applicant's and the operator's view: with the documents, objections and certificates."""

    dataset_id: int
    source_note: str
    validity_years: int
    duplicate_of: list[dict[str, object]] = []
    documents: list[DocumentRead] = []
    objections: list[ObjectionRead] = []
    certificates: list[str] = []


class StatementRead(BaseModel):
    seq: int
    event: str
    at: dt.datetime
    statement: str
    signature: str
    key_id: str


class CertificateRead(BaseModel):
    number: str
    status: str
    right_type: str
    holder_name: str
    holder_credit_code: str
    subject_type: str
    subject_title: str
    description: str
    content_sha256: str
    schema_fingerprint: str
    source: str
    valid_from: dt.datetime
    valid_until: dt.datetime
    issued_at: dt.datetime
    version: int
    pledgee_name: str | None
    pending_action: str | None
    pending_member_name: str | None
    history: list[StatementRead]

"""What the quality API takes and returns."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shujiao.db import MAX_ID
from shujiao.registry.schemas import Counterparty

COMMISSION_STATUSES = {
    "open": ("评估中", "open"),
    "signed": ("已签署", "signed"),
    "withdrawn": ("已撤回", "withdrawn"),
}

# Rules are typed by people; a rule file past this is a mistake, not a dataset's rules.
MAX_RULES_CHARS = 100_000


class RulesText(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=MAX_RULES_CHARS)


class RuleSetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    dataset_id: int
    version: int
    rules_text: str
    edited_by: str
    created_at: dt.datetime


class RulesState(BaseModel):
    """The dataset's current rules, or (before any were saved) a suggested first draft."""
    dataset_id: int
    current: RuleSetRead | None
    draft: str


class CommissionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    assessor: Counterparty
    note: str = Field("", max_length=5000)


class CommissionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    dataset_id: int
    member_id: int
    assessor_member_id: int
    note: str
    status: Literal["open", "signed", "withdrawn"]
    created_at: dt.datetime
    closed_at: dt.datetime | None
    provider_name: str = ""
    assessor_name: str = ""


class SignatureCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    opinion: str = Field(min_length=2, max_length=20_000)


class SignatureRead(BaseModel):
    assessor_member_id: int
    assessor_name: str
    assessor_credit_code: str
    report_hash: str
    opinion: str
    statement: str  # the exact signed bytes (canonical JSON)
    signature: str  # base64
    key_id: str
    signed_at: dt.datetime


class AttachRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: int = Field(strict=True, ge=1, le=MAX_ID)


class ReportSummary(BaseModel):
    """What anyone may read of a report attached to a listed product: the scores and how they were
    computed, never the failed rows (those are examples of the data itself)."""
    id: int
    dataset_id: int
    dataset_sha256: str
    rule_set_version: int
    overall_score: Decimal
    grade: str
    created_at: dt.datetime
    run_by: str
    full: bool = False
    # The scores: in a summary without the failed values (see service.public_summary).
    score: dict[str, Any]
    signature: SignatureRead | None = None


class ReportRead(ReportSummary):
    """The whole report, for the dataset's owner, the commissioned assessor and the operator."""
    full: bool = True
    member_id: int
    commission_id: int | None
    rules_text: str
    profile: dict[str, Any]


class LatestScore(BaseModel):
    dataset_id: int
    report_id: int
    overall_score: Decimal
    grade: str


class ProductQuality(BaseModel):
    product_id: int
    report: ReportSummary
    attached_at: dt.datetime


EVALUATION_STATUSES = {
    "queued": ("排队中", "queued"),
    "running": ("评价中", "running"),
    "done": ("已完成", "done"),
    "failed": ("失败", "failed"),
}


class EvaluationError(BaseModel):
    code: str
    message_zh: str
    message_en: str


class EvaluationRead(BaseModel):
    """A queued evaluation (评价任务): what POST .../reports returns (202) for a large dataset."""
    id: int
    dataset_id: int
    status: Literal["queued", "running", "done", "failed"]
    attempts: int
    requested_by: str
    commission_id: int | None
    report_id: int | None
    error: EvaluationError | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @classmethod
    def of(cls, job: Any) -> "EvaluationRead":
        error = None
        if job.error_code is not None:
            error = EvaluationError(code=job.error_code, message_zh=job.error_zh or "", message_en=job.error_en or "")
        return cls(id=job.id, dataset_id=job.dataset_id, status=job.status, attempts=job.attempts,
                   requested_by=job.requested_by, commission_id=job.commission_id, report_id=job.report_id,
                   error=error, created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at)

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

# A supporting document is shown as a registration's is.
from shujiao.registry.schemas import DocumentRead

OpenClass = Literal["unconditional", "conditional", "closed"]
Frequency = Literal["realtime", "daily", "weekly", "monthly", "quarterly", "annual", "irregular"]

OPEN_CLASSES: dict[str, tuple[str, str]] = {
    "unconditional": ("无条件开放", "open to all"),
    "conditional": ("有条件开放", "open on application"),
    "closed": ("不予开放", "not open"),
}
FREQUENCIES: dict[str, tuple[str, str]] = {
    "realtime": ("实时", "real time"), "daily": ("每日", "daily"), "weekly": ("每周", "weekly"),
    "monthly": ("每月", "monthly"), "quarterly": ("每季度", "quarterly"), "annual": ("每年", "yearly"),
    "irregular": ("不定期", "irregular"),
}
APPLICATION_STATUSES: dict[str, tuple[str, str]] = {
    "submitted": ("待审核", "awaiting review"), "approved": ("已批准", "approved"), "rejected": ("已驳回", "rejected"),
}
REQUEST_STATUSES: dict[str, tuple[str, str]] = {
    "open": ("待分派", "awaiting routing"), "routed": ("办理中", "with the department"),
    "answered": ("已答复", "answered"), "refused": ("不予提供", "refused"), "overdue": ("已逾期", "overdue"),
}



def download_path(dataset_id: int) -> str:
    """Where an open dataset downloads from (the portal's link and the DCAT downloadURL)."""
    return f"/api/v1/public-data/datasets/{dataset_id}/download"


_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class DepartmentCreate(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=2, max_length=200)
    code: str = Field(pattern=r"^[A-Za-z0-9_\-]{1,32}$")


class DepartmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    authority_member_id: int
    name: str
    code: str


class NegativeRuleCreate(BaseModel):
    model_config = _STRICT
    kind: Literal["field", "category"]
    term: str = Field(min_length=1, max_length=100)
    reason: str = Field("", max_length=1000)


class NegativeRuleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    authority_member_id: int
    kind: str
    term: str
    reason: str


class FieldSpec(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=1000)


class PublicResourceUpdate(BaseModel):
    model_config = _STRICT
    open_class: OpenClass
    update_frequency: Frequency
    conditions: str = Field("", max_length=10_000)
    closed_reason: str = Field("", max_length=1000)

    @model_validator(mode="after")
    def _conditions_for_conditional(self) -> "PublicResourceUpdate":
        if self.open_class == "conditional" and not self.conditions:
            raise ValueError("a conditional resource states its conditions / 有条件开放须写明开放条件")
        return self


class PublicResourceCreate(PublicResourceUpdate):
    resource_id: int = Field(ge=1, le=2**62)
    department_id: int = Field(ge=1, le=2**62)
    fields: list[FieldSpec] = Field(default_factory=list, max_length=500)


class PublicDatasetRead(BaseModel):
    id: int
    filename: str
    file_format: str
    rows: int
    size_bytes: int
    sha256: str
    uploaded_at: dt.datetime
    download_url: str | None  # only for unconditional data


class PublicResourceRead(BaseModel):
    id: int
    resource_id: int
    authority_member_id: int
    authority_name: str
    department: DepartmentRead
    name: str
    description: str
    domain: str
    open_class: str
    update_frequency: str
    fields: list[FieldSpec]
    conditions: str
    closed_reason: str
    datasets: list[PublicDatasetRead]  # empty for closed data
    updated_at: dt.datetime


class ApplicationCreate(BaseModel):
    model_config = _STRICT
    purpose: str = Field(min_length=2, max_length=2000)
    scenario: str = Field(min_length=2, max_length=2000)


class Decision(BaseModel):
    model_config = _STRICT
    approve: bool
    reason: str = Field(min_length=2, max_length=1000)


class ApplicationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    public_resource_id: int
    authority_member_id: int
    applicant_member_id: int
    purpose: str
    scenario: str
    status: str
    decision_reason: str
    created_at: dt.datetime
    decided_at: dt.datetime | None
    documents: list[DocumentRead] = []


class RequestCreate(BaseModel):
    model_config = _STRICT
    authority_member_id: int = Field(ge=1, le=2**62)
    title: str = Field(min_length=2, max_length=200)
    reason: str = Field(min_length=2, max_length=2000)
    scenario: str = Field(min_length=2, max_length=2000)
    contact: str = Field(min_length=3, max_length=200)


class RequestRoute(BaseModel):
    model_config = _STRICT
    department_id: int = Field(ge=1, le=2**62)


class RequestAnswer(BaseModel):
    model_config = _STRICT
    outcome: Literal["answered", "refused"]
    answer: str = Field(min_length=2, max_length=4000)


class RequestRead(BaseModel):
    """What everyone sees of a request: never the requester's contact."""

    id: int
    authority_member_id: int
    department_id: int | None
    title: str
    reason: str
    scenario: str
    status: str  # open | routed | answered | refused | overdue (routed and past due)
    answer: str
    created_at: dt.datetime
    routed_at: dt.datetime | None
    due_at: dt.datetime | None
    answered_at: dt.datetime | None


class RequestCounts(BaseModel):
    department_id: int
    department_name: str
    routed: int
    answered: int
    refused: int
    overdue: int  # routed, not answered, past due at the time asked
    answered_late: int


class Freshness(BaseModel):
    public_resource_id: int
    name: str
    open_class: str
    update_frequency: str
    newest_upload_at: dt.datetime | None
    stale: bool  # no upload, or the newest older than the declared frequency allows


class LedgerRead(BaseModel):
    """The one ledger (一本账) of a department."""

    department: DepartmentRead
    by_open_class: dict[str, int]
    total: int
    stale: int
    resources: list[Freshness]
    requests: RequestCounts


class SurveyCreate(BaseModel):
    model_config = _STRICT
    title: str = Field(min_length=2, max_length=200)
    period: str = Field(min_length=2, max_length=32)
    items: list[str] = Field(min_length=1, max_length=100)
    due_at: AwareDatetime


class SurveyAnswer(BaseModel):
    model_config = _STRICT
    item: str = Field(min_length=1, max_length=500)
    done: bool
    note: str = Field("", max_length=2000)


class SurveyResponseCreate(BaseModel):
    model_config = _STRICT
    department_id: int = Field(ge=1, le=2**62)
    answers: list[SurveyAnswer] = Field(min_length=1, max_length=100)


class SurveyRead(BaseModel):
    id: int
    title: str
    period: str
    items: list[str]
    due_at: dt.datetime
    responses: dict[int, list[SurveyAnswer]]  # department id -> answers
    missing_departments: list[int]

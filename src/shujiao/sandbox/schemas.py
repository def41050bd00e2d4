"""What the sandbox API takes and returns."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shujiao.sandbox.models import Job, PsiRun
from shujiao.sandbox.policy import SandboxPolicy


class PolicyRead(BaseModel):
    product_id: int
    policy: SandboxPolicy
    description_zh: list[str]
    description_en: list[str]


class JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sql: str = Field(min_length=1, max_length=20_000)
    # DP mode: the ε this query spends (default: the policy's default per query).
    epsilon: Decimal | None = Field(None, gt=0, le=100, max_digits=12, decimal_places=6)
    psi_run_id: int | None = Field(None, ge=1, le=2**53, strict=True)


class JobRead(BaseModel):
    id: int
    order_id: int
    product_id: int
    status: str
    mode: str
    engine: str
    query_sha256: str
    sql: str
    epsilon: Decimal | None
    psi_run_id: int | None
    rule: str
    message_zh: str
    message_en: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    reviewed_at: dt.datetime | None
    review_note: str
    # Only when the reader may see it (the buyer once released; the provider while reviewing).
    result: dict[str, Any] | None = None
    error_bounds: dict[str, Any] | None = None

    @classmethod
    def of(cls, job: Job, *, with_result: bool) -> "JobRead":
        return cls(id=job.id, order_id=job.order_id, product_id=job.product_id, status=job.status, mode=job.mode,
                   engine=job.engine, query_sha256=job.query_sha256, sql=job.sql_text,
                   epsilon=None if job.epsilon_micro is None else Decimal(job.epsilon_micro) / 1_000_000,
                   psi_run_id=job.psi_run_id, rule=job.rule, message_zh=job.message_zh, message_en=job.message_en,
                   created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at,
                   reviewed_at=job.reviewed_at, review_note=job.review_note,
                   result=json.loads(job.result_json) if with_result and job.result_json else None,
                   error_bounds=json.loads(job.error_bounds_json) if with_result and job.error_bounds_json else None)


class ReviewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool = Field(strict=True)
    note: str = Field("", max_length=1000)


class BudgetRead(BaseModel):
    order_id: int
    period_start: dt.datetime
    period_end: dt.datetime
    limit: Decimal
    spent: Decimal
    remaining: Decimal


class PsiCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[str] = Field(min_length=1)


class PsiRead(BaseModel):
    id: int
    order_id: int
    status: str
    key_column: str
    reveal: str
    buyer_count: int
    intersection_size: int | None
    ids_sha256: str
    message_en: str
    created_at: dt.datetime
    finished_at: dt.datetime | None

    @classmethod
    def of(cls, run: PsiRun) -> "PsiRead":
        return cls(id=run.id, order_id=run.order_id, status=run.status, key_column=run.key_column, reveal=run.reveal,
                   buyer_count=run.buyer_count, intersection_size=run.intersection_size, ids_sha256=run.ids_sha256,
                   message_en=run.message_en, created_at=run.created_at, finished_at=run.finished_at)

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shujiao.db import Base, BigId, UTCDateTime


class Policy(Base):
    """The provider's output policy for one sandbox product (输出策略), as ``SandboxPolicy`` JSON."""

    __tablename__ = "sandbox_policy"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("listing_product.id"), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    policy_json: Mapped[str] = mapped_column(Text)
    updated_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("member_user.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Job(Base):
    """One buyer query (沙箱任务): queued → running → released | awaiting_approval → released |
    refused; or failed. Refused also at submission when the policy check fails (never queued).
    The result (at most the policy's row cap) is kept as JSON for its buyer."""

    __tablename__ = "sandbox_job"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("market_order.id"), index=True)  # the contract
    buyer_member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    provider_member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("listing_product.id"), index=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("catalog_dataset.id"))
    submitted_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("member_user.id"))
    sql_text: Mapped[str] = mapped_column(Text)
    query_sha256: Mapped[str] = mapped_column(String(64))
    policy_json: Mapped[str] = mapped_column(Text)  # the policy the check used (runs under it too)
    checked_json: Mapped[str] = mapped_column(Text, default="")  # the checked plan; "" when refused at once
    mode: Mapped[str] = mapped_column(String(8))  # exact | dp
    engine: Mapped[str] = mapped_column(String(16))
    epsilon_micro: Mapped[int | None] = mapped_column(BigInteger)  # DP: ε reserved, in millionths
    psi_run_id: Mapped[int | None] = mapped_column(ForeignKey("sandbox_psi_run.id"))
    status: Mapped[str] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    rule: Mapped[str] = mapped_column(String(40), default="")  # why it was refused or failed
    message_zh: Mapped[str] = mapped_column(String(1000), default="")
    message_en: Mapped[str] = mapped_column(String(1000), default="")
    result_json: Mapped[str] = mapped_column(Text, default="")  # {"columns": [...], "rows": [[...]]}
    result_rows: Mapped[int | None] = mapped_column(Integer)
    error_bounds_json: Mapped[str] = mapped_column(Text, default="")  # DP: {"output": bound}, confidence
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reviewed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("member_user.id"))
    review_note: Mapped[str] = mapped_column(String(1000), default="")

    __table_args__ = (Index("ix_sandbox_job_status_id", "status", "id"),)


class Budget(Base):
    """A buyer's differential-privacy budget (隐私预算) for one period of one contract, in
    millionths of ε: the one row every reservation updates (atomically, never past ``limit``)."""

    __tablename__ = "sandbox_budget"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("market_order.id"))
    period_start: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    period_end: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    limit_micro: Mapped[int] = mapped_column(BigInteger)
    spent_micro: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (UniqueConstraint("order_id", "period_start"),)


class BudgetEntry(Base):
    """Insert-only lines of the budget ledger: +ε reserved for a job, −ε given back when a job
    fails before any noise is drawn. A period's spent ε is the sum of its lines."""

    __tablename__ = "sandbox_budget_entry"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("sandbox_budget.id"), index=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("sandbox_job.id"), index=True)
    delta_micro: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(16))  # reserve | return
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class PsiRun(Base):
    """A private set intersection (隐私求交) of the buyer's IDs with the provider's key column:
    queued → running → done | failed. The buyer sees the size, and the matching IDs only when the
    policy reveals the intersection; the intersection itself stays in the exchange's storage for
    sandbox jobs over it."""

    __tablename__ = "sandbox_psi_run"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("market_order.id"), index=True)
    buyer_member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    provider_member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("listing_product.id"))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("catalog_dataset.id"))
    submitted_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("member_user.id"))
    key_column: Mapped[str] = mapped_column(String(200))
    reveal: Mapped[str] = mapped_column(String(16))  # intersection | size
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    buyer_ids_key: Mapped[str] = mapped_column(String(300))  # storage key of the buyer's IDs
    buyer_count: Mapped[int] = mapped_column(BigInteger)
    provider_count: Mapped[int | None] = mapped_column(BigInteger)
    intersection_size: Mapped[int | None] = mapped_column(BigInteger)
    intersection_key: Mapped[str] = mapped_column(String(300), default="")  # storage key (Parquet)
    ids_sha256: Mapped[str] = mapped_column(String(64))
    message_en: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

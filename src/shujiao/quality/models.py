from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from shujiao.db import Base, BigId, UTCDateTime


class RuleSet(Base):
    """One version of a dataset's quality rules (质量规则), as the YAML its owner typed.

    Every save is a new version; earlier versions stay, so a report names exactly the rules it ran.
    """

    __tablename__ = "quality_rule_set"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("catalog_dataset.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    rules_text: Mapped[str] = mapped_column(Text)
    edited_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("member_user.id"))
    edited_by: Mapped[str] = mapped_column(String(64))  # the username, as the page shows it
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Report(Base):
    """A quality evaluation report (质量评价报告): the profile of one dataset's bytes under one rule
    set version, and its GB/T 36344-2018 scores. Stored whatever the rules found — a failing
    dataset's report is the point of running it."""

    __tablename__ = "quality_report"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("catalog_dataset.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)  # the dataset's owner
    dataset_sha256: Mapped[str] = mapped_column(String(64))
    rule_set_id: Mapped[int] = mapped_column(ForeignKey("quality_rule_set.id"))
    rule_set_version: Mapped[int] = mapped_column(Integer)
    profile_json: Mapped[str] = mapped_column(Text)
    score_json: Mapped[str] = mapped_column(Text)
    # 0.00–100.00, exact (the score's Decimal string parsed, never a float).
    overall_score: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    grade: Mapped[str] = mapped_column(String(2))
    # Set when a commissioned assessor ran it (only such a report can carry the assessor's signature).
    commission_id: Mapped[int | None] = mapped_column(ForeignKey("quality_commission.id"), index=True)
    run_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    run_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("member_user.id"))
    run_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Commission(Base):
    """An assessment commission (委托评估): a provider names a third-party assessor member
    (第三方评估机构) for one of its datasets. The assessor may then profile that dataset and sign
    the report; it never receives the data itself. open → signed | withdrawn."""

    __tablename__ = "quality_commission"
    # One open commission per assessor and dataset, even when two requests race past the service's check.
    __table_args__ = (Index("ix_quality_commission_one_open", "dataset_id", "assessor_member_id", unique=True,
                            sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("catalog_dataset.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)  # the provider
    assessor_member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Signature(Base):
    """The assessor's signature of a report (评估机构签章): the exact statement bytes (canonical
    JSON naming the report's hash, the assessor and its opinion), signed with the exchange's suite
    key on the assessor's instruction and written to the transparency log as an audit record."""

    __tablename__ = "quality_signature"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("quality_report.id"), unique=True)
    commission_id: Mapped[int] = mapped_column(ForeignKey("quality_commission.id"), index=True)
    assessor_member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    report_hash: Mapped[str] = mapped_column(String(80))  # "sm3:<hex>" | "sha256:<hex>"
    opinion: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(ForeignKey("crypto_key.id"))
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Attachment(Base):
    """A report shown on a product page (质量报告挂载). The newest row of a product is the one shown;
    earlier rows stay as the history of what buyers were shown."""

    __tablename__ = "quality_attachment"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("listing_product.id"), index=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("quality_report.id"), index=True)
    attached_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("member_user.id"))
    attached_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Evaluation(Base):
    """A queued evaluation (评价任务) of a dataset too large to profile inside a request: the
    requester's identity as it was checked when queued, the rule set version it will run, and the
    outcome — a report, or the error a person can read. queued → running → done | failed; a job
    whose worker died is queued again (``attempts`` counts the runs started)."""

    __tablename__ = "quality_evaluation"
    # One queued or running job per dataset and requesting member, even when two requests race.
    __table_args__ = (Index("ix_quality_evaluation_one_active", "dataset_id", "requested_by_member_id", unique=True,
                            sqlite_where=text("status IN ('queued', 'running')"),
                            postgresql_where=text("status IN ('queued', 'running')")),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("catalog_dataset.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)  # the dataset's owner
    rule_set_id: Mapped[int] = mapped_column(ForeignKey("quality_rule_set.id"))
    requested_by_user_id: Mapped[int] = mapped_column(ForeignKey("member_user.id"))
    requested_by_member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    requested_by: Mapped[str] = mapped_column(String(64))  # the username, as the report will show it
    # Set when a commissioned assessor asked: the report is then run under that commission.
    commission_id: Mapped[int | None] = mapped_column(ForeignKey("quality_commission.id"))
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_zh: Mapped[str | None] = mapped_column(Text)
    error_en: Mapped[str | None] = mapped_column(Text)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("quality_report.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shujiao.db import Base, BigId, UTCDateTime


class Department(Base):
    """A department (委办局) under a data authority; its resources are held by the authority member."""

    __tablename__ = "public_data_department"
    __table_args__ = (UniqueConstraint("authority_member_id", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    authority_member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class PublicResource(Base):
    """A catalog resource of the authority in the public data catalog (公共数据目录), with its open
    class: unconditional (无条件开放), conditional (有条件开放) or closed (不予开放)."""

    __tablename__ = "public_data_resource"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), unique=True)
    authority_member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("public_data_department.id"), index=True)
    open_class: Mapped[str] = mapped_column(String(16), index=True)
    update_frequency: Mapped[str] = mapped_column(String(16))
    # The fields the department declares, [{"name", "description"}]; the datasets' columns are checked too.
    fields_json: Mapped[str] = mapped_column(Text, default="[]")
    conditions: Mapped[str] = mapped_column(Text, default="")  # 开放条件 of a conditional resource
    closed_reason: Mapped[str] = mapped_column(String(1000), default="")  # 不予开放理由
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class NegativeRule(Base):
    """One entry of the authority's negative list (负面清单): a field name or a data category
    that may never be opened."""

    __tablename__ = "public_data_negative_rule"
    __table_args__ = (UniqueConstraint("authority_member_id", "kind", "term"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    authority_member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # field | category
    term: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Application(Base):
    """A member's application for a conditional resource (有条件开放申请): submitted → approved | rejected."""

    __tablename__ = "public_data_application"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_resource_id: Mapped[int] = mapped_column(ForeignKey("public_data_resource.id"), index=True)
    authority_member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    applicant_member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    applicant_user_id: Mapped[int | None] = mapped_column(ForeignKey("member_user.id"))
    purpose: Mapped[str] = mapped_column(String(2000))
    scenario: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(16), index=True)
    decision_reason: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("member_user.id"))


class ApplicationDocument(Base):
    """A supporting document of an application; only the applicant and the authority may read it."""

    __tablename__ = "public_data_document"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("public_data_application.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class DataRequest(Base):
    """A request for public data (需求征集) from anyone: open → routed to a department → answered |
    refused (with a reason). A routed request not answered by ``due_at`` is overdue."""

    __tablename__ = "public_data_request"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    authority_member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("public_data_department.id"), index=True)
    requester_member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    contact: Mapped[str] = mapped_column(String(200))  # never shown publicly
    title: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(2000))
    scenario: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(16), index=True)
    answer: Mapped[str] = mapped_column(String(4000), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    routed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Download(Base):
    """One download of a public dataset (anonymous or by a member), for the department's counts."""

    __tablename__ = "public_data_download"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_resource_id: Mapped[int] = mapped_column(ForeignKey("public_data_resource.id"), index=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("catalog_dataset.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    application_id: Mapped[int | None] = mapped_column(ForeignKey("public_data_application.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    client_address: Mapped[str] = mapped_column(String(64), default="")
    downloaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Survey(Base):
    """A resource survey round (资源调查): a checklist each department of the authority fills."""

    __tablename__ = "public_data_survey"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    authority_member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    period: Mapped[str] = mapped_column(String(32))  # e.g. 2026-Q4
    items_json: Mapped[str] = mapped_column(Text)  # ["checklist question", ...]
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class SurveyResponse(Base):
    """A department's answers to a survey round: one per department, replaced until the round closes."""

    __tablename__ = "public_data_survey_response"
    __table_args__ = (UniqueConstraint("survey_id", "department_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("public_data_survey.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("public_data_department.id"))
    answers_json: Mapped[str] = mapped_column(Text)  # [{"item", "done", "note"}]
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

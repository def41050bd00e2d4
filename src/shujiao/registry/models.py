from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shujiao.db import Base, BigId, UTCDateTime


class Application(Base):
    """A registration application (登记申请): draft → publicity (公示) → approved | rejected; or withdrawn.

    It names the data by its bytes (``content_sha256``, the dataset's SHA-256) and its shape
    (``schema_fingerprint``), and the rights claimed; approval issues one certificate per right.
    """

    __tablename__ = "registry_application"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    subject_type: Mapped[str] = mapped_column(String(16))  # resource | dataset | product
    subject_id: Mapped[int] = mapped_column(BigInteger)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("catalog_dataset.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    rights_json: Mapped[str] = mapped_column(Text)  # ["holding", "operating", …]
    source: Mapped[str] = mapped_column(String(32))
    source_note: Mapped[str] = mapped_column(Text, default="")
    content_sha256: Mapped[str] = mapped_column(String(64), index=True)
    schema_fingerprint: Mapped[str] = mapped_column(String(64))
    validity_years: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    # Set at submission when another holder already registered (or applied for) the same bytes.
    duplicate_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    duplicate_of: Mapped[str] = mapped_column(Text, default="")  # JSON list of what it duplicates
    publicity_ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Document(Base):
    """A supporting document of an application (证明材料): seen by the applicant and the operator only."""

    __tablename__ = "registry_document"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("registry_application.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Objection(Base):
    """An objection raised during the public comment period (公示异议): open → upheld | dismissed."""

    __tablename__ = "registry_objection"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("registry_application.id"), index=True)
    objector_member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    objector_name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    resolution: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Certificate(Base):
    """A registration certificate (登记凭证): valid | pledged | revoked | expired.

    The row is the current state; the signed statements (``Statement``) are its history and what
    verifiers check. ``pending_action`` is a transfer or pledge waiting for the counterparty.
    """

    __tablename__ = "registry_certificate"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str | None] = mapped_column(String(40), unique=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("registry_application.id"), index=True)
    holder_member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    right_type: Mapped[str] = mapped_column(String(16))
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int] = mapped_column(BigInteger)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("catalog_dataset.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(32))
    content_sha256: Mapped[str] = mapped_column(String(64), index=True)
    schema_fingerprint: Mapped[str] = mapped_column(String(64))
    valid_from: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    pledgee_member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    pending_action: Mapped[str | None] = mapped_column(String(16))  # transfer | pledge
    pending_member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), index=True)
    pending_note: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Statement(Base):
    """One signed event of a certificate: the exact bytes the exchange signed (canonical JSON of the
    certificate's state after the event, chained to the previous statement by hash)."""

    __tablename__ = "registry_statement"
    __table_args__ = (UniqueConstraint("certificate_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("registry_certificate.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(ForeignKey("crypto_key.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

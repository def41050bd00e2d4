from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shujiao.db import Base, BigId, UTCDateTime


class AuditEvent(Base):
    """One state change. Insert-only: no code path updates or deletes it, and triggers refuse to."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The record's leaf in the transparency log (shujiao.tlog): dense, in commit order.
    leaf_index: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_user_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_member_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_label: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    # The change as canonical JSON (see audit.canonical); kept as text so it is stored byte-exact.
    change_json: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index("ix_audit_event_subject", "subject_type", "subject_id", "id"),
        Index("ix_audit_event_leaf_index", "leaf_index", unique=True),
    )

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shujiao.db import Base, BigId, UTCDateTime


class Report(Base):
    """A valuation report (数据资产评估报告): draft (may be recomputed with new inputs) → final (never
    changed again; a new valuation is a new report, so the old ones stay as they were issued).

    The subject is one of the member's datasets, resources or products (``subject_id``) or a
    subject described in words (``subject_type`` "text"). ``result_json`` holds everything the
    report shows: formula, intermediate values, result and sensitivity.
    """

    __tablename__ = "valuation_report"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    subject_type: Mapped[str] = mapped_column(String(16))  # dataset | resource | product | text
    subject_id: Mapped[int | None] = mapped_column(BigInteger)
    subject_text: Mapped[str] = mapped_column(String(200), default="")
    method: Mapped[str] = mapped_column(String(16))  # income | cost | market
    inputs_json: Mapped[str] = mapped_column(Text)
    result_json: Mapped[str] = mapped_column(Text)
    value_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), index=True)  # draft | final
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("member_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    finalized_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

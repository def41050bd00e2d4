from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shujiao.db import Base, BigId, UTCDateTime


class Order(Base):
    """created → paid → delivered → settled; paid or delivered → refunded."""

    __tablename__ = "market_order"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    buyer_member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    provider_member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("listing_product.id"), index=True)
    product_version: Mapped[int] = mapped_column(Integer)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("catalog_dataset.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    fee_fen: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    # The product exactly as the buyer saw it when ordering (JSON), kept whatever happens to it later.
    snapshot_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    close_reason: Mapped[str] = mapped_column(String(1000), default="")
    # The purpose (用途) the buyer declared from the offer's controlled list; "" = not narrowed.
    purpose: Mapped[str] = mapped_column(String(32), default="", server_default="")

    __table_args__ = (Index("ix_market_order_status_delivered_at", "status", "delivered_at"),)

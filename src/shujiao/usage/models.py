from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shujiao.db import Base, BigId, UTCDateTime


class Contract(Base):
    """One per paid order (合约; the contract number is the order id): the offer frozen at payment,
    its ODRL Agreement, the dateTime window and the download count. active → revoked | expired.

    A subscription renewal is a paid order of its own with its own contract row, chained to the
    first one by ``root_order_id``; the first order's id stays the contract number every delivery
    point uses, and the chain's row whose window holds "now" is the one that is checked."""

    __tablename__ = "usage_contract"

    order_id: Mapped[int] = mapped_column(ForeignKey("market_order.id"), primary_key=True, autoincrement=False)
    root_order_id: Mapped[int] = mapped_column(BigInteger, index=True)
    buyer_member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    provider_member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("listing_product.id"))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("catalog_dataset.id"))
    offer_json: Mapped[str] = mapped_column(Text)
    agreement_json: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(32), default="")
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    max_downloads: Mapped[int | None] = mapped_column(Integer)
    downloads_used: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoke_reason: Mapped[str] = mapped_column(String(1000), default="")


class Denial(Base):
    """A refused use of a contract, kept although the request failed (its transaction rolled back)."""

    __tablename__ = "usage_denial"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int | None] = mapped_column(BigInteger)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(16))
    rule: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_usage_denial_order_id_occurred_at", "order_id", "occurred_at"),)

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from shujiao.db import Base, BigId, UTCDateTime


class DeliveryLink(Base):
    """A download link for one order and one buyer member; only the token's hash is stored."""

    __tablename__ = "delivery_link"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("market_order.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class DeliveryDownload(Base):
    __tablename__ = "delivery_download"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("delivery_link.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("market_order.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("member_user.id"))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    client_address: Mapped[str] = mapped_column(String(64), default="")
    downloaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

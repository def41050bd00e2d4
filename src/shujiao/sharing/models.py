from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from shujiao.db import Base, BigId, UTCDateTime


class SharingProfile(Base):
    """A Delta Sharing profile (共享凭证) for one contract: the bearer token's hash, never the token.

    Issuing a new profile for a contract (rotation) revokes the ones before it, so at most one is
    live per contract; every request looks the token up here (no process keeps tokens in memory)."""

    __tablename__ = "sharing_profile"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("market_order.id"), index=True)  # the contract
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)  # the buyer
    issued_by_user_id: Mapped[int] = mapped_column(ForeignKey("member_user.id"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class SharingRead(Base):
    """One read of a contract's table over Delta Sharing (a query that handed out the file URL):
    the metering record both sides see. Insert-only."""

    __tablename__ = "sharing_read"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("market_order.id"), index=True)  # the contract
    profile_id: Mapped[int] = mapped_column(ForeignKey("sharing_profile.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("member_user.id"))
    file_bytes: Mapped[int] = mapped_column(BigInteger)
    num_records: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

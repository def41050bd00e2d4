from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shujiao.db import Base, BigId, UTCDateTime


class Upstream(Base):
    """A provider's upstream HTTP API behind one product. The auth secret is sealed with the vault's
    master key (bound to the upstream's product id) and is never returned by anything."""

    __tablename__ = "gateway_upstream"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("listing_product.id"), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    base_url: Mapped[str] = mapped_column(String(500))
    auth_header: Mapped[str] = mapped_column(String(100))
    master_key_id: Mapped[str] = mapped_column(String(64))
    sealed_secret: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ApiKey(Base):
    """A contract's API key: shown once, stored as its SHA-256 (the key is 32 random bytes, so an
    unsalted hash is enough and lets the gateway find it with one indexed lookup)."""

    __tablename__ = "gateway_api_key"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("market_order.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    prefix: Mapped[str] = mapped_column(String(16))
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Period(Base):
    """A contract's billing period as the gateway saw it: the quota, the calls claimed from it by
    gateway processes (in leased blocks, never beyond the quota), and the plan in force."""

    __tablename__ = "gateway_period"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("market_order.id"))
    period_start: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    period_end: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    quota: Mapped[int | None] = mapped_column(BigInteger)
    claimed: Mapped[int] = mapped_column(BigInteger, default=0)
    plan_json: Mapped[str] = mapped_column(Text)
    billed: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (UniqueConstraint("order_id", "period_start"),)


class RateWindow(Base):
    """Calls claimed for one contract in one second (epoch seconds), shared by all gateway processes."""

    __tablename__ = "gateway_rate_window"

    order_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    second: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    used: Mapped[int] = mapped_column(Integer, default=0)


class Call(Base):
    """One call through the gateway (inserted in batches). ``forwarded`` is false for calls the
    gateway refused itself (quota, rate limit)."""

    __tablename__ = "gateway_call"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigInteger)
    key_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(200))
    status: Mapped[int] = mapped_column(Integer)
    forwarded: Mapped[bool] = mapped_column()
    bytes_in: Mapped[int] = mapped_column(BigInteger)
    bytes_out: Mapped[int] = mapped_column(BigInteger)
    latency_us: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_gateway_call_order_id_at", "order_id", "at"),)


class Statement(Base):
    """A contract's statement (对账单) for one ended period: paid (ledger entry posted), unpaid (the
    buyer's wallet was short; the contract is suspended until it is paid) or nothing_due."""

    __tablename__ = "gateway_statement"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("market_order.id"), index=True)
    buyer_member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    provider_member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    period_start: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    period_end: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    calls_total: Mapped[int] = mapped_column(BigInteger)
    calls_billable: Mapped[int] = mapped_column(BigInteger)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    fee_fen: Mapped[int] = mapped_column(BigInteger)
    lines_json: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    ledger_key: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("order_id", "period_start"),)

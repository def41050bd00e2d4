from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shujiao.db import Base, BigId, UTCDateTime


class Person(Base):
    """An individual (个人). Nothing identifying is stored here: only keyed hashes, in PersonKey."""

    __tablename__ = "consent_person"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class PersonKey(Base):
    """A verified identifier of a person as its keyed hash (the person key datasets carry)."""

    __tablename__ = "consent_person_key"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("consent_person.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    verified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Challenge(Base):
    """A one-time code sent to a phone: stored as a keyed hash, with an expiry and an attempt limit."""

    __tablename__ = "consent_challenge"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class PersonSession(Base):
    """A person's login, like ``member_session``: only the token's hash is stored."""

    __tablename__ = "consent_person_session"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("consent_person.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Scenario(Base):
    """A product's declaration that it holds personal data: the scenario (场景), its purpose, the data
    items used, the longest consent period, and the dataset column holding the person key."""

    __tablename__ = "consent_scenario"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("listing_product.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(2000), default="")
    data_items_json: Mapped[str] = mapped_column(Text)
    key_column: Mapped[str] = mapped_column(String(200))
    max_days: Mapped[int] = mapped_column(Integer)
    sensitive: Mapped[bool] = mapped_column(default=False)
    on_missing: Mapped[str] = mapped_column(String(16))  # "exclude" or "refuse"
    status: Mapped[str] = mapped_column(String(16), index=True)  # "active" or "withdrawn"
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("member_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Consent(Base):
    """One person's consent to one scenario's purpose for a period, with its signed receipt (and,
    once revoked, the signed revocation)."""

    __tablename__ = "consent_record"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    receipt_id: Mapped[str] = mapped_column(String(36), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("consent_person.id"), index=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("consent_scenario.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    receipt_json: Mapped[str] = mapped_column(Text)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(ForeignKey("crypto_key.id"))
    revocation_json: Mapped[str | None] = mapped_column(Text)
    revocation_signature: Mapped[bytes | None] = mapped_column(LargeBinary)


class Use(Base):
    """One use of a person's records under a consent: a download or a sandbox job (the person sees these)."""

    __tablename__ = "consent_use"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    consent_id: Mapped[int] = mapped_column(ForeignKey("consent_record.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("consent_person.id"), index=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("consent_scenario.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("market_order.id"))
    buyer_member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    channel: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    used_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shujiao.db import Base, BigId, UTCDateTime


class Policy(Base):
    """The provider's choice for one product (指纹策略): whether fingerprinting may alter values
    (``alter_values``, within the tolerance of each named numeric column) or not
    (``no_alteration``: each buyer gets a keyed subset of the rows), and the key column(s)."""

    __tablename__ = "fingerprint_policy"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("listing_product.id"), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    mode: Mapped[str] = mapped_column(String(16))  # alter_values | no_alteration
    key_columns_json: Mapped[str] = mapped_column(Text)
    # [{"name", "decimals", "max_abs_change"}] for alter_values; [] otherwise.
    columns_json: Mapped[str] = mapped_column(Text)
    gamma: Mapped[int] = mapped_column(Integer)
    updated_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("member_user.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Copy(Base):
    """One fingerprinted copy served to a buyer: which contract, under which policy (as it was
    then, so a later change of policy still detects it), and the copy's own SHA-256."""

    __tablename__ = "fingerprint_copy"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("market_order.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("listing_product.id"), index=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("catalog_dataset.id"))
    policy_json: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(BigInteger)
    marked_cells: Mapped[int] = mapped_column(BigInteger)
    omitted_rows: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

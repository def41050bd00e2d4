from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shujiao.db import Base, BigId, UTCDateTime


class Asset(Base):
    """A member's data asset card (数据资产卡片): what it is, how it was obtained and how it is
    classified — 无形资产 (intangible), 存货 (inventory), or pending until the member decides.

    Its figures are never stored here: they follow from its insert-only entries (``Entry``).
    """

    __tablename__ = "accounting_asset"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_resource.id"))
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_dataset.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("listing_product.id"), index=True)
    classification: Mapped[str] = mapped_column(String(16))  # pending | intangible | inventory
    acquisition: Mapped[str] = mapped_column(String(16))  # purchased | self_developed | other
    useful_life_months: Mapped[int | None] = mapped_column(Integer)  # None: indefinite (使用寿命不确定)
    ready_for_use_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), index=True)  # active | derecognized
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    classified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Entry(Base):
    """One accounting event of an asset, never updated or deleted; a correction is a reversing
    entry (the negative amount, pointing at what it reverses).

    ``entry_type``: cost (成本, ``detail`` says which: purchase price, taxes …), research (研究阶段,
    expensed) or development (开发阶段, capitalised), impairment (减值) or its reversal (inventory
    only), disposal (终止确认, ``detail`` disposal | expired | other), sale (inventory 出售: the
    cost moved out). ``source`` names where it came from (``order:17``); unique, so one order never
    flows in twice.
    """

    __tablename__ = "accounting_entry"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("accounting_asset.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    entry_type: Mapped[str] = mapped_column(String(24))
    detail: Mapped[str] = mapped_column(String(24), default="")
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(String(64), unique=True)
    reverses_entry_id: Mapped[int | None] = mapped_column(ForeignKey("accounting_entry.id"), unique=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Policy(Base):
    """A member's default for purchases that flow in from the exchange: classify them at once
    (with this useful life) instead of leaving them pending."""

    __tablename__ = "accounting_policy"

    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), primary_key=True, autoincrement=False)
    default_classification: Mapped[str] = mapped_column(String(16))  # pending | intangible | inventory
    default_useful_life_months: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

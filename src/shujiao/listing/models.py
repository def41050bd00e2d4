from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shujiao.db import Base, BigId, UTCDateTime


class Product(Base):
    """A data product. draft → submitted → listed | rejected; listed → delisted."""

    __tablename__ = "listing_product"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("catalog_dataset.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    price_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), index=True)
    # Bumped at every submission, so that a review and every order name the version they saw.
    version: Mapped[int] = mapped_column(Integer, default=0)
    # Lower-cased title + description, segmented with jieba, for Chinese search.
    search_text: Mapped[str] = mapped_column(Text, default="")
    # What the exchange disclosed of the reviewed version (resource, dataset, columns), frozen at
    # approval as JSON so that orders copy exactly what was reviewed; "" until first listed.
    disclosure_json: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The offer (pricing plan + usage terms, ``shujiao.usage.offer.Offer``) as JSON; "{}" is the
    # default offer (one-off price, file delivery, 365-day term).
    offer_json: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    listed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ProductReview(Base):
    """One compliance review (合规审核) of one version of a product."""

    __tablename__ = "listing_review"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("listing_product.id"), index=True)
    product_version: Mapped[int] = mapped_column(Integer)
    reviewer_user_id: Mapped[int] = mapped_column(ForeignKey("member_user.id"))
    decision: Mapped[str] = mapped_column(String(16))
    checklist_json: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    reviewed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

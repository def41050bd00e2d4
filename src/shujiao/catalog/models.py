from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shujiao.db import Base, BigId, UTCDateTime


class Resource(Base):
    """A data resource (数据资源) with its classification grade (分类分级, GB/T 43697-2024)."""

    __tablename__ = "catalog_resource"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    domain: Mapped[str] = mapped_column(String(64))
    grade: Mapped[str] = mapped_column(String(16))  # core | important | general
    sensitivity: Mapped[int | None] = mapped_column(Integer)  # 1–4, general data only
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Dataset(Base):
    """An uploaded file of a resource. The bytes live in storage; the database holds what describes them.

    The stored file is sealed by the data vault (``crypto/vault.py``) with the dataset's own data
    key; the row keeps that key wrapped by a master key. ``cipher`` is NULL only for a file stored
    in plaintext before the vault existed (``shujiao vault encrypt-existing`` converts those).
    ``size_bytes`` and ``sha256`` always describe the plaintext, as the buyer receives it.
    """

    __tablename__ = "catalog_dataset"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    file_format: Mapped[str] = mapped_column(String(16))  # csv | parquet
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    row_count: Mapped[int] = mapped_column(BigInteger)
    # [{"name": ..., "type": ...}] as inferred by DuckDB.
    columns_json: Mapped[str] = mapped_column(Text)
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    cipher: Mapped[str | None] = mapped_column(String(16))  # sm4-gcm | aes-256-gcm | NULL = plaintext
    master_key_id: Mapped[str | None] = mapped_column(ForeignKey("crypto_key.id"))
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)

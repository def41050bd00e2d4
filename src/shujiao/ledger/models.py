from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shujiao.db import Base, BigId, UTCDateTime


class LedgerAccount(Base):
    __tablename__ = "ledger_account"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    normal_side: Mapped[str] = mapped_column(String(8))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), index=True)
    # Running balance on the account's normal side, kept in the same transaction as its postings
    # so that a row lock on the account serializes spending; `ledger check` recomputes it.
    balance_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    # Second guard beside ledger.core: only the bank account may show a negative balance.
    __table_args__ = (CheckConstraint("kind = 'bank' OR balance_fen >= 0", name="balance_not_negative"),)


class LedgerEntry(Base):
    __tablename__ = "ledger_entry"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    memo: Mapped[str] = mapped_column(String(500), default="")
    # SHA-256 of the canonical postings, to tell a harmless replay from a conflicting reuse of a key.
    content_sha256: Mapped[str] = mapped_column(String(64))
    posted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    postings: Mapped[list["LedgerPosting"]] = relationship(
        back_populates="entry", order_by="LedgerPosting.id", lazy="selectin"
    )


class LedgerPosting(Base):
    __tablename__ = "ledger_posting"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entry.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)

    entry: Mapped[LedgerEntry] = relationship(back_populates="postings")
    account: Mapped[LedgerAccount] = relationship(lazy="joined")

    __table_args__ = (CheckConstraint("amount_fen <> 0", name="amount_not_zero"),)

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from shujiao.ledger.service import MAX_AMOUNT_FEN


class MoneyMovement(BaseModel):
    """A deposit or withdrawal the operator records after the bank transfer (银行流水号 as reference)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    amount_fen: int = Field(gt=0, le=MAX_AMOUNT_FEN, strict=True)
    reference: str = Field(min_length=1, max_length=64)


class PostingRead(BaseModel):
    account: str
    amount_fen: int


class EntryRead(BaseModel):
    id: int
    idempotency_key: str
    kind: str
    memo: str
    posted_at: dt.datetime
    postings: list[PostingRead]

    @classmethod
    def of(cls, entry: object) -> "EntryRead":
        return cls(
            id=entry.id, idempotency_key=entry.idempotency_key, kind=entry.kind, memo=entry.memo,  # type: ignore[attr-defined]
            posted_at=entry.posted_at,  # type: ignore[attr-defined]
            postings=[PostingRead(account=p.account.code, amount_fen=p.amount_fen) for p in entry.postings],  # type: ignore[attr-defined]
        )


class BalanceRead(BaseModel):
    member_id: int
    balance_fen: int
    held_fen: int


class StatementLine(BaseModel):
    entry_id: int
    kind: str
    memo: str
    account: str
    amount_fen: int
    posted_at: dt.datetime


class LedgerCheckRead(BaseModel):
    balanced: bool
    problems: list[str]
    entries: int
    postings: int
    unbalanced_entries: list[int]
    accounts_out_of_step: list[str]
    negative_member_accounts: list[str]
    bank_fen: int
    owed_to_members_fen: int
    fees_fen: int
    deposits_fen: int
    withdrawals_fen: int

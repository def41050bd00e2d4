"""Ledger commands and queries. :func:`post` is the only writer of journal entries."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from shujiao.audit import service as audit
from shujiao.commands import Actor, command, inside_command, query, require_operator
from shujiao.db import expire_loaded, utcnow
from shujiao.errors import Conflict, InvalidInput, NotFound
from shujiao.ledger import core
from shujiao.ledger.core import AccountKind, NormalSide
from shujiao.ledger.models import LedgerAccount, LedgerEntry, LedgerPosting

BANK = core.BANK
FEES = core.FEES
MAX_AMOUNT_FEN = 10**15  # a thousand billion yuan; anything larger is a typing mistake


_account = LedgerAccount.__table__
_entry = LedgerEntry.__table__
_posting = LedgerPosting.__table__

# The statements of post(), built once: it runs for every payment and settlement, and building
# and caching a statement per call cost more than the round trips.
_FIND_REPLAY = select(_entry.c.id, _entry.c.content_sha256).where(_entry.c.idempotency_key == bindparam("key"))
# Locked in a fixed order (by code) so that two entries touching the same accounts cannot deadlock.
_LOCK_ACCOUNTS = (
    select(_account.c.id, _account.c.code, _account.c.normal_side, _account.c.balance_fen)
    .where(_account.c.code.in_(bindparam("codes", expanding=True))).order_by(_account.c.code).with_for_update()
)
_INSERT_ENTRY = insert(_entry).returning(_entry.c.id)
_INSERT_POSTINGS = insert(_posting)
_SET_BALANCE = update(_account).where(_account.c.id == bindparam("account_id")).values(
    balance_fen=bindparam("new_balance"))


class InsufficientFunds(Conflict):
    code = "insufficient_funds"


def _content_sha256(entry: core.Entry) -> str:
    text = entry.kind + "|" + "|".join(
        f"{p.account}:{p.amount_fen}" for p in sorted(entry.postings, key=lambda p: p.account)
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _check_amount(amount_fen: int) -> None:
    if type(amount_fen) is not int or amount_fen <= 0 or amount_fen > MAX_AMOUNT_FEN:
        raise InvalidInput("金额必须为正整数（分）", "amount must be a positive integer number of fen")


@inside_command
def open_member_accounts(session: Session, *, member_id: int) -> None:
    """Create a member's wallet and escrow accounts (part of approving the member)."""
    for code, kind in ((core.wallet_code(member_id), AccountKind.WALLET), (core.escrow_code(member_id), AccountKind.ESCROW)):
        if session.scalar(select(LedgerAccount.id).where(LedgerAccount.code == code)) is None:
            session.add(LedgerAccount(
                code=code, kind=kind.value, normal_side=core.NORMAL_SIDE[kind].value,
                member_id=member_id, balance_fen=0, created_at=utcnow(),
            ))
    session.flush()


@dataclass(frozen=True)
class Posted:
    entry_id: int
    idempotency_key: str


@inside_command
def post(session: Session, entry: core.Entry, *, memo: str = "", replayable: bool = False) -> Posted:
    """Post a balanced entry.

    With ``replayable`` (keys chosen by people, like a bank reference) a repeat of the same key and
    content returns the first posting. Keys derived from a state change (``order:7:hold``) are not
    looked up first: the state machine already allows each once, and the unique key still refuses
    a duplicate.

    Journal rows are append-only and never read back in the same transaction, so they are written
    with Core statements (one INSERT for the entry, one multi-row INSERT for the postings, one
    executemany UPDATE for the balances) instead of the ORM unit of work: this is the exchange's
    hottest write path and the ORM bookkeeping was most of its cost.
    """
    core.validate(entry)
    fingerprint = _content_sha256(entry)
    key = entry.idempotency_key
    if replayable:
        existing = session.execute(_FIND_REPLAY, {"key": key}).first()
        if existing is not None:
            if existing.content_sha256 != fingerprint:
                raise Conflict("幂等键已用于另一笔记账", "idempotency key already used for a different entry",
                               code="idempotency_conflict")
            # Nothing moves, but the repeated request is part of the record too.
            audit.record(session, subject_type="ledger_entry", subject_id=key, change={"replayed": True})
            return Posted(existing.id, key)

    codes = sorted({p.account for p in entry.postings})
    accounts = {row.code: row for row in session.execute(_LOCK_ACCOUNTS, {"codes": codes})}
    missing = set(codes) - accounts.keys()
    if missing:
        raise NotFound("账户不存在", f"no such account: {', '.join(sorted(missing))}", code="account_not_found")

    sides = {code: NormalSide(row.normal_side) for code, row in accounts.items()}
    try:
        new_balances = core.apply(
            {code: row.balance_fen for code, row in accounts.items()}, sides, entry, may_go_negative=[BANK],
        )
    except core.NegativeBalance as exc:
        raise InsufficientFunds("可用余额不足", "insufficient balance", account=exc.account) from exc

    memo = memo or entry.memo
    entry_id = session.execute(_INSERT_ENTRY, {
        "idempotency_key": key, "kind": entry.kind, "memo": memo, "content_sha256": fingerprint, "posted_at": utcnow(),
    }).scalar_one()
    session.execute(_INSERT_POSTINGS, [
        {"entry_id": entry_id, "account_id": accounts[p.account].id, "amount_fen": p.amount_fen}
        for p in entry.postings
    ])
    session.execute(_SET_BALANCE, [
        {"account_id": accounts[code].id, "new_balance": balance} for code, balance in new_balances.items()
    ])
    expire_loaded(session, LedgerAccount, (row.id for row in accounts.values()))
    audit.record(session, subject_type="ledger_entry", subject_id=key, change={
        "kind": entry.kind, "memo": memo,
        "postings": [{"account": p.account, "amount_fen": p.amount_fen} for p in entry.postings],
    })
    return Posted(entry_id, key)


@command("ledger.deposit")
def record_deposit(session: Session, actor: Actor, *, member_id: int, amount_fen: int, reference: str) -> LedgerEntry:
    """The operator records money a member transferred to the exchange's bank account."""
    require_operator(actor)
    _check_amount(amount_fen)
    reference = _check_reference(reference)
    _member_wallet(session, member_id)
    posted = post(session, core.deposit(f"deposit:{member_id}:{reference}", BANK, core.wallet_code(member_id),
                                       amount_fen), memo=reference, replayable=True)
    return session.get_one(LedgerEntry, posted.entry_id)


@command("ledger.withdraw")
def record_withdrawal(session: Session, actor: Actor, *, member_id: int, amount_fen: int, reference: str) -> LedgerEntry:
    """The operator records money paid out of a member's available balance to their bank."""
    require_operator(actor)
    _check_amount(amount_fen)
    reference = _check_reference(reference)
    _member_wallet(session, member_id)
    posted = post(session, core.withdrawal(f"withdrawal:{member_id}:{reference}", BANK, core.wallet_code(member_id),
                                       amount_fen), memo=reference, replayable=True)
    return session.get_one(LedgerEntry, posted.entry_id)


def _check_reference(reference: str) -> str:
    reference = (reference or "").strip()
    if not 1 <= len(reference) <= 64:
        raise InvalidInput("请填写银行流水号（1–64 个字符）", "a bank reference of 1–64 characters is required")
    return reference


def _member_wallet(session: Session, member_id: int) -> LedgerAccount:
    account = session.scalar(select(LedgerAccount).where(LedgerAccount.code == core.wallet_code(member_id)))
    if account is None:
        raise NotFound("该会员没有账户（尚未通过准入）", "the member has no account (not approved yet)",
                       code="account_not_found")
    return account


@dataclass(frozen=True)
class MemberBalance:
    member_id: int
    balance_fen: int
    held_fen: int


@query
def member_balance(session: Session, actor: Actor, *, member_id: int) -> MemberBalance:
    """A member's available and held money; only the member itself and the operator may look."""
    if not (actor.is_operator or actor.is_system or actor.member_id == member_id):
        raise NotFound("账户不存在", "account not found")
    rows = dict(session.execute(
        select(LedgerAccount.code, LedgerAccount.balance_fen)
        .where(LedgerAccount.code.in_([core.wallet_code(member_id), core.escrow_code(member_id)]))
    ).all())
    if not rows:
        raise NotFound("账户不存在", "account not found")
    return MemberBalance(member_id, rows.get(core.wallet_code(member_id), 0), rows.get(core.escrow_code(member_id), 0))


@query
def member_postings(session: Session, actor: Actor, *, member_id: int, limit: int = 100) -> Sequence[tuple[LedgerPosting, LedgerEntry]]:
    """The statement of a member's accounts, newest first."""
    member_balance(session, actor, member_id=member_id)
    stmt = (
        select(LedgerPosting, LedgerEntry)
        .join(LedgerEntry, LedgerPosting.entry_id == LedgerEntry.id)
        .join(LedgerAccount, LedgerPosting.account_id == LedgerAccount.id)
        .where(LedgerAccount.member_id == member_id)
        .order_by(LedgerPosting.id.desc())
        .limit(limit)
    )
    return session.execute(stmt).all()


@dataclass(frozen=True)
class LedgerCheck:
    balanced: bool
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

    @property
    def problems(self) -> list[str]:
        out = []
        if self.unbalanced_entries:
            out.append(f"unbalanced entries: {self.unbalanced_entries}")
        if self.accounts_out_of_step:
            out.append(f"stored balance differs from postings: {self.accounts_out_of_step}")
        if self.negative_member_accounts:
            out.append(f"negative member accounts: {self.negative_member_accounts}")
        if self.bank_fen != self.owed_to_members_fen + self.fees_fen:
            out.append("bank money differs from what is owed to members plus fees")
        if self.bank_fen != self.deposits_fen - self.withdrawals_fen:
            out.append("bank money differs from deposits minus withdrawals")
        return out


@query
def check(session: Session, actor: Actor) -> LedgerCheck:
    """Recompute everything from the postings and compare with the stored balances."""
    require_operator(actor)
    unbalanced = list(session.scalars(
        select(LedgerPosting.entry_id).group_by(LedgerPosting.entry_id)
        .having(func.sum(LedgerPosting.amount_fen) != 0).order_by(LedgerPosting.entry_id)
    ))
    sums = dict(session.execute(
        select(LedgerPosting.account_id, func.coalesce(func.sum(LedgerPosting.amount_fen), 0))
        .group_by(LedgerPosting.account_id)
    ).all())
    out_of_step, negative = [], []
    bank = owed = fees = 0
    for account in session.scalars(select(LedgerAccount).order_by(LedgerAccount.id)):
        recomputed = core.balance_change(NormalSide(account.normal_side), int(sums.get(account.id, 0)))
        if recomputed != account.balance_fen:
            out_of_step.append(account.code)
        if account.kind == AccountKind.BANK:
            bank += recomputed
        elif account.kind == AccountKind.FEES:
            fees += recomputed
        else:
            owed += recomputed
            if recomputed < 0:
                negative.append(account.code)

    def total_of(kind: str) -> int:
        return int(session.scalar(
            select(func.coalesce(func.sum(LedgerPosting.amount_fen), 0))
            .join(LedgerEntry, LedgerPosting.entry_id == LedgerEntry.id)
            .join(LedgerAccount, LedgerPosting.account_id == LedgerAccount.id)
            .where(LedgerEntry.kind == kind, LedgerAccount.code == BANK)
        ) or 0)

    result = LedgerCheck(
        balanced=False,
        entries=int(session.scalar(select(func.count()).select_from(LedgerEntry)) or 0),
        postings=int(session.scalar(select(func.count()).select_from(LedgerPosting)) or 0),
        unbalanced_entries=unbalanced,
        accounts_out_of_step=out_of_step,
        negative_member_accounts=negative,
        bank_fen=bank,
        owed_to_members_fen=owed,
        fees_fen=fees,
        deposits_fen=total_of("deposit"),
        withdrawals_fen=-total_of("withdrawal"),
    )
    return LedgerCheck(**{**result.__dict__, "balanced": not result.problems})

"""The pure ledger rules, with no database: what a valid entry is and how it moves balances.

Sign convention: a posting's ``amount_fen`` is positive for a debit and negative for a credit; the
postings of an entry sum to zero. An account's *balance* is shown on its normal side: a
debit-normal account (the exchange's bank money) has balance = Σ postings, a credit-normal account
(what the exchange owes a member, held escrow, fee income) has balance = −Σ postings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum


class NormalSide(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


class AccountKind(StrEnum):
    BANK = "bank"  # money the exchange holds at its bank for members (debit-normal)
    WALLET = "wallet"  # a member's available balance (credit-normal, never negative)
    ESCROW = "escrow"  # a member's money held for paid, unsettled orders (credit-normal)
    FEES = "fees"  # the exchange's fee income (credit-normal)


NORMAL_SIDE = {
    AccountKind.BANK: NormalSide.DEBIT,
    AccountKind.WALLET: NormalSide.CREDIT,
    AccountKind.ESCROW: NormalSide.CREDIT,
    AccountKind.FEES: NormalSide.CREDIT,
}


BANK = "exchange:bank"
FEES = "exchange:fees"


def wallet_code(member_id: int) -> str:
    return f"member:{member_id}:wallet"


def escrow_code(member_id: int) -> str:
    return f"member:{member_id}:escrow"


class LedgerRuleError(ValueError):
    pass


class UnbalancedEntry(LedgerRuleError):
    pass


class NegativeBalance(LedgerRuleError):
    def __init__(self, account: str, balance: int) -> None:
        super().__init__(f"account {account} would go to {balance} fen")
        self.account = account
        self.balance = balance


@dataclass(frozen=True)
class Posting:
    account: str
    amount_fen: int


@dataclass(frozen=True)
class Entry:
    idempotency_key: str
    kind: str
    postings: tuple[Posting, ...]
    memo: str = ""


def validate(entry: Entry) -> None:
    if not entry.idempotency_key:
        raise LedgerRuleError("an entry needs an idempotency key")
    if len(entry.postings) < 2:
        raise LedgerRuleError("an entry needs at least two postings")
    seen: set[str] = set()
    for posting in entry.postings:
        if type(posting.amount_fen) is not int:
            raise LedgerRuleError("amounts are integer fen")
        if posting.amount_fen == 0:
            raise LedgerRuleError("a posting cannot be zero")
        if posting.account in seen:
            raise LedgerRuleError(f"account {posting.account} appears twice in one entry")
        seen.add(posting.account)
    total = sum(p.amount_fen for p in entry.postings)
    if total != 0:
        raise UnbalancedEntry(f"postings sum to {total} fen, not 0")


def balance_change(side: NormalSide, amount_fen: int) -> int:
    return amount_fen if side is NormalSide.DEBIT else -amount_fen


def apply(
    balances: Mapping[str, int],
    sides: Mapping[str, NormalSide],
    entry: Entry,
    *,
    may_go_negative: Iterable[str] = (),
) -> dict[str, int]:
    """Return the balances after ``entry``; refuse an entry that breaks a rule."""
    validate(entry)
    allowed_negative = set(may_go_negative)
    result = dict(balances)
    for posting in entry.postings:
        new = result.get(posting.account, 0) + balance_change(sides[posting.account], posting.amount_fen)
        if new < 0 and posting.account not in allowed_negative:
            raise NegativeBalance(posting.account, new)
        result[posting.account] = new
    return result


def fee_for(amount_fen: int, rate_bp: int) -> int:
    """The exchange fee on an amount, rounded half up to the fen."""
    fee = (Decimal(amount_fen) * Decimal(rate_bp) / Decimal(10_000)).quantize(
        Decimal(1), rounding=ROUND_HALF_UP
    )
    return int(fee)


# The movements of the exchange, each one a balanced entry.

def deposit(key: str, bank: str, wallet: str, amount_fen: int) -> Entry:
    return Entry(key, "deposit", (Posting(bank, amount_fen), Posting(wallet, -amount_fen)))


def withdrawal(key: str, bank: str, wallet: str, amount_fen: int) -> Entry:
    return Entry(key, "withdrawal", (Posting(wallet, amount_fen), Posting(bank, -amount_fen)))


def hold(key: str, wallet: str, escrow: str, amount_fen: int) -> Entry:
    return Entry(key, "escrow_hold", (Posting(wallet, amount_fen), Posting(escrow, -amount_fen)))


def release_to_provider(
    key: str, escrow: str, provider_wallet: str, fees: str, amount_fen: int, fee_fen: int
) -> Entry:
    postings = [Posting(escrow, amount_fen), Posting(provider_wallet, -(amount_fen - fee_fen))]
    if fee_fen:
        postings.append(Posting(fees, -fee_fen))
    if amount_fen == fee_fen:
        postings = [Posting(escrow, amount_fen), Posting(fees, -fee_fen)]
    return Entry(key, "settlement", tuple(postings))


def refund(key: str, escrow: str, wallet: str, amount_fen: int) -> Entry:
    return Entry(key, "refund", (Posting(escrow, amount_fen), Posting(wallet, -amount_fen)))


def usage_charge(key: str, buyer_wallet: str, provider_wallet: str, fees: str, amount_fen: int, fee_fen: int) -> Entry:
    """A usage-billed period (per-call, tiered) paid straight from the buyer's wallet to the
    provider's, less the exchange fee: the calls were already delivered, so nothing is escrowed."""
    postings = [Posting(buyer_wallet, amount_fen)]
    if amount_fen - fee_fen:
        postings.append(Posting(provider_wallet, -(amount_fen - fee_fen)))
    if fee_fen:
        postings.append(Posting(fees, -fee_fen))
    return Entry(key, "usage_charge", tuple(postings))

"""The pure ledger rules, without a database: exhaustive cases and properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shujiao.ledger import core
from shujiao.ledger.core import NormalSide

SIDES = {"bank": NormalSide.DEBIT, "a": NormalSide.CREDIT, "a.escrow": NormalSide.CREDIT,
         "b": NormalSide.CREDIT, "fees": NormalSide.CREDIT}


def test_an_unbalanced_entry_is_refused():
    entry = core.Entry("k", "x", (core.Posting("bank", 100), core.Posting("a", -99)))
    with pytest.raises(core.UnbalancedEntry):
        core.validate(entry)


@pytest.mark.parametrize("postings", [
    (core.Posting("bank", 100),),
    (core.Posting("bank", 0), core.Posting("a", 0)),
    (core.Posting("bank", 100), core.Posting("bank", -100)),
    (core.Posting("bank", 1.0), core.Posting("a", -1.0)),  # type: ignore[arg-type]
    (core.Posting("bank", True), core.Posting("a", -1)),  # type: ignore[arg-type]
])
def test_malformed_entries_are_refused(postings):
    with pytest.raises(core.LedgerRuleError):
        core.validate(core.Entry("k", "x", postings))


def test_an_entry_needs_an_idempotency_key():
    with pytest.raises(core.LedgerRuleError):
        core.validate(core.deposit("", "bank", "a", 1))


def test_a_wallet_cannot_go_negative_but_the_bank_may():
    balances = core.apply({}, SIDES, core.deposit("d", "bank", "a", 100))
    assert balances == {"bank": 100, "a": 100}
    with pytest.raises(core.NegativeBalance) as raised:
        core.apply(balances, SIDES, core.hold("h", "a", "a.escrow", 101))
    assert raised.value.account == "a"
    # Paying out more than the bank has is allowed in the books (the bank account is an asset).
    assert core.apply({}, SIDES, core.withdrawal("w", "bank", "b", 1), may_go_negative=["bank", "b"])["bank"] == -1


@pytest.mark.parametrize("amount,rate,fee", [
    (0, 300, 0), (1, 300, 0), (17, 300, 1), (16, 300, 0), (123_45, 300, 3_70), (100_00, 0, 0),
    (100_00, 10_000, 100_00), (50, 100, 1),  # 0.5 fen rounds half up
])
def test_fee_rounds_half_up_to_the_fen(amount, rate, fee):
    assert core.fee_for(amount, rate) == fee


def test_settlement_with_the_whole_amount_as_fee_has_no_zero_posting():
    entry = core.release_to_provider("s", "a.escrow", "b", "fees", 100, 100)
    core.validate(entry)
    assert {p.account for p in entry.postings} == {"a.escrow", "fees"}


operations = st.lists(st.tuples(st.sampled_from(["deposit", "withdraw", "hold", "settle", "refund"]),
                                st.integers(min_value=1, max_value=10**9),
                                st.integers(min_value=0, max_value=10_000)), max_size=60)


@settings(max_examples=300, deadline=None)
@given(operations)
def test_any_sequence_of_movements_keeps_the_books_balanced(ops):
    """Whatever happens, bank money equals what is owed to members plus fee income, and
    no member account is ever negative."""
    balances: dict[str, int] = {}
    deposits = withdrawals = 0
    for n, (kind, amount, rate) in enumerate(ops):
        key = f"{kind}:{n}"
        if kind == "deposit":
            entry = core.deposit(key, "bank", "a", amount)
        elif kind == "withdraw":
            entry = core.withdrawal(key, "bank", "a", amount)
        elif kind == "hold":
            entry = core.hold(key, "a", "a.escrow", amount)
        elif kind == "settle":
            entry = core.release_to_provider(key, "a.escrow", "b", "fees", amount, core.fee_for(amount, rate))
        else:
            entry = core.refund(key, "a.escrow", "a", amount)
        try:
            balances = core.apply(balances, SIDES, entry, may_go_negative=["bank"])
        except core.NegativeBalance:
            continue
        if kind == "deposit":
            deposits += amount
        elif kind == "withdraw":
            withdrawals += amount
    owed = sum(v for k, v in balances.items() if k not in ("bank", "fees"))
    assert balances.get("bank", 0) == owed + balances.get("fees", 0) == deposits - withdrawals
    assert all(v >= 0 for k, v in balances.items() if k != "bank")

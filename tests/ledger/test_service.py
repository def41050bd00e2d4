from __future__ import annotations

import pytest

from shujiao.db import unit_of_work
from shujiao.errors import Conflict
from shujiao.ledger import service as ledger
from tests.factories import make_member, make_operator


def test_deposits_replay_by_reference_and_refuse_a_changed_amount(session_factory):
    operator = make_operator(session_factory)
    buyer = make_member(session_factory, operator, kind="buyer")
    with unit_of_work(session_factory) as session:
        first = ledger.record_deposit(session, operator.actor, member_id=buyer.member_id, amount_fen=500,
                                      reference="BANK-1")
    with unit_of_work(session_factory) as session:
        again = ledger.record_deposit(session, operator.actor, member_id=buyer.member_id, amount_fen=500,
                                      reference="BANK-1")
        assert again.id == first.id
        with pytest.raises(Conflict):
            ledger.record_deposit(session, operator.actor, member_id=buyer.member_id, amount_fen=501,
                                  reference="BANK-1")
    with unit_of_work(session_factory) as session:
        assert ledger.member_balance(session, operator.actor, member_id=buyer.member_id).balance_fen == 500


def test_balances_read_in_the_same_transaction_are_current(session_factory):
    """Postings are written with Core statements; accounts already loaded must not go stale."""
    operator = make_operator(session_factory)
    buyer = make_member(session_factory, operator, kind="buyer")
    with unit_of_work(session_factory) as session:
        assert ledger.check(session, operator.actor).balanced  # loads every account object
        ledger.record_deposit(session, operator.actor, member_id=buyer.member_id, amount_fen=700, reference="B-7")
        result = ledger.check(session, operator.actor)
        assert result.balanced, result.problems
        assert result.bank_fen == 700

"""A few hundred random operations, many of them refused, and the books still add up."""

from __future__ import annotations

import datetime as dt
import random

from shujiao.commands import SYSTEM
from shujiao.db import unit_of_work, utcnow
from shujiao.delivery import service as delivery
from shujiao.errors import DomainError
from shujiao.ledger import service as ledger
from shujiao.market import service as market
from tests.factories import make_listed_product, make_member, make_operator

OPERATIONS = 300


def test_ledger_stays_balanced_through_a_random_run(session_factory, storage, settings):
    rng = random.Random(20261122)
    operator = make_operator(session_factory)
    providers = [make_member(session_factory, operator, kind="provider") for _ in range(2)]
    buyers = [make_member(session_factory, operator, kind="buyer") for _ in range(3)]
    products = [make_listed_product(session_factory, storage, p, operator, settings=settings, price_fen=rng.choice([1, 99, 100_00, 3_333_33]))
                for p in providers for _ in range(2)]
    orders: list[tuple[int, object]] = []  # (order id, buyer actor)
    expected = {"deposits": 0, "withdrawals": 0}
    outcomes = {"done": 0, "refused": 0}
    later = utcnow() + dt.timedelta(days=365)

    def attempt(operation) -> None:  # type: ignore[no-untyped-def]
        try:
            with unit_of_work(session_factory) as session:
                operation(session)
            outcomes["done"] += 1
        except DomainError:
            outcomes["refused"] += 1

    for n in range(OPERATIONS):
        buyer = rng.choice(buyers)
        kind = rng.choice(["deposit", "deposit", "withdraw", "order", "pay", "pay", "download", "accept",
                           "refund", "cancel", "auto_settle"])
        amount = rng.choice([1, 50, 100_00, 2_000_00, 5_000_00])
        if kind == "deposit":
            def op(s, b=buyer, a=amount, n=n):  # type: ignore[no-untyped-def]
                ledger.record_deposit(s, operator.actor, member_id=b.member_id, amount_fen=a, reference=f"D{n}")
                expected["deposits"] += a
        elif kind == "withdraw":
            def op(s, b=buyer, a=amount, n=n):  # type: ignore[no-untyped-def]
                ledger.record_withdrawal(s, operator.actor, member_id=b.member_id, amount_fen=a, reference=f"W{n}")
                expected["withdrawals"] += a
        elif kind == "order":
            def op(s, b=buyer):  # type: ignore[no-untyped-def]
                orders.append((market.create_order(s, b.actor, product_id=rng.choice(products)).id, b.actor))
        elif not orders:
            continue
        else:
            order_id, owner = rng.choice(orders)
            if kind == "pay":
                def op(s, o=order_id, a=owner):  # type: ignore[no-untyped-def]
                    market.pay_order(s, a, order_id=o)
            elif kind == "download":
                def op(s, o=order_id, a=owner):  # type: ignore[no-untyped-def]
                    issued = delivery.issue_link(s, a, order_id=o, ttl=dt.timedelta(minutes=1))
                    delivery.download(s, a, token=issued.token, settings=settings, storage=storage)
            elif kind == "accept":
                def op(s, o=order_id, a=owner):  # type: ignore[no-untyped-def]
                    market.accept_order(s, a, order_id=o, fee_rate_bp=rng.choice([0, 300, 10_000]))
            elif kind == "refund":
                def op(s, o=order_id):  # type: ignore[no-untyped-def]
                    market.refund_order(s, operator.actor, order_id=o, reason="random")
            elif kind == "cancel":
                def op(s, o=order_id, a=owner):  # type: ignore[no-untyped-def]
                    market.cancel_order(s, a, order_id=o)
            else:
                def op(s, o=order_id):  # type: ignore[no-untyped-def]
                    market.auto_settle_order(s, SYSTEM, order_id=o, fee_rate_bp=300, now=later,
                                             after=dt.timedelta(days=7))
        attempt(op)

    assert outcomes["done"] > 100 and outcomes["refused"] > 20, outcomes
    with unit_of_work(session_factory) as session:
        result = ledger.check(session, operator.actor)
        assert result.balanced, result.problems
        assert result.deposits_fen == expected["deposits"]
        assert result.withdrawals_fen == expected["withdrawals"]
        assert result.bank_fen == expected["deposits"] - expected["withdrawals"]
        statuses = {market.get_order(session, operator.actor, order_id=o).status for o, _ in orders}
        assert {"settled", "refunded"} & statuses
        held = sum(ledger.member_balance(session, operator.actor, member_id=b.member_id).held_fen for b in buyers)
        open_amounts = sum(market.get_order(session, operator.actor, order_id=o).amount_fen
                           for o, _ in orders
                           if market.get_order(session, operator.actor, order_id=o).status in ("paid", "delivered"))
        assert held == open_amounts

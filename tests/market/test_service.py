from __future__ import annotations

import datetime as dt

from shujiao.db import unit_of_work
from shujiao.delivery import service as delivery
from shujiao.ledger import service as ledger
from shujiao.errors import Conflict
from shujiao.market import service as market
from shujiao.market.models import Order
from tests.factories import make_listed_product, make_member, make_operator


def _market(session_factory, storage, settings):
    """An operator, a provider with one product listed at 100 yuan, and a buyer holding 500 yuan."""
    operator = make_operator(session_factory)
    provider = make_member(session_factory, operator, kind="provider")
    buyer = make_member(session_factory, operator, kind="buyer", deposit_fen=500_00)
    return operator, provider, buyer, make_listed_product(session_factory, storage, provider, operator,
                                                          settings=settings, price_fen=100_00)


def test_full_trade_through_the_service_layer(session_factory, storage, settings):
    operator, provider, buyer, product_id = _market(session_factory, storage, settings)

    with unit_of_work(session_factory) as s:
        order = market.create_order(s, buyer.actor, product_id=product_id)
        market.pay_order(s, buyer.actor, order_id=order.id)
        issued = delivery.issue_link(s, buyer.actor, order_id=order.id, ttl=dt.timedelta(minutes=5))
    with unit_of_work(session_factory) as s:
        got = delivery.download(s, buyer.actor, token=issued.token, settings=settings, storage=storage)
        assert b"".join(got.chunks).startswith("企业名称".encode())
    with unit_of_work(session_factory) as s:
        market.accept_order(s, buyer.actor, order_id=order.id, fee_rate_bp=300)
    with unit_of_work(session_factory) as s:
        assert market.get_order(s, buyer.actor, order_id=order.id).status == "settled"
        assert ledger.member_balance(s, buyer.actor, member_id=buyer.member_id).balance_fen == 400_00
        assert ledger.member_balance(s, provider.actor, member_id=provider.member_id).balance_fen == 97_00
        result = ledger.check(s, operator.actor)
        assert result.balanced, result.problems
        assert result.fees_fen == 3_00


def test_commands_return_rows_and_an_order_object_in_the_session_sees_the_change(session_factory, storage,
                                                                                 settings):
    _, _, buyer, product_id = _market(session_factory, storage, settings)

    with unit_of_work(session_factory) as s:
        created = market.create_order(s, buyer.actor, product_id=product_id)
        loaded = s.get(Order, created.id)  # an ORM object the Core writes below must not leave stale
        assert loaded.status == "created"
        paid = market.pay_order(s, buyer.actor, order_id=created.id)
        assert (paid.status, created.status) == ("paid", "created")  # rows are values, not live objects
        assert loaded.status == "paid" and loaded.paid_at == paid.paid_at
        cancelled = None
        try:
            cancelled = market.cancel_order(s, buyer.actor, order_id=created.id)
        except Conflict as exc:
            assert exc.code == "bad_state"
        assert cancelled is None

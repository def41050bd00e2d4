from __future__ import annotations

import datetime as dt

from shujiao.db import unit_of_work
from shujiao.delivery import service as delivery
from shujiao.ledger import service as ledger
from shujiao.market import service as market
from tests.factories import make_listed_product, make_member, make_operator


def test_full_trade_through_the_service_layer(session_factory, storage, settings):
    operator = make_operator(session_factory)
    provider = make_member(session_factory, operator, kind="provider")
    buyer = make_member(session_factory, operator, kind="buyer", deposit_fen=500_00)
    product_id = make_listed_product(session_factory, storage, provider, operator, settings=settings, price_fen=100_00)

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

from __future__ import annotations

from shujiao.accounting import service as accounting
from shujiao.accounting.demo import DEMO_USEFUL_LIFE_MONTHS, classify_demo_purchases
from shujiao.db import unit_of_work
from tests.accounting.test_api import buy
from tests.api import market_with_one_product


def test_the_demo_buyer_gets_a_classified_asset_from_its_purchase(client, session_factory):
    market = market_with_one_product(client, session_factory, deposit_fen=1000_00)
    with unit_of_work(session_factory) as session:
        assert classify_demo_purchases(session, market.buyer_handle.actor) == 0  # nothing bought yet
    buy(client, market.buyer, market.product_id)
    with unit_of_work(session_factory) as session:
        assert classify_demo_purchases(session, market.buyer_handle.actor) == 1
    with unit_of_work(session_factory) as session:
        [asset] = accounting.list_assets(session, market.buyer_handle.actor)
        assert (asset.classification, asset.useful_life_months, asset.ready_for_use_on) == (
            "intangible", DEMO_USEFUL_LIFE_MONTHS, accounting.today())
        assert accounting.figures(session, market.buyer_handle.actor, asset_id=asset.id).cost_fen == 100_00

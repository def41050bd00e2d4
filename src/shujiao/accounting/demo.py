"""Demo books: the demo buyer's purchases on the exchange, classified as data intangibles."""

from __future__ import annotations

from sqlalchemy.orm import Session

from shujiao.accounting import service
from shujiao.accounting.schemas import Classify
from shujiao.commands import Actor

DEMO_USEFUL_LIFE_MONTHS = 36


def classify_demo_purchases(session: Session, buyer: Actor) -> int:
    """Classify every pending asset that flowed in from the buyer's settled orders as an intangible
    (36 months, ready for use on the day it was bought). Returns how many; 0 when the demo settled
    no order."""
    count = 0
    for asset in service.list_assets(session, buyer):
        if asset.classification != "pending":
            continue
        bought_on = min(e.occurred_on for e in service.asset_entries(session, buyer, asset_id=asset.id))
        service.classify_asset(session, buyer, asset_id=asset.id, data=Classify(
            classification="intangible", useful_life_months=DEMO_USEFUL_LIFE_MONTHS, ready_for_use_on=bought_on))
        count += 1
    return count

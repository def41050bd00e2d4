"""Usage-control commands and the one check every delivery point makes.

INTERFACE (fixed; the usage helper fills in the body): ``authorize_use`` and ``Grant`` are what the
file download, the API gateway and the Delta Sharing server call. The contract id is the order id."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from shujiao.commands import Actor, query
from shujiao.market import service as market
from shujiao.usage.offer import Offer

Action = Literal["download", "read", "call"]  # file download, Delta Sharing read, gateway call


@dataclass(frozen=True)
class Grant:
    """A live contract as a delivery point needs it."""

    order_id: int  # the contract number (合约号) is the order id
    buyer_member_id: int
    provider_member_id: int
    product_id: int
    dataset_id: int
    offer: Offer  # frozen at payment
    starts_at: dt.datetime
    ends_at: dt.datetime | None  # end of the dateTime window; None = no end


@query
def authorize_use(session: Session, actor: Actor, *, order_id: int, action: Action, count: int = 1) -> Grant:
    """The contract ``order_id`` as ``actor`` may use it for ``action`` now, or a refusal.

    Refusals: 404 ``not_found`` for anyone but the buyer; 403 ``usage_denied`` (with which rule:
    window, count, mode, revoked) otherwise — each refusal also leaves a logged record."""
    order = market.deliverable_order(session, actor, order_id=order_id)
    return Grant(order_id=order.id, buyer_member_id=order.buyer_member_id,
                 provider_member_id=order.provider_member_id, product_id=order.product_id,
                 dataset_id=order.dataset_id, offer=Offer(), starts_at=order.paid_at, ends_at=None)

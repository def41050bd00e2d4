"""Order commands. Each state change, its ledger entry and its audit record share one transaction."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from shujiao.audit import service as audit
from shujiao.commands import Actor, command, query, require_member, require_operator, require_system
from shujiao.db import utcnow
from shujiao.errors import Conflict, InvalidInput, not_found
from shujiao.ledger import core as ledger_core
from shujiao.ledger import service as ledger
from shujiao.listing import service as listing
from shujiao.market.models import Order

DELIVERABLE = {"paid", "delivered", "settled"}


def _order_for_update(session: Session, order_id: int) -> Order | None:
    return session.scalar(select(Order).where(Order.id == order_id).with_for_update())


def _visible(actor: Actor, order: Order | None) -> bool:
    return order is not None and (
        actor.is_operator or actor.is_system or actor.member_id in (order.buyer_member_id, order.provider_member_id)
    )


def _buyers_order(session: Session, actor: Actor, order_id: int) -> Order:
    require_member(actor)
    order = _order_for_update(session, order_id)
    if order is None or order.buyer_member_id != actor.member_id:
        raise not_found("订单", "order")
    return order


def _transition(session: Session, order: Order, to: str, **change: object) -> None:
    previous = order.status
    order.status = to
    audit.record(session, subject_type="order", subject_id=order.id,
                 change={"status": {"from": previous, "to": to}, **change})


@command("market.order.create")
def create_order(session: Session, actor: Actor, *, product_id: int) -> Order:
    require_member(actor)
    product, snapshot = listing.offer_for_order(session, product_id=product_id)
    if product.member_id == actor.member_id:
        raise InvalidInput("不能购买本会员自己的产品", "a member cannot buy its own product", code="own_product")
    order = Order(
        buyer_member_id=actor.member_id, provider_member_id=product.member_id, product_id=product.id,
        product_version=product.version, dataset_id=product.dataset_id, amount_fen=product.price_fen,
        status="created", snapshot_json=json.dumps(snapshot, ensure_ascii=False, sort_keys=True),
        created_at=utcnow(), close_reason="",
    )
    session.add(order)
    session.flush()
    audit.record(session, subject_type="order", subject_id=order.id, change={
        "status": "created", "product_id": product.id, "product_version": product.version,
        "amount_fen": order.amount_fen, "provider_member_id": order.provider_member_id,
    })
    return order


@command("market.order.pay")
def pay_order(session: Session, actor: Actor, *, order_id: int) -> Order:
    """Move the price from the buyer's wallet into escrow."""
    order = _buyers_order(session, actor, order_id)
    if order.status != "created":
        raise Conflict("订单已支付或已关闭", f"the order is {order.status}, not awaiting payment", code="bad_state")
    entry = ledger.post(session, ledger_core.hold(
        f"order:{order.id}:hold", ledger_core.wallet_code(order.buyer_member_id),
        ledger_core.escrow_code(order.buyer_member_id), order.amount_fen,
    )) if order.amount_fen else None
    order.paid_at = utcnow()
    _transition(session, order, "paid", ledger_entry=entry.idempotency_key if entry else None)
    return order


@command("market.order.deliver")
def record_delivery(session: Session, actor: Actor, *, order_id: int) -> Order:
    """The buyer has received the data (first download): the acceptance period starts."""
    order = _buyers_order(session, actor, order_id)
    if order.status != "paid":
        raise Conflict("订单不在待交付状态", f"the order is {order.status}, not paid", code="bad_state")
    order.delivered_at = utcnow()
    _transition(session, order, "delivered")
    return order


def _settle(session: Session, order: Order, fee_rate_bp: int, how: str) -> None:
    fee = ledger_core.fee_for(order.amount_fen, fee_rate_bp)
    entry = ledger.post(session, ledger_core.release_to_provider(
        f"order:{order.id}:settle", ledger_core.escrow_code(order.buyer_member_id),
        ledger_core.wallet_code(order.provider_member_id), ledger_core.FEES, order.amount_fen, fee,
    )) if order.amount_fen else None
    order.fee_fen = fee
    order.closed_at = utcnow()
    order.close_reason = how
    _transition(session, order, "settled", fee_fen=fee, how=how, ledger_entry=entry.idempotency_key if entry else None)


@command("market.order.accept")
def accept_order(session: Session, actor: Actor, *, order_id: int, fee_rate_bp: int) -> Order:
    """The buyer accepts the delivery; escrow goes to the provider, less the exchange fee."""
    order = _buyers_order(session, actor, order_id)
    if order.status != "delivered":
        raise Conflict("订单尚未交付，不能验收", f"the order is {order.status}; only a delivered order can be accepted",
                       code="bad_state")
    _settle(session, order, fee_rate_bp, "accepted")
    return order


@command("market.order.auto_settle")
def auto_settle_order(session: Session, actor: Actor, *, order_id: int, fee_rate_bp: int, now: dt.datetime,
                      after: dt.timedelta) -> Order:
    """Settle an order the buyer left unaccepted for longer than the acceptance period."""
    require_system(actor)
    order = _order_for_update(session, order_id)
    if order is None:
        raise not_found("订单", "order")
    if order.status != "delivered" or order.delivered_at is None or order.delivered_at > now - after:
        raise Conflict("订单未到自动结算时间", "the order is not due for automatic settlement", code="not_due")
    _settle(session, order, fee_rate_bp, "auto_settled")
    return order


@command("market.order.refund")
def refund_order(session: Session, actor: Actor, *, order_id: int, reason: str) -> Order:
    """The operator returns the escrowed money to the buyer (e.g. after a dispute)."""
    require_operator(actor)
    order = _order_for_update(session, order_id)
    if order is None:
        raise not_found("订单", "order")
    if order.status not in ("paid", "delivered"):
        raise Conflict("只有已支付、未结算的订单可以退款", f"the order is {order.status}; only paid or delivered "
                       "orders can be refunded", code="bad_state")
    entry = ledger.post(session, ledger_core.refund(
        f"order:{order.id}:refund", ledger_core.escrow_code(order.buyer_member_id),
        ledger_core.wallet_code(order.buyer_member_id), order.amount_fen,
    )) if order.amount_fen else None
    order.closed_at = utcnow()
    order.close_reason = reason or "refunded"
    _transition(session, order, "refunded", reason=reason, ledger_entry=entry.idempotency_key if entry else None)
    return order


@command("market.order.cancel")
def cancel_order(session: Session, actor: Actor, *, order_id: int) -> Order:
    """The buyer drops an order it has not paid."""
    order = _buyers_order(session, actor, order_id)
    if order.status != "created":
        raise Conflict("只能取消未支付的订单", f"the order is {order.status}; only unpaid orders can be cancelled",
                       code="bad_state")
    order.closed_at = utcnow()
    order.close_reason = "cancelled"
    _transition(session, order, "cancelled")
    return order


@query
def get_order(session: Session, actor: Actor, *, order_id: int) -> Order:
    """An order, seen by its buyer, its provider and the operator; everyone else gets 404."""
    order = session.get(Order, order_id)
    if not _visible(actor, order):
        raise not_found("订单", "order")
    return order  # type: ignore[return-value]


@query
def deliverable_order(session: Session, actor: Actor, *, order_id: int) -> Order:
    """The buyer's own order, in a state where the data may be fetched."""
    order = session.get(Order, order_id)
    if order is None or actor.member_id != order.buyer_member_id:
        raise not_found("订单", "order")
    if order.status not in DELIVERABLE:
        raise Conflict("订单未支付或已退款，不能交付", f"the order is {order.status}; nothing to deliver",
                       code="not_deliverable")
    return order


@query
def list_orders(session: Session, actor: Actor, *, as_provider: bool = False, limit: int = 100) -> Sequence[Order]:
    column = Order.provider_member_id if as_provider else Order.buyer_member_id
    return session.scalars(
        select(Order).where(column == actor.member_id).order_by(Order.id.desc()).limit(limit)
    ).all()


@query
def all_orders(session: Session, actor: Actor, *, status: str | None = None, limit: int = 200) -> Sequence[Order]:
    require_operator(actor)
    stmt = select(Order).order_by(Order.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(Order.status == status)
    return session.scalars(stmt).all()


@query
def orders_due_for_settlement(session: Session, *, now: dt.datetime, after: dt.timedelta) -> Sequence[int]:
    return session.scalars(
        select(Order.id).where(Order.status == "delivered", Order.delivered_at <= now - after).order_by(Order.id)
    ).all()

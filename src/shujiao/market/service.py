"""Order commands. Each state change, its ledger entry and its audit record share one transaction."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from sqlalchemy import Row, bindparam, insert, select, update
from sqlalchemy.orm import Session

from shujiao.accounting import service as accounting
from shujiao.audit import service as audit
from shujiao.commands import Actor, command, query, require_member, require_operator, require_system
from shujiao.db import expire_loaded, utcnow
from shujiao.errors import Conflict, InvalidInput, not_found
from shujiao.ledger import core as ledger_core
from shujiao.ledger import service as ledger
from shujiao.listing import service as listing
from shujiao.market.models import Order
from shujiao.usage import service as usage

DELIVERABLE = {"paid", "delivered", "settled"}

# Orders are read and written with Core statements built once: the trade loop runs them several
# times per trade, and building a statement (or loading an ORM object) cost more than running it.
# Commands and queries hand back read-only rows with the order's columns as attributes; the Core
# writes bypass the identity map, so an Order object loaded earlier in the session is expired.
OrderRow = Row
_order = Order.__table__
_SELECT = select(*_order.c).where(_order.c.id == bindparam("order_id"))
_SELECT_FOR_UPDATE = _SELECT.with_for_update()
_INSERT = insert(_order).returning(*_order.c)


def _move(to: str, *columns: str, buyers: bool):
    """``UPDATE … SET status = to WHERE id = :order_id AND status = :from [AND buyer] RETURNING *``: the
    state check and the write are one statement, so of two concurrent callers exactly one wins."""
    where = [_order.c.id == bindparam("order_id"), _order.c.status == bindparam("from_status")]
    if buyers:
        where.append(_order.c.buyer_member_id == bindparam("buyer"))
    return (update(_order).where(*where).values(status=to, **{c: bindparam(f"new_{c}") for c in columns})
            .returning(*_order.c))


_PAY = _move("paid", "paid_at", buyers=True)
_DELIVER = _move("delivered", "delivered_at", buyers=True)
_CANCEL = _move("cancelled", "closed_at", "close_reason", buyers=True)
_CLOSE = update(_order).where(_order.c.id == bindparam("order_id")).values(
    status=bindparam("to"), fee_fen=bindparam("new_fee_fen"), closed_at=bindparam("new_closed_at"),
    close_reason=bindparam("new_close_reason")).returning(*_order.c)


def _load(session: Session, order_id: int, *, for_update: bool = False) -> OrderRow | None:
    return session.execute(_SELECT_FOR_UPDATE if for_update else _SELECT, {"order_id": order_id}).first()


def _visible(actor: Actor, order: OrderRow | None) -> bool:
    return order is not None and (
        actor.is_operator or actor.is_system or actor.member_id in (order.buyer_member_id, order.provider_member_id)
    )


def _buyers_move(session: Session, actor: Actor, stmt, order_id: int, expected: str, refusal: tuple[str, str],
                 **values: object) -> OrderRow:
    """Run a buyer's conditional transition; if it matched nothing, say why (404 or 409)."""
    require_member(actor)
    order = session.execute(stmt, {"order_id": order_id, "from_status": expected, "buyer": actor.member_id,
                                   **{f"new_{k}": v for k, v in values.items()}}).first()
    if order is None:
        current = _load(session, order_id)
        if current is None or current.buyer_member_id != actor.member_id:
            raise not_found("订单", "order")
        raise Conflict(refusal[0], refusal[1].format(status=current.status), code="bad_state")
    expire_loaded(session, Order, (order_id,))
    return order


def _record_transition(session: Session, order: OrderRow, previous: str, **change: object) -> None:
    audit.record(session, subject_type="order", subject_id=order.id,
                 change={"status": {"from": previous, "to": order.status}, **change})


@command("market.order.create")
def create_order(session: Session, actor: Actor, *, product_id: int, purpose: str = "") -> OrderRow:
    """``purpose``: the buyer's declared use (用途) from the offer's list; "" declares none."""
    require_member(actor)
    product, snapshot = listing.offer_for_order(session, product_id=product_id)
    if product.member_id == actor.member_id:
        raise InvalidInput("不能购买本会员自己的产品", "a member cannot buy its own product", code="own_product")
    usage.check_purpose(listing.offer_of(product), purpose)
    order = session.execute(_INSERT, {
        "buyer_member_id": actor.member_id, "provider_member_id": product.member_id, "product_id": product.id,
        "product_version": product.version, "dataset_id": product.dataset_id, "amount_fen": product.price_fen,
        "fee_fen": None, "status": "created",
        "snapshot_json": json.dumps(snapshot, ensure_ascii=False, sort_keys=True),
        "created_at": utcnow(), "paid_at": None, "delivered_at": None, "closed_at": None, "close_reason": "",
        "purpose": purpose,
    }).one()
    audit.record(session, subject_type="order", subject_id=order.id, change={
        "status": "created", "product_id": product.id, "product_version": product.version,
        "amount_fen": order.amount_fen, "provider_member_id": order.provider_member_id,
        **({"purpose": purpose} if purpose else {}),
    })
    return order


@command("market.order.pay")
def pay_order(session: Session, actor: Actor, *, order_id: int) -> OrderRow:
    """Move the price from the buyer's wallet into escrow; the order's usage contract begins."""
    order = _buyers_move(session, actor, _PAY, order_id, "created",
                         ("订单已支付或已关闭", "the order is {status}, not awaiting payment"), paid_at=utcnow())
    entry = ledger.post(session, ledger_core.hold(
        f"order:{order.id}:hold", ledger_core.wallet_code(order.buyer_member_id),
        ledger_core.escrow_code(order.buyer_member_id), order.amount_fen,
    )) if order.amount_fen else None
    usage.open_contract(session, order=order)
    _record_transition(session, order, "created", ledger_entry=entry.idempotency_key if entry else None)
    return order


@command("market.order.deliver")
def record_delivery(session: Session, actor: Actor, *, order_id: int) -> OrderRow:
    """The buyer has received the data (first download): the acceptance period starts."""
    order = _buyers_move(session, actor, _DELIVER, order_id, "paid",
                         ("订单不在待交付状态", "the order is {status}, not paid"), delivered_at=utcnow())
    _record_transition(session, order, "paid")
    return order


def _settle(session: Session, order: OrderRow, fee_rate_bp: int, how: str) -> OrderRow:
    fee = ledger_core.fee_for(order.amount_fen, fee_rate_bp)
    entry = ledger.post(session, ledger_core.release_to_provider(
        f"order:{order.id}:settle", ledger_core.escrow_code(order.buyer_member_id),
        ledger_core.wallet_code(order.provider_member_id), ledger_core.FEES, order.amount_fen, fee,
    )) if order.amount_fen else None
    accounting.record_order_purchase(session, order=order)  # the buyer's books (数据资源入表)
    return _close(session, order, "settled", how, fee_fen=fee, how=how,
                  ledger_entry=entry.idempotency_key if entry else None)


def _close(session: Session, order: OrderRow, to: str, close_reason: str, fee_fen: int | None = None,
           **change: object) -> OrderRow:
    closed = session.execute(_CLOSE, {"order_id": order.id, "to": to,
                                      "new_fee_fen": order.fee_fen if fee_fen is None else fee_fen,
                                      "new_closed_at": utcnow(), "new_close_reason": close_reason}).one()
    expire_loaded(session, Order, (order.id,))
    if fee_fen is not None:
        change = {"fee_fen": fee_fen, **change}
    _record_transition(session, closed, order.status, **change)
    return closed


@command("market.order.accept")
def accept_order(session: Session, actor: Actor, *, order_id: int, fee_rate_bp: int) -> OrderRow:
    """The buyer accepts the delivery; escrow goes to the provider, less the exchange fee."""
    require_member(actor)
    order = _load(session, order_id, for_update=True)
    if order is None or order.buyer_member_id != actor.member_id:
        raise not_found("订单", "order")
    if order.status != "delivered":
        raise Conflict("订单尚未交付，不能验收", f"the order is {order.status}; only a delivered order can be accepted",
                       code="bad_state")
    return _settle(session, order, fee_rate_bp, "accepted")


@command("market.order.auto_settle")
def auto_settle_order(session: Session, actor: Actor, *, order_id: int, fee_rate_bp: int, now: dt.datetime,
                      after: dt.timedelta) -> OrderRow:
    """Settle an order the buyer left unaccepted for longer than the acceptance period."""
    require_system(actor)
    order = _load(session, order_id, for_update=True)
    if order is None:
        raise not_found("订单", "order")
    if order.status != "delivered" or order.delivered_at is None or order.delivered_at > now - after:
        raise Conflict("订单未到自动结算时间", "the order is not due for automatic settlement", code="not_due")
    return _settle(session, order, fee_rate_bp, "auto_settled")


@command("market.order.refund")
def refund_order(session: Session, actor: Actor, *, order_id: int, reason: str) -> OrderRow:
    """The operator returns the escrowed money to the buyer (e.g. after a dispute)."""
    require_operator(actor)
    order = _load(session, order_id, for_update=True)
    if order is None:
        raise not_found("订单", "order")
    if order.status not in ("paid", "delivered"):
        raise Conflict("只有已支付、未结算的订单可以退款", f"the order is {order.status}; only paid or delivered "
                       "orders can be refunded", code="bad_state")
    entry = ledger.post(session, ledger_core.refund(
        f"order:{order.id}:refund", ledger_core.escrow_code(order.buyer_member_id),
        ledger_core.wallet_code(order.buyer_member_id), order.amount_fen,
    )) if order.amount_fen else None
    usage.revoke_for_refund(session, order_id=order.id, reason=reason or "refunded")
    return _close(session, order, "refunded", reason or "refunded", reason=reason,
                  ledger_entry=entry.idempotency_key if entry else None)


@command("market.order.cancel")
def cancel_order(session: Session, actor: Actor, *, order_id: int) -> OrderRow:
    """The buyer drops an order it has not paid."""
    order = _buyers_move(session, actor, _CANCEL, order_id, "created",
                         ("只能取消未支付的订单", "the order is {status}; only unpaid orders can be cancelled"),
                         closed_at=utcnow(), close_reason="cancelled")
    _record_transition(session, order, "created")
    return order


@query
def get_order(session: Session, actor: Actor, *, order_id: int) -> OrderRow:
    """An order, seen by its buyer, its provider and the operator; everyone else gets 404."""
    order = _load(session, order_id)
    if not _visible(actor, order):
        raise not_found("订单", "order")
    return order  # type: ignore[return-value]


@query
def deliverable_order(session: Session, actor: Actor, *, order_id: int) -> OrderRow:
    """The buyer's own order, in a state where the data may be fetched."""
    order = _load(session, order_id)
    if order is None or actor.member_id != order.buyer_member_id:
        raise not_found("订单", "order")
    if order.status not in DELIVERABLE:
        raise Conflict("订单未支付或已退款，不能交付", f"the order is {order.status}; nothing to deliver",
                       code="not_deliverable")
    return order


@query
def order_row(session: Session, *, order_id: int) -> OrderRow | None:
    """An order as it stands, for a domain that has already authorized its caller (e.g. by the
    contract it serves)."""
    return _load(session, order_id)


@query
def orders_of_product(session: Session, *, product_id: int, statuses: Sequence[str]) -> list[OrderRow]:
    """The orders of one product in the given states, oldest first (e.g. the buyers holding a copy)."""
    return list(session.execute(select(*_order.c).where(
        _order.c.product_id == product_id, _order.c.status.in_(list(statuses))).order_by(_order.c.id)).all())


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


@query
def settled_trades(session: Session, *, since: dt.datetime | None = None, domain: str | None = None,
                   order_ids: Sequence[int] | None = None, limit: int = 100) -> list[OrderRow]:
    """Settled orders, newest first, as market evidence (成交案例) for valuation's market method.
    Callers decide who may see them and show the price, the date and the frozen product
    description, never who bought or sold. ``domain`` is the product's resource domain (所属领域)
    as frozen in the order's snapshot; ``order_ids`` picks these orders only."""
    stmt = select(*_order.c).where(_order.c.status == "settled").order_by(_order.c.closed_at.desc(),
                                                                           _order.c.id.desc())
    if since is not None:
        stmt = stmt.where(_order.c.closed_at >= since)
    if order_ids is not None:
        stmt = stmt.where(_order.c.id.in_(list(order_ids)))
    if domain is None:
        return list(session.execute(stmt.limit(limit)).all())
    found: list[OrderRow] = []
    result = session.execute(stmt.execution_options(yield_per=500))
    try:
        for order in result:
            if json.loads(order.snapshot_json).get("resource", {}).get("domain") == domain:
                found.append(order)
                if len(found) >= limit:
                    break
    finally:
        result.close()
    return found

"""Orders as pages: buy, pay, download (交付), accept (验收), cancel, and the operator's refunds."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from shujiao.audit import service as audit
from shujiao.delivery import service as delivery
from shujiao.deps import PathId, SessionDep, SettingsDep
from shujiao.market import service
from shujiao.members import service as members
from shujiao.usage import service as usage
from shujiao.web.deps import FormOperator, FormUser, PageOperator, PageUser
from shujiao.web.labels import LABELS
from shujiao.web.templating import redirect, render

router = APIRouter(include_in_schema=False)


def _order_url(order_id: int) -> str:
    return f"/orders/{order_id}"


@router.post("/products/{product_id}/buy")
def buy(request: Request, session: SessionDep, actor: FormUser, product_id: PathId,
        purpose: Annotated[str, Form(max_length=32)] = "") -> Response:
    order = service.create_order(session, actor, product_id=product_id, purpose=purpose.strip())
    return redirect(request, _order_url(order.id), ok=("订单已创建，请完成支付", "order created; please pay"))


@router.get("/orders/{order_id}")
def order_page(request: Request, session: SessionDep, actor: PageUser, order_id: PathId) -> Response:
    order = service.get_order(session, actor, order_id=order_id)
    # Only now that get_order has authorized the actor may the order's history be shown.
    timeline = audit.events_for_subject(session, subject_type="order", subject_id=order.id)
    names = members.member_names(session, {order.buyer_member_id, order.provider_member_id})
    return render(request, "market/order.html", order=order, timeline=timeline, names=names,
                  contract=usage.contract_for_order(session, actor, order_id=order.id),
                  is_buyer=actor.member_id == order.buyer_member_id)


@router.post("/orders/{order_id}/pay")
def pay(request: Request, session: SessionDep, actor: FormUser, order_id: PathId) -> Response:
    service.pay_order(session, actor, order_id=order_id)
    return redirect(request, _order_url(order_id), ok=("支付成功，款项已由交易中心托管", "paid; the exchange holds the money in escrow"))


@router.post("/orders/{order_id}/download")
def download(request: Request, session: SessionDep, settings: SettingsDep, actor: FormUser,
             order_id: PathId) -> Response:
    # A one-time link from the delivery service; the browser follows it with its session cookie,
    # and the file response makes it a download while the order page stays open.
    issued = delivery.issue_link(session, actor, order_id=order_id,
                                 ttl=dt.timedelta(seconds=settings.delivery.link_ttl_seconds))
    return redirect(request, f"/api/v1/downloads/{issued.token}")


@router.post("/orders/{order_id}/accept")
def accept(request: Request, session: SessionDep, settings: SettingsDep, actor: FormUser,
           order_id: PathId) -> Response:
    service.accept_order(session, actor, order_id=order_id, fee_rate_bp=settings.market.fee_rate_bp)
    return redirect(request, _order_url(order_id), ok=("已确认验收，交易完成结算", "accepted; the trade is settled"))


@router.post("/orders/{order_id}/cancel")
def cancel(request: Request, session: SessionDep, actor: FormUser, order_id: PathId) -> Response:
    service.cancel_order(session, actor, order_id=order_id)
    return redirect(request, _order_url(order_id), ok=("订单已取消", "order cancelled"))


@router.post("/orders/{order_id}/refund")
def refund(request: Request, session: SessionDep, actor: FormOperator, order_id: PathId,
           reason: Annotated[str, Form(max_length=1000)] = "") -> Response:
    service.refund_order(session, actor, order_id=order_id, reason=reason.strip())
    return redirect(request, "/operator/orders", ok=(f"订单 #{order_id} 已退款", f"order #{order_id} refunded"))


@router.get("/dashboard/orders")
def my_orders(request: Request, session: SessionDep, actor: PageUser) -> Response:
    bought = service.list_orders(session, actor)
    sold = service.list_orders(session, actor, as_provider=True)
    names = members.member_names(session, {o.provider_member_id for o in bought} | {o.buyer_member_id for o in sold})
    return render(request, "market/my_orders.html", bought=bought, sold=sold, names=names)


OrderStatus = Literal["", "created", "paid", "delivered", "settled", "refunded", "cancelled"]


@router.get("/operator/orders")
def operator_orders(request: Request, session: SessionDep, actor: PageOperator,
                    status: Annotated[OrderStatus, Query()] = "") -> Response:
    orders = service.all_orders(session, actor, status=status or None)
    names = members.member_names(session, {o.buyer_member_id for o in orders} | {o.provider_member_id for o in orders})
    return render(request, "market/operator_orders.html", orders=orders, names=names, status=status,
                  statuses=list(LABELS["order"]))

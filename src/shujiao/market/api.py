from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from shujiao.deps import CurrentActor, PathId, SessionDep, SettingsDep
from shujiao.market import service
from shujiao.market.schemas import OrderCreate, OrderRead, RefundRequest

router = APIRouter(prefix="/api/v1", tags=["market 交易"])


@router.post("/orders", status_code=201, response_model=OrderRead)
def create_order(session: SessionDep, actor: CurrentActor, body: OrderCreate) -> OrderRead:
    return OrderRead.of(service.create_order(session, actor, product_id=body.product_id,
                                                purpose=body.purpose or ""))


@router.get("/orders", response_model=list[OrderRead])
def list_orders(
    session: SessionDep, actor: CurrentActor, role: Annotated[Literal["buyer", "provider"], Query()] = "buyer"
) -> list[OrderRead]:
    return [OrderRead.of(o) for o in service.list_orders(session, actor, as_provider=role == "provider")]


@router.get("/orders/{order_id}", response_model=OrderRead)
def get_order(session: SessionDep, actor: CurrentActor, order_id: PathId) -> OrderRead:
    return OrderRead.of(service.get_order(session, actor, order_id=order_id))


@router.post("/orders/{order_id}/pay", response_model=OrderRead)
def pay_order(session: SessionDep, actor: CurrentActor, order_id: PathId) -> OrderRead:
    return OrderRead.of(service.pay_order(session, actor, order_id=order_id))


@router.post("/orders/{order_id}/accept", response_model=OrderRead)
def accept_order(session: SessionDep, actor: CurrentActor, settings: SettingsDep, order_id: PathId) -> OrderRead:
    return OrderRead.of(service.accept_order(session, actor, order_id=order_id,
                                             fee_rate_bp=settings.market.fee_rate_bp))


@router.post("/orders/{order_id}/cancel", response_model=OrderRead)
def cancel_order(session: SessionDep, actor: CurrentActor, order_id: PathId) -> OrderRead:
    return OrderRead.of(service.cancel_order(session, actor, order_id=order_id))


@router.post("/orders/{order_id}/refund", response_model=OrderRead)
def refund_order(
    session: SessionDep, actor: CurrentActor, order_id: PathId, body: RefundRequest | None = None
) -> OrderRead:
    return OrderRead.of(service.refund_order(session, actor, order_id=order_id,
                                             reason=(body or RefundRequest()).reason))

"""API products (API 网关) as pages: the member's API contracts as buyer and provider, each with its
usage dashboard (calls per day, status codes, bytes, latency, quota left), its API key (buyer) and
its statements (对账单), downloadable by both sides as CSV or Excel."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from shujiao.deps import PathId, SessionDep
from shujiao.gateway import api as gateway_api
from shujiao.gateway import service
from shujiao.gateway.schemas import StatementRead, UpstreamRead
from shujiao.market import service as market
from shujiao.web.deps import FormUser, PageUser
from shujiao.web.templating import redirect, render

router = APIRouter(include_in_schema=False)


@router.get("/dashboard/api")
def my_api_contracts(request: Request, session: SessionDep, actor: PageUser) -> Response:
    return render(request, "gateway/my_api.html", contracts=service.contracts_with_api(session, actor),
                  upstreams=[UpstreamRead.of(u) for u in service.list_upstreams(session, actor)])


def _usage_page(request: Request, session, actor, order_id: int, new_key: str | None = None) -> Response:  # type: ignore[no-untyped-def]
    order = market.get_order(session, actor, order_id=order_id)
    is_buyer = actor.member_id == order.buyer_member_id
    return render(request, "gateway/usage.html", order=order, is_buyer=is_buyer,
                  usage=service.contract_usage(session, actor, order_id=order_id),
                  statements=[StatementRead.of(s) for s in service.list_statements(session, actor, order_id=order_id)],
                  keys=service.list_api_keys(session, actor, order_id=order_id) if is_buyer else [],
                  new_key=new_key)


@router.get("/dashboard/api/{order_id}")
def usage_page(request: Request, session: SessionDep, actor: PageUser, order_id: PathId) -> Response:
    return _usage_page(request, session, actor, order_id)


@router.post("/dashboard/api/{order_id}/key")
def new_key(request: Request, session: SessionDep, actor: FormUser, order_id: PathId) -> Response:
    """A new key is shown on this one response only (not through a redirect, which would carry it)."""
    _, key = service.create_api_key(session, actor, order_id=order_id)
    return _usage_page(request, session, actor, order_id, new_key=key)


@router.post("/dashboard/api/statements/{statement_id}/pay")
def pay(request: Request, session: SessionDep, actor: FormUser, statement_id: PathId) -> Response:
    statement = service.pay_statement(session, actor, statement_id=statement_id)
    return redirect(request, f"/dashboard/api/{statement.order_id}", ok=("对账单已支付", "statement paid"))


@router.get("/dashboard/api/statements/{statement_id}.{fmt}")
def download(session: SessionDep, actor: PageUser, statement_id: PathId, fmt: Literal["csv", "xlsx"]) -> Response:
    return gateway_api.statement_response(session, actor, statement_id, fmt)

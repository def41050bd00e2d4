"""Contracts as pages: the policy on the order page (buyer and provider), revoke and renew there,
and the offer fields of the product form."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from shujiao.deps import PathId, SessionDep
from shujiao.usage import service
from shujiao.usage.offer import Offer
from shujiao.web.deps import FormUser
from shujiao.web.forms import checked, validate, yuan_to_fen
from shujiao.web.templating import redirect

router = APIRouter(include_in_schema=False)


def _number(text: str) -> int | None:
    cleaned = (text or "").strip()
    return int(cleaned) if cleaned.isdigit() and len(cleaned) <= 12 else (None if not cleaned else -1)


def offer_form(
    offer_fields: Annotated[str | None, Form()] = None,
    plan_kind: Annotated[str, Form(max_length=16)] = "one_off",
    period_days: Annotated[str, Form(max_length=8)] = "",
    price_per_1000_calls: Annotated[str, Form(max_length=40)] = "",
    quota_calls_per_period: Annotated[str, Form(max_length=16)] = "",
    term_days: Annotated[str, Form(max_length=8)] = "",  # FastAPI reads an empty field as absent
    max_downloads: Annotated[str, Form(max_length=8)] = "",
    delivery_modes: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
    purposes: Annotated[list[str], Form()] = [],  # noqa: B006
    allow_distribute: Annotated[str | None, Form()] = None,
    attribution: Annotated[str | None, Form()] = None,
    delete_after_expiry: Annotated[str | None, Form()] = None,
) -> Offer | None:
    """The offer fields of the product form (the same on create and edit), None when the form has
    none (``offer_fields`` marks them). A number that is not a whole number becomes -1 and so a
    field error of the Offer model."""
    if offer_fields is None:
        return None
    per_call = yuan_to_fen(price_per_1000_calls, zh="每千次价格", en="price per 1,000 calls") \
        if price_per_1000_calls.strip() else None
    return validate(Offer, plan={
        "kind": plan_kind, "period_days": _number(period_days) or 30, "price_per_1000_calls_fen": per_call,
        "quota_calls_per_period": _number(quota_calls_per_period),
    }, terms={
        "delivery_modes": delivery_modes or ["file"], "term_days": _number(term_days),
        "max_downloads": _number(max_downloads), "purposes": purposes,
        "allow_distribute": checked(allow_distribute), "attribution": checked(attribution),
        "delete_after_expiry": checked(delete_after_expiry),
    })


def _order_url(order_id: int) -> str:
    return f"/orders/{order_id}"


@router.post("/orders/{order_id}/contract/revoke")
def revoke(request: Request, session: SessionDep, actor: FormUser, order_id: PathId,
           reason: Annotated[str, Form(max_length=1000)] = "") -> Response:
    service.revoke_contract(session, actor, order_id=order_id, reason=reason)
    return redirect(request, _order_url(order_id), ok=("合约已撤销，买方不能再使用数据", "contract revoked; the buyer can no longer use the data"))


@router.post("/orders/{order_id}/contract/renew")
def renew(request: Request, session: SessionDep, actor: FormUser, order_id: PathId) -> Response:
    contract = service.renew_contract(session, actor, order_id=order_id)
    return redirect(request, _order_url(order_id), ok=(f"已续订一期（订单 #{contract.order_id}）",
                                                     f"renewed for one more period (order #{contract.order_id})"))

"""The operator's ledger page: the reconciliation check (对账) and recording deposits and withdrawals
(出入金) after the bank transfer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from shujiao.deps import SessionDep
from shujiao.ledger import service
from shujiao.members import service as members
from shujiao.money import format_fen
from shujiao.web.deps import FormOperator, PageOperator
from shujiao.web.forms import whole_number, yuan_to_fen
from shujiao.web.templating import redirect, render

router = APIRouter(include_in_schema=False)


@router.get("/operator/ledger")
def ledger_page(request: Request, session: SessionDep, actor: PageOperator) -> Response:
    approved = members.list_members(session, actor, status="approved")
    return render(request, "ledger/operator_ledger.html", check=service.check(session, actor), members=approved,
                  balances={m.id: service.member_balance(session, actor, member_id=m.id) for m in approved})


MemberField = Annotated[str, Form(max_length=40)]
AmountField = Annotated[str, Form(max_length=40)]
ReferenceField = Annotated[str, Form(max_length=200)]


@router.post("/operator/ledger/deposits")
def deposit(request: Request, session: SessionDep, actor: FormOperator, member_id: MemberField = "",
            amount: AmountField = "", reference: ReferenceField = "") -> Response:
    member = whole_number(member_id, zh="会员编号", en="member id")
    amount_fen = yuan_to_fen(amount)
    service.record_deposit(session, actor, member_id=member, amount_fen=amount_fen, reference=reference)
    return redirect(request, "/operator/ledger", ok=(f"已为会员 #{member} 入金 {format_fen(amount_fen)}",
                                                     f"deposited {format_fen(amount_fen)} for member #{member}"))


@router.post("/operator/ledger/withdrawals")
def withdrawal(request: Request, session: SessionDep, actor: FormOperator, member_id: MemberField = "",
               amount: AmountField = "", reference: ReferenceField = "") -> Response:
    member = whole_number(member_id, zh="会员编号", en="member id")
    amount_fen = yuan_to_fen(amount)
    service.record_withdrawal(session, actor, member_id=member, amount_fen=amount_fen, reference=reference)
    return redirect(request, "/operator/ledger", ok=(f"已为会员 #{member} 出金 {format_fen(amount_fen)}",
                                                     f"withdrew {format_fen(amount_fen)} for member #{member}"))

"""Pages for logging in and out, applying for membership (会员准入), the member's dashboard and
the operator's admission queue."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from shujiao.commands import ANONYMOUS
from shujiao.deps import PathId, SessionDep, SettingsDep
from shujiao.errors import DomainError, NotAuthenticated
from shujiao.ledger import service as ledger
from shujiao.listing import service as listing
from shujiao.market import service as market
from shujiao.members import service
from shujiao.members.schemas import MemberApply, StaffCreate
from shujiao.web import security
from shujiao.web.deps import FormActor, FormOperator, FormUser, PageActor, PageOperator, PageUser
from shujiao.web.forms import validate
from shujiao.web.templating import redirect, render

router = APIRouter(include_in_schema=False)


def _home_of(actor_is_operator: bool) -> str:
    return "/operator/reviews" if actor_is_operator else "/dashboard"


@router.get("/login")
def login_page(request: Request, actor: PageActor,
               next: Annotated[str, Query(max_length=2000)] = "") -> Response:
    return render(request, "members/login.html", next=security.local_path(next, default=""), username="",
                  error=None)


@router.post("/login")
def login(
    request: Request, session: SessionDep, settings: SettingsDep, actor: FormActor,
    username: Annotated[str, Form(max_length=64)] = "", password: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    ttl = dt.timedelta(hours=settings.auth.token_ttl_hours)
    try:
        token, _ = service.login(session, ANONYMOUS, username=username.strip(), password=password, ttl=ttl)
    except NotAuthenticated as exc:
        session.rollback()
        return render(request, "members/login.html", status_code=401, next=security.local_path(next, default=""),
                      username=username, error=exc)
    who = service.actor_for_token(session, token)
    response = redirect(request, security.local_path(next, default=_home_of(bool(who and who.is_operator))),
                        ok=("登录成功", "logged in"))
    security.set_cookie(request, response, settings.auth.cookie_name, token, max_age=int(ttl.total_seconds()))
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, settings: SettingsDep, actor: FormActor) -> Response:
    token = security.session_token(request)
    if token and actor.kind == "user":
        service.logout(session, actor, token=token)
    response = redirect(request, "/", ok=("已退出登录", "logged out"))
    security.delete_cookie(request, response, settings.auth.cookie_name)
    return response


def _apply_page(request: Request, *, values: dict[str, str], errors: list[dict[str, str]],
                status_code: int = 200) -> Response:
    return render(request, "members/apply.html", status_code=status_code, values=values, errors=errors)


@router.get("/apply")
def apply_page(request: Request, actor: PageActor) -> Response:
    return _apply_page(request, values={"name": "", "credit_code": "", "kind": "buyer", "username": ""}, errors=[])


@router.post("/apply")
def apply(
    request: Request, session: SessionDep, actor: FormActor,
    name: Annotated[str, Form(max_length=400)] = "", credit_code: Annotated[str, Form(max_length=64)] = "",
    kind: Annotated[str, Form(max_length=32)] = "", username: Annotated[str, Form(max_length=128)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    values = {"name": name, "credit_code": credit_code, "kind": kind, "username": username}
    try:
        application = validate(MemberApply, name=name, credit_code=credit_code, kind=kind,
                               admin={"username": username.strip(), "password": password})
        service.apply(session, ANONYMOUS, application=application)
    except DomainError as exc:
        session.rollback()
        errors = exc.details.get("fields") or [{"field": "", "zh": exc.zh, "en": exc.en}]
        return _apply_page(request, values=values, errors=errors, status_code=exc.status_code)
    return redirect(request, "/login", ok=("入会申请已提交，请等待交易中心审核；审核期间可登录查看进度",
                                           "application submitted; log in to follow its review"))


@router.get("/dashboard")
def dashboard(request: Request, session: SessionDep, actor: PageUser) -> Response:
    if actor.is_operator:
        return redirect(request, "/operator/members")
    member = service.get_member(session, actor, member_id=actor.member_id)
    approved = member.status == "approved"
    balance = ledger.member_balance(session, actor, member_id=member.id) if approved else None
    statement = ledger.member_postings(session, actor, member_id=member.id, limit=50) if approved else []
    bought = market.list_orders(session, actor, limit=5)
    products = listing.list_own_products(session, actor)
    return render(request, "members/dashboard.html", member=member, balance=balance, statement=statement,
                  recent_orders=bought, product_count=len(products), users=service.list_users(session, actor),
                  listed_count=sum(1 for p in products if p.status == "listed"))


@router.post("/dashboard/users")
def add_user(
    request: Request, session: SessionDep, actor: FormUser,
    username: Annotated[str, Form(max_length=128)] = "", password: Annotated[str, Form(max_length=256)] = "",
    role: Annotated[str, Form(max_length=16)] = "staff",
) -> Response:
    user = service.add_user(session, actor, user=validate(StaffCreate, username=username.strip(),
                                                          password=password, role=role))
    return redirect(request, "/dashboard", ok=(f"已添加用户 {user.username}", f"user {user.username} added"))


@router.get("/operator/members")
def operator_members(request: Request, session: SessionDep, actor: PageOperator) -> Response:
    return render(request, "members/operator_members.html",
                  pending=service.list_members(session, actor, status="pending"),
                  everyone=service.list_members(session, actor))


@router.post("/operator/members/{member_id}/approve")
def approve(request: Request, session: SessionDep, actor: FormOperator, member_id: PathId) -> Response:
    member = service.approve(session, actor, member_id=member_id)
    return redirect(request, "/operator/members", ok=(f"已准入：{member.name}", f"approved: {member.name}"))


@router.post("/operator/members/{member_id}/reject")
def reject(request: Request, session: SessionDep, actor: FormOperator, member_id: PathId,
           reason: Annotated[str, Form(max_length=1000)] = "") -> Response:
    member = service.reject(session, actor, member_id=member_id, reason=reason)
    return redirect(request, "/operator/members", ok=(f"已驳回：{member.name}", f"rejected: {member.name}"))

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request

from shujiao.commands import ANONYMOUS
from shujiao.errors import InvalidInput
from shujiao.deps import CurrentActor, PathId, SessionDep, SettingsDep, bearer_token
from shujiao.members import service
from shujiao.members.schemas import MeRead, MemberApply, MemberRead, Rejection, StaffCreate, Token, UserRead

router = APIRouter(prefix="/api/v1", tags=["members 交易主体"])


@router.post("/auth/token", response_model=Token)
def issue_token(
    session: SessionDep, settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)], password: Annotated[str, Form(max_length=128)],
) -> Token:
    token, row = service.login(session, ANONYMOUS, username=username, password=password,
                               ttl=dt.timedelta(hours=settings.auth.token_ttl_hours))
    return Token(access_token=token, expires_at=row.expires_at)


@router.post("/auth/logout", status_code=204)
def logout(session: SessionDep, actor: CurrentActor, request: Request) -> None:
    token = bearer_token(request)
    if token is None:
        raise InvalidInput("请使用 Bearer 令牌退出", "log out with the bearer token to revoke")
    service.logout(session, actor, token=token)


@router.post("/members", status_code=201, response_model=MemberRead)
def apply(session: SessionDep, application: MemberApply) -> object:
    return service.apply(session, ANONYMOUS, application=application)


@router.get("/members/me", response_model=MeRead)
def me(session: SessionDep, actor: CurrentActor) -> MeRead:
    member = service.get_member(session, actor, member_id=actor.member_id)
    user = service.get_user(session, actor, user_id=actor.user_id)
    return MeRead(member=MemberRead.model_validate(member), user=UserRead.model_validate(user))


@router.post("/members/me/users", status_code=201, response_model=UserRead)
def add_user(session: SessionDep, actor: CurrentActor, user: StaffCreate) -> object:
    return service.add_user(session, actor, user=user)


@router.get("/members", response_model=list[MemberRead])
def list_members(session: SessionDep, actor: CurrentActor, status: str | None = None) -> object:
    return service.list_members(session, actor, status=status)


@router.get("/members/{member_id}", response_model=MemberRead)
def get_member(session: SessionDep, actor: CurrentActor, member_id: PathId) -> object:
    return service.get_member(session, actor, member_id=member_id)


@router.post("/members/{member_id}/approve", response_model=MemberRead)
def approve(session: SessionDep, actor: CurrentActor, member_id: PathId) -> object:
    return service.approve(session, actor, member_id=member_id)


@router.post("/members/{member_id}/reject", response_model=MemberRead)
def reject(session: SessionDep, actor: CurrentActor, member_id: PathId, body: Rejection) -> object:
    return service.reject(session, actor, member_id=member_id, reason=body.reason)

"""Who is looking at a page, and the CSRF check every page form goes through.

``Form*`` dependencies are for POST handlers: they check the form's ``csrf_token`` before the
handler (and so any service command) runs.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request

from shujiao.commands import ANONYMOUS, Actor
from shujiao.deps import SessionDep, actor_for_token
from shujiao.errors import NotAuthenticated, PermissionDenied
from shujiao.web import security


class LoginRequired(NotAuthenticated):
    code = "login_required"


def page_actor(request: Request, session: SessionDep) -> Actor:
    """The logged-in user of the session cookie; an unknown or expired cookie is simply anonymous."""
    token = security.session_token(request)
    actor = actor_for_token(session, token) if token else None
    actor = actor or ANONYMOUS
    request.state.actor = actor
    return actor


PageActor = Annotated[Actor, Depends(page_actor)]


def page_user(actor: PageActor) -> Actor:
    if actor.kind != "user":
        raise LoginRequired("请先登录", "please log in first")
    return actor


PageUser = Annotated[Actor, Depends(page_user)]


def _operator(actor: Actor) -> Actor:
    if not actor.is_operator:
        raise PermissionDenied("仅交易中心运营方可访问此页面", "only the exchange operator may open this page")
    return actor


def page_operator(actor: PageUser) -> Actor:
    return _operator(actor)


PageOperator = Annotated[Actor, Depends(page_operator)]


def form_actor(request: Request, actor: PageActor,
               csrf_token: Annotated[str, Form()] = "") -> Actor:
    security.check_csrf(request, csrf_token, logged_in=actor.kind in ("user", "person"))
    return actor


FormActor = Annotated[Actor, Depends(form_actor)]


def form_user(actor: FormActor) -> Actor:
    return page_user(actor)


FormUser = Annotated[Actor, Depends(form_user)]


def form_operator(actor: FormUser) -> Actor:
    return _operator(actor)


FormOperator = Annotated[Actor, Depends(form_operator)]

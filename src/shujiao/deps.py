"""FastAPI dependencies: the request's transaction, settings, storage and the acting member."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from shujiao.catalog.storage import FileStorage
from shujiao.commands import ANONYMOUS, Actor
from shujiao.config import Settings
from shujiao.consent import service as consent
from shujiao.db import MAX_ID
from shujiao.errors import NotAuthenticated
from shujiao.members import service as members

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent (scope="function")."""
    session = request.app.state.session_factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# Dependencies that do no I/O are ``async def`` so that FastAPI runs them on the event loop
# instead of handing each one to the thread pool (measurable per request).
async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_storage(request: Request) -> FileStorage:
    return request.app.state.storage


PathId = Annotated[int, Path(ge=1, le=MAX_ID)]

SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
StorageDep = Annotated[FileStorage, Depends(get_storage)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def actor_for_token(session: Session, token: str) -> Actor | None:
    """A member user's token, or a person's (个人, prefixed ``p.``: the personal data authorization hub)."""
    if token.startswith(consent.PERSON_TOKEN_PREFIX):
        return consent.actor_for_token(session, token)
    return members.actor_for_token(session, token)


def get_optional_actor(request: Request, session: SessionDep, settings: SettingsDep) -> Actor:
    token = bearer_token(request)
    # The API takes the page's session cookie only for reads: a cross-site form could otherwise
    # make a logged-in browser change things (the pages' own forms carry a CSRF token instead).
    if token is None and request.method in SAFE_METHODS:
        token = request.cookies.get(settings.auth.cookie_name)
    if token is None:
        return ANONYMOUS
    actor = actor_for_token(session, token)
    if actor is None:
        raise NotAuthenticated("登录已失效，请重新登录", "invalid or expired token", code="invalid_token")
    return actor


async def get_actor(actor: Annotated[Actor, Depends(get_optional_actor)]) -> Actor:
    if actor.kind != "user":
        raise NotAuthenticated("请先登录", "login required")
    return actor


OptionalActor = Annotated[Actor, Depends(get_optional_actor)]
CurrentActor = Annotated[Actor, Depends(get_actor)]

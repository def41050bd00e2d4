"""Who is acting, and the rule that every command authorizes and is recorded.

Every state-changing service function is a :func:`command`. While it runs, it must call
:func:`authorize` (or one of the ``require_*`` helpers) before it changes anything, and it must
append at least one audit record (``audit.service.record``). A command that returns without doing
both raises :class:`~shujiao.errors.CommandContractBroken`, so its transaction is rolled back and
the tests fail. Read-only service functions are marked :func:`query`, and helpers that may only run inside
another command (``ledger.post``) are marked :func:`inside_command`; a test checks that every
public service function is one of the three.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal, ParamSpec, TypeVar

from shujiao.errors import CommandContractBroken, NotAuthenticated, PermissionDenied

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Actor:
    kind: Literal["user", "system", "anonymous", "person"]
    username: str
    user_id: int | None = None
    member_id: int | None = None
    member_kind: str | None = None
    member_status: str | None = None
    role: str | None = None
    # An individual (个人, kind "person") logged in to the personal data authorization hub.
    person_id: int | None = None

    @property
    def is_operator(self) -> bool:
        return self.kind == "user" and self.member_kind == "operator"

    @property
    def is_system(self) -> bool:
        return self.kind == "system"

    @property
    def label(self) -> str:
        if self.kind == "person":
            return f"person:{self.person_id}"
        return self.username if self.kind == "user" else self.kind


SYSTEM = Actor(kind="system", username="system")
ANONYMOUS = Actor(kind="anonymous", username="anonymous")


@dataclass
class _RunningCommand:
    name: str
    actor: Actor
    authorized: bool = False
    recorded: int = 0


_current: ContextVar[_RunningCommand | None] = ContextVar("shujiao_command", default=None)

COMMANDS: dict[str, Callable[..., Any]] = {}


def command(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Mark a service function as a state-changing command named ``name`` (``domain.verb``)."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            actor = args[1] if len(args) > 1 else kwargs.get("actor")
            if not isinstance(actor, Actor):
                raise TypeError(f"command {name} called without an Actor")
            running = _RunningCommand(name=name, actor=actor)
            token = _current.set(running)
            try:
                result = fn(*args, **kwargs)
            finally:
                _current.reset(token)
            if not running.authorized:
                raise CommandContractBroken(f"command {name} did not authorize its actor")
            if not running.recorded:
                raise CommandContractBroken(f"command {name} changed state without an audit record")
            return result

        run.__shujiao_command__ = name  # type: ignore[attr-defined]
        COMMANDS[name] = run
        return run

    return decorate


def query(fn: Callable[P, R]) -> Callable[P, R]:
    """Mark a service function as read-only (it loads only what the actor may see)."""
    fn.__shujiao_query__ = True  # type: ignore[attr-defined]
    return fn


def self_recording(fn: Callable[P, R]) -> Callable[P, R]:
    """Mark a service function whose only write is a row that is its own signed, insert-only record
    (a log checkpoint). It writes no audit record because that record would grow the very log the
    checkpoint summarises, so every checkpoint would call for another."""
    fn.__shujiao_self_recording__ = True  # type: ignore[attr-defined]
    return fn


def inside_command(fn: Callable[P, R]) -> Callable[P, R]:
    """Mark a service function that only runs as part of a command (it authorizes nothing itself)."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        current_command()
        return fn(*args, **kwargs)

    run.__shujiao_inside_command__ = True  # type: ignore[attr-defined]
    return run


def current_command() -> _RunningCommand:
    running = _current.get()
    if running is None:
        raise CommandContractBroken("audit records can only be written inside a command")
    return running


def _mark_authorized() -> None:
    running = _current.get()
    if running is not None:
        running.authorized = True


def authorize(allowed: bool, zh: str = "无权执行此操作", en: str = "not allowed") -> None:
    if not allowed:
        raise PermissionDenied(zh, en)
    _mark_authorized()


def allow_anyone() -> None:
    """For the few commands open to the public (applying for membership)."""
    _mark_authorized()


def require_user(actor: Actor) -> None:
    if actor.kind != "user":
        raise NotAuthenticated("请先登录", "login required")


def require_operator(actor: Actor) -> None:
    if actor.is_system:
        _mark_authorized()
        return
    require_user(actor)
    authorize(actor.is_operator, "仅交易中心运营方可执行此操作", "only the exchange operator may do this")


def require_member(actor: Actor, *, approved: bool = True, admin: bool = False) -> None:
    require_user(actor)
    authorize(actor.member_id is not None and not actor.is_operator,
              "仅会员可执行此操作", "only a member may do this")
    if approved:
        authorize(actor.member_status == "approved",
                  "会员尚未通过准入审核", "the member has not been approved yet")
    if admin:
        authorize(actor.role == "admin", "仅会员管理员可执行此操作", "only a member admin may do this")


def require_person(actor: Actor) -> None:
    """An individual logged in to the personal data authorization hub (个人)."""
    if actor.kind != "person" or actor.person_id is None:
        raise NotAuthenticated("请先以个人身份登录", "log in as a person first")
    _mark_authorized()


def require_system(actor: Actor) -> None:
    authorize(actor.is_system or actor.is_operator,
              "仅系统任务或运营方可执行此操作", "only a system job or the operator may do this")

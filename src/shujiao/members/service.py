"""Admission of members, their users, and logins."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import NamedTuple
from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from pydantic import ValidationError
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from shujiao.audit import service as audit
from shujiao.commands import (
    Actor,
    allow_anyone,
    command,
    query,
    require_member,
    require_operator,
    require_system,
)
from shujiao.db import utcnow
from shujiao.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, not_found
from shujiao.ledger import service as ledger
from shujiao.members.models import Member, MemberSession, MemberUser
from shujiao.members.schemas import MemberApply, StaffCreate

OPERATOR_MEMBER_NAME = "交易中心运营方"

_hasher = PasswordHasher()
# Verified against when the username is unknown, so that a miss costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _ensure_username_free(session: Session, username: str) -> None:
    if session.scalar(select(MemberUser.id).where(MemberUser.username == username)) is not None:
        raise Conflict("用户名已被使用", "username already taken", code="username_taken")


@command("members.apply")
def apply(session: Session, actor: Actor, *, application: MemberApply) -> Member:
    """An organization applies to join; it waits for the operator's decision."""
    allow_anyone()
    if session.scalar(select(Member.id).where(Member.credit_code == application.credit_code)) is not None:
        raise Conflict("该统一社会信用代码已申请或已入会", "this credit code has already applied",
                       code="credit_code_taken")
    _ensure_username_free(session, application.admin.username)
    now = utcnow()
    member = Member(name=application.name, credit_code=application.credit_code, kind=application.kind,
                    status="pending", decision_reason="", applied_at=now)
    session.add(member)
    session.flush()
    user = MemberUser(member_id=member.id, username=application.admin.username,
                      password_hash=_hasher.hash(application.admin.password), role="admin",
                      active=True, created_at=now)
    session.add(user)
    session.flush()
    audit.record(session, subject_type="member", subject_id=member.id, change={
        "status": "pending", "name": member.name, "credit_code": member.credit_code,
        "kind": member.kind, "admin_username": user.username,
    })
    return member


def _pending_member(session: Session, member_id: int) -> Member:
    member = session.scalar(select(Member).where(Member.id == member_id).with_for_update())
    if member is None or member.kind == "operator":
        raise not_found("会员", "member")
    if member.status != "pending":
        raise Conflict("该申请已处理", f"the application is already {member.status}", code="already_decided")
    return member


@command("members.approve")
def approve(session: Session, actor: Actor, *, member_id: int) -> Member:
    require_operator(actor)
    member = _pending_member(session, member_id)
    member.status = "approved"
    member.decided_at = utcnow()
    session.flush()
    ledger.open_member_accounts(session, member_id=member.id)
    audit.record(session, subject_type="member", subject_id=member.id,
                 change={"status": {"from": "pending", "to": "approved"}})
    return member


@command("members.reject")
def reject(session: Session, actor: Actor, *, member_id: int, reason: str) -> Member:
    require_operator(actor)
    reason = reason.strip()
    if len(reason) < 2:
        raise InvalidInput("驳回须说明理由", "a rejection needs a reason")
    member = _pending_member(session, member_id)
    member.status = "rejected"
    member.decision_reason = reason
    member.decided_at = utcnow()
    session.flush()
    audit.record(session, subject_type="member", subject_id=member.id,
                 change={"status": {"from": "pending", "to": "rejected"}, "reason": reason})
    return member


@command("members.add_user")
def add_user(session: Session, actor: Actor, *, user: StaffCreate) -> MemberUser:
    """A member's admin adds a colleague (admin or staff)."""
    require_member(actor, approved=False, admin=True)
    _ensure_username_free(session, user.username)
    row = MemberUser(member_id=actor.member_id, username=user.username,
                     password_hash=_hasher.hash(user.password), role=user.role, active=True,
                     created_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(session, subject_type="member_user", subject_id=row.id,
                 change={"member_id": actor.member_id, "username": row.username, "role": row.role})
    return row


@command("members.create_operator")
def create_operator(session: Session, actor: Actor, *, username: str, password: str) -> MemberUser:
    """Make an operator user (the first one from the CLI); the operator member is made once."""
    require_system(actor)
    try:
        credentials = StaffCreate(username=username, password=password)
    except ValidationError as exc:
        raise InvalidInput("用户名须为3–64位字母数字，密码至少8位",
                           "username: 3–64 letters, digits, _ . -; password: at least 8 characters") from exc
    _ensure_username_free(session, credentials.username)
    now = utcnow()
    operator = session.scalar(select(Member).where(Member.kind == "operator"))
    if operator is None:
        operator = Member(name=OPERATOR_MEMBER_NAME, credit_code=None, kind="operator",
                          status="approved", decision_reason="", applied_at=now, decided_at=now)
        session.add(operator)
        session.flush()
        audit.record(session, subject_type="member", subject_id=operator.id,
                     change={"status": "approved", "kind": "operator", "name": operator.name})
    user = MemberUser(member_id=operator.id, username=credentials.username,
                      password_hash=_hasher.hash(credentials.password), role="operator",
                      active=True, created_at=now)
    session.add(user)
    session.flush()
    audit.record(session, subject_type="member_user", subject_id=user.id,
                 change={"member_id": operator.id, "username": user.username, "role": "operator"})
    return user


@command("members.login")
def login(session: Session, actor: Actor, *, username: str, password: str, ttl: dt.timedelta) -> tuple[str, MemberSession]:
    """Check a password and open a session; returns the raw token (shown once) and the session."""
    allow_anyone()
    user = session.scalar(select(MemberUser).where(MemberUser.username == username))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerifyMismatchError, InvalidHashError):
        user = None
    if user is None or not user.active:
        raise NotAuthenticated("用户名或密码错误", "wrong username or password", code="bad_credentials")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = MemberSession(token_sha256=_hash_token(token), user_id=user.id, created_at=now, expires_at=now + ttl)
    session.add(row)
    session.flush()
    audit.record(session, subject_type="member_user", subject_id=user.id,
                 change={"login": {"session_id": row.id, "expires_at": row.expires_at}})
    return token, row


@command("members.logout")
def logout(session: Session, actor: Actor, *, token: str) -> None:
    allow_anyone()
    row = session.scalar(select(MemberSession).where(MemberSession.token_sha256 == _hash_token(token)))
    if row is None or row.revoked_at is not None:
        raise NotAuthenticated("会话不存在或已退出", "no such session")
    row.revoked_at = utcnow()
    session.flush()
    audit.record(session, subject_type="member_user", subject_id=row.user_id,
                 change={"logout": {"session_id": row.id}})


# Built once: every request runs it.
_ACTOR_FOR_TOKEN = (
    select(MemberUser.id, MemberUser.username, MemberUser.role, Member.id.label("member_id"), Member.kind, Member.status)
    .join(MemberSession, MemberSession.user_id == MemberUser.id)
    .join(Member, Member.id == MemberUser.member_id)
    .where(MemberSession.token_sha256 == bindparam("token_sha256"), MemberSession.revoked_at.is_(None),
           MemberSession.expires_at > bindparam("now"), MemberUser.active.is_(True))
)


@query
def actor_for_token(session: Session, token: str) -> Actor | None:
    """Who holds this bearer token or session cookie, or None if it is unknown, expired or revoked."""
    # Runs on every request: one joined SELECT of plain columns, no ORM objects to build.
    row = session.execute(_ACTOR_FOR_TOKEN, {"token_sha256": _hash_token(token), "now": utcnow()}).first()
    if row is None:
        return None
    return Actor(kind="user", username=row.username, user_id=row.id, member_id=row.member_id,
                 member_kind=row.kind, member_status=row.status, role=row.role)


@query
def get_member(session: Session, actor: Actor, *, member_id: int) -> Member:
    """A member's own record, or any member for the operator; everyone else gets 404."""
    if not (actor.is_operator or actor.member_id == member_id):
        raise not_found("会员", "member")
    member = session.get(Member, member_id)
    if member is None:
        raise not_found("会员", "member")
    return member


@query
def get_user(session: Session, actor: Actor, *, user_id: int) -> MemberUser:
    user = session.get(MemberUser, user_id)
    if user is None or not (actor.is_operator or actor.member_id == user.member_id):
        raise not_found("用户", "user")
    return user


@query
def list_users(session: Session, actor: Actor) -> Sequence[MemberUser]:
    """The users of the actor's own member (同一会员的用户)."""
    return session.scalars(
        select(MemberUser).where(MemberUser.member_id == actor.member_id).order_by(MemberUser.id)
    ).all()


@query
def list_members(session: Session, actor: Actor, *, status: str | None = None) -> Sequence[Member]:
    require_operator(actor)
    stmt = select(Member).where(Member.kind != "operator").order_by(Member.id.desc())
    if status:
        stmt = stmt.where(Member.status == status)
    return session.scalars(stmt).all()


@query
def member_names(session: Session, member_ids: set[int]) -> dict[int, str]:
    """Public names of members (shown on listed products and orders)."""
    if not member_ids:
        return {}
    return dict(session.execute(select(Member.id, Member.name).where(Member.id.in_(member_ids))).all())


class PublicIdentity(NamedTuple):
    name: str
    credit_code: str
    kind: str
    status: str


@query
def public_identity(session: Session, member_id: int) -> PublicIdentity:
    """A member's name, 统一社会信用代码, kind and status, as certificates and their verifiers show them."""
    row = session.execute(select(Member.name, Member.credit_code, Member.kind, Member.status)
                          .where(Member.id == member_id)).first()
    if row is None:
        raise not_found("会员", "member")
    return PublicIdentity(row.name, row.credit_code or "", row.kind, row.status)


@query
def member_id_by_credit_code(session: Session, code: str) -> int:
    """The member a counterparty names by its 统一社会信用代码 (how organizations know each other)."""
    member_id = session.scalar(select(Member.id).where(Member.credit_code == code.strip().upper()))
    if member_id is None:
        raise InvalidInput("未找到该统一社会信用代码的会员", "no member has that unified social credit code",
                           code="unknown_member")
    return member_id


@query
def approved_counterparty(session: Session, *, member_id: int | None,
                          credit_code: str | None) -> tuple[int, PublicIdentity]:
    """The member another member names as counterparty (a transferee, a pledgee, a commissioned
    assessor), by member id or 统一社会信用代码: it must exist and be approved (the exchange's
    operator member may always be named)."""
    member_id = member_id or member_id_by_credit_code(session, credit_code or "")
    try:
        identity = public_identity(session, member_id)
    except NotFound:
        raise InvalidInput("对方会员不存在", "no such member", code="unknown_member") from None
    if identity.kind != "operator" and identity.status != "approved":
        raise InvalidInput("对方会员尚未准入", "that member is not approved", code="member_not_approved")
    return member_id, identity


@query
def find_user_by_username(session: Session, username: str) -> MemberUser:
    user = session.scalar(select(MemberUser).where(MemberUser.username == username))
    if user is None:
        raise NotFound("用户不存在", "user not found")
    return user

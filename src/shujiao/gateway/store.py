"""The gateway's database work, run in worker threads off the per-call path: resolving a key to a
contract's route, claiming blocks of calls from the shared period and per-second counters, and
inserting call records in batches. These are not commands: a call through the gateway is recorded
by its call record (gateway_call), not by an audit record per call."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from shujiao.commands import Actor
from shujiao.config import Settings
from shujiao.consent import service as consent
from shujiao.crypto import service as crypto
from shujiao.db import unit_of_work
from shujiao.errors import DomainError, NotAuthenticated, PermissionDenied
from shujiao.gateway import core
from shujiao.gateway.models import ApiKey, Call, Period, RateWindow, Statement, Upstream
from shujiao.usage import service as usage
from shujiao.usage.api import log_refusal
from shujiao.usage.errors import UsageDenied, UsageNotFound
from shujiao.usage.offer import PricingPlan

_period = Period.__table__
_window = RateWindow.__table__
_INSERT_CALLS = insert(Call.__table__)


def key_sha256(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def secret_context(product_id: int) -> bytes:
    return f"gateway-upstream:{product_id}".encode()


@dataclass(frozen=True)
class Route:
    """What the gateway needs to serve one key on one contract, cached for a second or two."""

    key_id: int
    order_id: int
    base_url: str
    auth_header: str
    secret: str = field(repr=False)  # never in a log line or traceback
    plan: PricingPlan
    starts_at: dt.datetime
    # Personal data (个人数据授权): the person keys with live consent, when the product declares a
    # scenario; each call must then name its person (``X-Person-Key``) and is refused otherwise.
    consented: frozenset[str] | None = None


def invalid_key() -> NotAuthenticated:
    return NotAuthenticated("API 密钥无效或已作废", "invalid or revoked API key", code="invalid_api_key")


def resolve(factory: sessionmaker[Session], settings: Settings, *, key_hash: str, order_id: int) -> Route:
    """The route for a key on a contract, or the refusal (a DomainError) to cache instead. A refusal
    by the contract's usage policy is logged in a transaction of its own, as the app's handler does
    for the other delivery points (once per resolution: the cached refusal answers the calls after)."""
    try:
        with unit_of_work(factory) as session:
            return _resolve(session, settings, key_hash=key_hash, order_id=order_id)
    except (UsageDenied, UsageNotFound) as refusal:
        log_refusal(factory, refusal)
        return refusal  # type: ignore[return-value]
    except DomainError as refusal:
        return refusal  # type: ignore[return-value]


def _resolve(session: Session, settings: Settings, *, key_hash: str, order_id: int) -> Route:
    key = session.execute(select(ApiKey.id, ApiKey.order_id, ApiKey.member_id, ApiKey.prefix).where(
        ApiKey.key_sha256 == key_hash, ApiKey.revoked_at.is_(None))).first()
    if key is None or key.order_id != order_id:  # another contract's key is no key for this one
        raise invalid_key()
    actor = Actor(kind="user", username=f"api-key:{key.prefix}", member_id=key.member_id, member_status="approved")
    grant = usage.authorize_use(session, actor, order_id=order_id, action="call")
    upstream = session.scalar(select(Upstream).where(Upstream.product_id == grant.product_id))
    if upstream is None:
        raise PermissionDenied("该产品未接入 API 网关", "this product has no API behind the gateway",
                               code="no_upstream")
    if session.scalar(select(Statement.id).where(Statement.order_id == order_id, Statement.status == "unpaid")
                      .limit(1)) is not None:
        raise PermissionDenied("合约有未付对账单，调用已暂停，请充值后支付", "the contract has an unpaid statement; "
                               "calls are suspended until it is paid", code="contract_suspended")
    master = crypto.master_key(session, settings, key_id=upstream.master_key_id)
    secret = master.unwrap(upstream.sealed_secret, context=secret_context(upstream.product_id)).decode()
    restriction = consent.restriction_for(session, product_id=grant.product_id)
    return Route(key.id, order_id, upstream.base_url, upstream.auth_header, secret,
                 grant.offer.plan, grant.starts_at,
                 frozenset(restriction.allowed) if restriction is not None else None)


def _insert_ignore(session: Session, table, values: dict) -> None:  # type: ignore[no-untyped-def]
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    session.execute(dialect_insert(table).values(**values).on_conflict_do_nothing())


def claim_calls(factory: sessionmaker[Session], *, order_id: int, start: dt.datetime, end: dt.datetime,
                plan: PricingPlan, block: int) -> int:
    """Claim up to ``block`` calls of the period's quota for this process: one conditional UPDATE
    that never takes the counter past the quota (retried with a smaller block if another process
    got there first). Returns how many were granted (0: the quota is used up)."""
    with unit_of_work(factory) as session:
        _insert_ignore(session, _period, {
            "order_id": order_id, "period_start": start, "period_end": end, "quota": plan.quota_calls_per_period,
            "claimed": 0, "plan_json": plan.model_dump_json(), "billed": False})
        lookup = select(_period.c.id, _period.c.quota, _period.c.claimed).where(
            _period.c.order_id == order_id, _period.c.period_start == start)
        for _ in range(8):
            row = session.execute(lookup).one()
            n = core.claim_size(block, row.quota, row.claimed)
            if n == 0:
                return 0
            stmt = update(_period).where(_period.c.id == row.id).values(claimed=_period.c.claimed + n)
            if row.quota is not None:
                stmt = stmt.where(_period.c.claimed + n <= row.quota)
            if session.execute(stmt).rowcount == 1:
                return n
        return 0


def return_calls(factory: sessionmaker[Session], *, order_id: int, start: dt.datetime, n: int) -> None:
    """Give back the unused rest of a lease so other processes may serve it."""
    with unit_of_work(factory) as session:
        session.execute(update(_period).where(_period.c.order_id == order_id, _period.c.period_start == start)
                        .values(claimed=_period.c.claimed - n))


def claim_rate(factory: sessionmaker[Session], *, order_id: int, second: int, limit: int, block: int) -> int:
    """Claim up to ``block`` calls of the contract's allowance for one second (shared by all processes)."""
    with unit_of_work(factory) as session:
        _insert_ignore(session, _window, {"order_id": order_id, "second": second, "used": 0})
        where = (_window.c.order_id == order_id, _window.c.second == second)
        for _ in range(8):
            used = session.execute(select(_window.c.used).where(*where)).scalar_one()
            n = min(block, limit - used)
            if n <= 0:
                return 0
            if session.execute(update(_window).where(*where, _window.c.used + n <= limit)
                               .values(used=_window.c.used + n)).rowcount == 1:
                return n
        return 0


_CALL_COLUMNS = ("order_id", "key_id", "at", "method", "path", "status", "forwarded", "bytes_in", "bytes_out",
                 "latency_us")
_COPY_CALLS = f"COPY gateway_call ({', '.join(_CALL_COLUMNS)}) FROM STDIN"


def insert_calls(factory: sessionmaker[Session], rows: list[dict]) -> None:
    """One batch of call records. On PostgreSQL through COPY (a fraction of the client and server
    CPU of a multi-row INSERT: this runs for every call the gateway serves)."""
    with unit_of_work(factory) as session:
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            with connection.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
                with cursor.copy(_COPY_CALLS) as copy:
                    for row in rows:
                        copy.write_row(tuple(row[c] for c in _CALL_COLUMNS))
        else:
            session.execute(_INSERT_CALLS, rows)


def forget_windows(factory: sessionmaker[Session], *, before_second: int) -> None:
    with unit_of_work(factory) as session:
        session.execute(delete(_window).where(_window.c.second < before_second))


def plan_of_period(plan_json: str) -> PricingPlan:
    return PricingPlan.model_validate(json.loads(plan_json))

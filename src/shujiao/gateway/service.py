"""Gateway commands and queries: upstreams, contract API keys, usage, billing and statements.

The per-call path lives in :mod:`shujiao.gateway.asgi` (with its database work in
:mod:`shujiao.gateway.store`); everything here is the slow path of people and jobs."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import secrets
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict
from urllib.parse import urlsplit

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from shujiao.audit import service as audit
from shujiao.commands import SYSTEM, Actor, command, query, require_member, require_system
from shujiao.config import Settings
from shujiao.crypto import service as crypto
from shujiao.db import utcnow
from shujiao.errors import Conflict, InvalidInput, not_found
from shujiao.gateway import core, store
from shujiao.gateway.models import ApiKey, Call, Period, Statement, Upstream
from shujiao.gateway.schemas import UpstreamRegister
from shujiao.ledger import core as ledger_core
from shujiao.ledger import service as ledger
from shujiao.listing import service as listing
from shujiao.market import service as market
from shujiao.usage import service as usage

KEY_PREFIX = "sjk_"


@command("gateway.upstream.register")
def register_upstream(session: Session, actor: Actor, *, settings: Settings, product_id: int,
                      data: UpstreamRegister) -> Upstream:
    """The provider puts its HTTP API behind its product (again: replaces URL, header, secret; the price and
    quota are the product's offer, frozen in each contract).
    The secret is sealed with the vault's master key, bound to the product."""
    require_member(actor)
    product = listing.get_product(session, actor, product_id=product_id)
    if product.member_id != actor.member_id:
        raise not_found("产品", "product")
    if not settings.gateway.allow_private_upstreams and _private_host(data.base_url):
        raise InvalidInput("上游地址不能是本机、内网或链路本地地址", "the upstream may not be a loopback, private or "
                           "link-local address", code="private_upstream")
    master = crypto.master_key(session, settings)
    sealed = master.wrap(data.secret.encode(), context=store.secret_context(product.id))
    upstream = session.scalar(select(Upstream).where(Upstream.product_id == product.id))
    now = utcnow()
    if upstream is None:
        upstream = Upstream(product_id=product.id, member_id=actor.member_id, created_at=now)
        session.add(upstream)
    upstream.base_url = data.base_url
    upstream.auth_header = data.auth_header
    upstream.master_key_id = master.id
    upstream.sealed_secret = sealed
    upstream.updated_at = now
    session.flush()
    audit.record(session, subject_type="gateway_upstream", subject_id=upstream.id, change={
        "product_id": product.id, "base_url": data.base_url, "auth_header": data.auth_header,
        "secret": "(sealed)"})
    return upstream


def _private_host(base_url: str) -> bool:
    """A literal IP (or localhost) in a private range. Names are not resolved here: a name that
    resolves to a private address is the network's firewall to stop (documented limit)."""
    host = urlsplit(base_url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local or address.is_unspecified


@query
def get_upstream(session: Session, actor: Actor, *, product_id: int) -> Upstream:
    """The provider's own upstream (never its secret)."""
    upstream = session.scalar(select(Upstream).where(Upstream.product_id == product_id))
    if upstream is None or not (upstream.member_id == actor.member_id or actor.is_operator):
        raise not_found("上游接口", "upstream")
    return upstream


@query
def list_upstreams(session: Session, actor: Actor) -> Sequence[Upstream]:
    return session.scalars(select(Upstream).where(Upstream.member_id == actor.member_id)
                           .order_by(Upstream.id.desc())).all()


@command("gateway.key.create")
def create_api_key(session: Session, actor: Actor, *, order_id: int) -> tuple[ApiKey, str]:
    """A new API key for the buyer's contract, shown once; the contract's earlier keys are revoked
    (rotation). Returns the key row and the key itself."""
    require_member(actor)
    grant = usage.authorize_use(session, actor, order_id=order_id, action="call")
    if session.scalar(select(Upstream.id).where(Upstream.product_id == grant.product_id)) is None:
        raise Conflict("该产品未接入 API 网关", "this product has no API behind the gateway", code="no_upstream")
    now = utcnow()
    revoked = session.execute(update(ApiKey).where(ApiKey.order_id == order_id, ApiKey.revoked_at.is_(None))
                              .values(revoked_at=now)).rowcount
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(order_id=order_id, member_id=actor.member_id, prefix=key[:12], key_sha256=store.key_sha256(key),
                 created_at=now)
    session.add(row)
    session.flush()
    audit.record(session, subject_type="gateway_api_key", subject_id=row.id,
                 change={"order_id": order_id, "prefix": row.prefix, "revoked_earlier": revoked})
    return row, key


@query
def list_api_keys(session: Session, actor: Actor, *, order_id: int) -> Sequence[ApiKey]:
    order = market.get_order(session, actor, order_id=order_id)
    if actor.member_id != order.buyer_member_id:
        raise not_found("订单", "order")
    return session.scalars(select(ApiKey).where(ApiKey.order_id == order_id).order_by(ApiKey.id.desc())).all()


def _percentile(sorted_values: list[int], p: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(p * (len(sorted_values) - 1))))
    return sorted_values[index] / 1000


@query
def contract_usage(session: Session, actor: Actor, *, order_id: int, days: int = 31, now: dt.datetime | None = None) -> dict:
    """The contract's usage as both sides see it: calls per day, status codes, bytes, latency
    p50/p99 (gateway-side, milliseconds) over the last ``days`` days, and the current period's quota."""
    order = market.get_order(session, actor, order_id=order_id)  # buyer, provider or operator
    now = now or utcnow()
    since = now - dt.timedelta(days=days)
    rows = session.execute(select(Call.at, Call.status, Call.forwarded, Call.bytes_in, Call.bytes_out,
                                  Call.latency_us).where(Call.order_id == order.id, Call.at >= since)
                           .execution_options(yield_per=5000))
    per_day: dict[str, Counter] = defaultdict(Counter)
    statuses: Counter = Counter()
    latencies: list[int] = []
    for at, status, forwarded, b_in, b_out, latency in rows:
        day = per_day[at.date().isoformat()]
        good = core.billable(status, forwarded)
        day.update(calls=1, billable=int(good), errors=int(status >= 400), bytes_in=b_in, bytes_out=b_out)
        statuses[str(status)] += 1
        latencies.append(latency)
    latencies.sort()
    period = session.execute(select(Period).where(Period.order_id == order.id, Period.period_start <= now,
                                                  Period.period_end > now)).scalar_one_or_none()
    period_calls = 0
    if period is not None:
        period_calls = session.scalar(select(func.count()).select_from(Call).where(
            Call.order_id == order.id, Call.forwarded.is_(True), Call.at >= period.period_start,
            Call.at < period.period_end)) or 0
    quota = period.quota if period is not None else None
    return {
        "order_id": order.id, "calls": sum(d["calls"] for d in per_day.values()),
        "billable_calls": sum(d["billable"] for d in per_day.values()),
        "bytes_in": sum(d["bytes_in"] for d in per_day.values()),
        "bytes_out": sum(d["bytes_out"] for d in per_day.values()),
        "latency_p50_ms": _percentile(latencies, 0.50), "latency_p99_ms": _percentile(latencies, 0.99),
        "statuses": dict(sorted(statuses.items())),
        "days": [{"day": day, **{k: c[k] for k in ("calls", "billable", "errors", "bytes_in", "bytes_out")}}
                 for day, c in sorted(per_day.items())],
        "period_start": period.period_start if period else None, "period_end": period.period_end if period else None,
        "period_calls": period_calls, "quota": quota,
        "quota_left": None if quota is None else max(0, quota - period_calls),
    }


def _bill_period(session: Session, period: Period, *, fee_rate_bp: int, now: dt.datetime) -> Statement:
    order = market.get_order(session, SYSTEM, order_id=period.order_id)
    in_period = (Call.order_id == period.order_id, Call.at >= period.period_start, Call.at < period.period_end)
    total, good = session.execute(select(
        func.count(), func.coalesce(func.sum(case((Call.forwarded.is_(True) & (Call.status < 500), 1), else_=0)), 0))
        .where(*in_period)).one()
    plan = store.plan_of_period(period.plan_json)
    amount, lines = core.charge(plan, int(good))
    fee = ledger_core.fee_for(amount, fee_rate_bp)
    statement = Statement(order_id=order.id, buyer_member_id=order.buyer_member_id,
                          provider_member_id=order.provider_member_id, period_start=period.period_start,
                          period_end=period.period_end, calls_total=int(total), calls_billable=int(good),
                          amount_fen=amount, fee_fen=fee, lines_json=json.dumps([asdict(x) for x in lines]),
                          status="nothing_due" if amount == 0 else "unpaid", created_at=now)
    session.add(statement)
    period.billed = True
    session.flush()
    if amount:
        _try_to_pay(session, statement, now=now)
    audit.record(session, subject_type="gateway_statement", subject_id=statement.id, change={
        "order_id": order.id, "period_start": period.period_start.isoformat(),
        "period_end": period.period_end.isoformat(), "calls_billable": statement.calls_billable,
        "amount_fen": amount, "fee_fen": fee, "status": statement.status, "ledger_entry": statement.ledger_key})
    return statement


def _try_to_pay(session: Session, statement: Statement, *, now: dt.datetime) -> bool:
    """Post the statement's entry, or leave it unpaid if the buyer's wallet is short (the contract is
    then suspended at the gateway until the buyer pays it)."""
    key = f"gateway:{statement.order_id}:{statement.period_start.isoformat()}"
    entry = ledger_core.usage_charge(key, ledger_core.wallet_code(statement.buyer_member_id),
                                     ledger_core.wallet_code(statement.provider_member_id), ledger_core.FEES,
                                     statement.amount_fen, statement.fee_fen)
    try:
        with session.begin_nested():
            ledger.post(session, entry, memo=f"API 调用费 合约 {statement.order_id}")
    except ledger.InsufficientFunds:
        return False
    statement.status, statement.ledger_key, statement.paid_at = "paid", key, now
    session.flush()
    return True


@command("gateway.bill")
def bill_ended_periods(session: Session, actor: Actor, *, settings: Settings, now: dt.datetime | None = None,
                       limit: int = 1000) -> list[Statement]:
    """Bill every period that ended at least ``gateway.bill_grace_seconds`` ago and is not billed:
    billable calls (see :func:`core.billable`) priced by the plan in force (tiers cumulative), paid
    from the buyer's wallet to the provider's less the exchange fee. Billing twice bills nothing:
    the period is marked billed, the statement is unique per contract and period, and so is the
    ledger entry's idempotency key."""
    require_system(actor)
    now = now or utcnow()
    due = session.scalars(select(Period).where(
        Period.billed.is_(False),
        Period.period_end <= now - dt.timedelta(seconds=settings.gateway.bill_grace_seconds))
        .order_by(Period.period_end, Period.id).limit(limit).with_for_update(skip_locked=True)).all()
    statements = [_bill_period(session, period, fee_rate_bp=settings.market.fee_rate_bp, now=now) for period in due]
    if not statements:
        audit.record(session, subject_type="gateway_billing", subject_id="run",
                     change={"at": now.isoformat(), "statements": 0})
    return statements


@command("gateway.statement.pay")
def pay_statement(session: Session, actor: Actor, *, statement_id: int) -> Statement:
    """The buyer pays an unpaid statement (after topping up its wallet); the contract resumes."""
    require_member(actor)
    statement = session.get(Statement, statement_id, with_for_update=True)
    if statement is None or statement.buyer_member_id != actor.member_id:
        raise not_found("对账单", "statement")
    if statement.status != "unpaid":
        raise Conflict("对账单无需支付", f"the statement is {statement.status}", code="bad_state")
    if not _try_to_pay(session, statement, now=utcnow()):
        raise ledger.InsufficientFunds("可用余额不足，请先充值", "insufficient balance; top up first")
    audit.record(session, subject_type="gateway_statement", subject_id=statement.id,
                 change={"status": {"from": "unpaid", "to": "paid"}, "ledger_entry": statement.ledger_key})
    return statement


@query
def list_statements(session: Session, actor: Actor, *, order_id: int) -> Sequence[Statement]:
    market.get_order(session, actor, order_id=order_id)
    return session.scalars(select(Statement).where(Statement.order_id == order_id)
                           .order_by(Statement.period_start.desc())).all()


@query
def get_statement(session: Session, actor: Actor, *, statement_id: int) -> Statement:
    statement = session.get(Statement, statement_id)
    if statement is None or not (actor.is_operator or actor.member_id in (statement.buyer_member_id,
                                                                         statement.provider_member_id)):
        raise not_found("对账单", "statement")
    return statement


@query
def contracts_with_api(session: Session, actor: Actor) -> list[dict]:
    """The member's API contracts, as buyer and as provider, for the usage pages."""
    out = []
    for as_provider in (False, True):
        for order in market.list_orders(session, actor, as_provider=as_provider):
            if order.status in market.DELIVERABLE and session.scalar(
                    select(Upstream.id).where(Upstream.product_id == order.product_id)) is not None:
                out.append({"order_id": order.id, "product_id": order.product_id,
                            "role": "provider" if as_provider else "buyer", "status": order.status})
    return out

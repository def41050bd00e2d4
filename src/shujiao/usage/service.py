"""Usage-control commands and the one check every delivery point makes.

INTERFACE (fixed): ``authorize_use`` and ``Grant`` are what the file download, the API gateway and
the Delta Sharing server call. The contract id is the order id.

A contract (``usage_contract``) is made in the transaction that pays an order (``open_contract``,
called by ``market.pay_order``): the offer frozen in the order's snapshot, the buyer's declared
purpose, the window from payment and the ODRL Agreement. A refund revokes it
(``revoke_for_refund``); the operator, or the provider with a reason, may revoke it
(``revoke_contract``).

Subscriptions: the order pays the first period (window = ``period_days``). ``renew_contract`` by
the buyer creates and pays a new order for the same product and chains its contract to the first
one (``root_order_id``); the new window starts where the chain's last one ends (or now, if it has
lapsed). The first order's id stays the contract number for every delivery point; the chain's
period that holds "now" is the one checked. A renewal order is delivered at once (access simply
continues), so its escrow settles through the usual acceptance period.

Status ``expired`` is computed (the chain's last window has ended), not stored: nothing has to run
at the end of a window for the refusal to be right.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from shujiao.audit import service as audit
from shujiao.commands import (
    Actor, allow_anyone, authorize, command, inside_command, query, require_member, require_user, self_recording,
)
from shujiao.db import utcnow
from shujiao.errors import Conflict, InvalidInput, not_found
from shujiao.listing import service as listing
from shujiao.market import service as market
from shujiao.usage import odrl
from shujiao.usage.errors import UsageDenied, UsageNotFound
from shujiao.usage.models import Contract, Denial
from shujiao.usage.offer import PURPOSES, Offer

__all__ = ["Action", "Grant", "UsageDenied", "UsageNotFound", "authorize_use"]

# file download, Delta Sharing read, gateway call, sandbox job or private set intersection
Action = Literal["download", "read", "call", "compute"]
MODE_OF_ACTION = {"download": "file", "read": "delta_sharing", "call": "api", "compute": "sandbox"}

_contract = Contract.__table__
_denial = Denial.__table__
# One statement takes downloads: the check and the increment cannot interleave with another
# download of the same contract (of two concurrent downloads of the last one, one gets no row).
_TAKE_DOWNLOADS = (
    update(_contract)
    .where(_contract.c.order_id == bindparam("contract_order_id"), _contract.c.status == "active",
           (_contract.c.max_downloads.is_(None))
           | (_contract.c.downloads_used + bindparam("n") <= _contract.c.max_downloads))
    .values(downloads_used=_contract.c.downloads_used + bindparam("n"))
    .returning(_contract.c.downloads_used)
)


# A contract's whole chain (its first period first) from any of its order ids.
_CHAIN_OF_ORDER = (
    select(Contract)
    .where(Contract.root_order_id == select(_contract.c.root_order_id)
           .where(_contract.c.order_id == bindparam("order_id")).scalar_subquery())
    .order_by(Contract.starts_at, Contract.order_id)
)


@dataclass(frozen=True)
class Grant:
    """A live contract as a delivery point needs it."""

    order_id: int  # the contract number (合约号) is the order id
    buyer_member_id: int
    provider_member_id: int
    product_id: int
    dataset_id: int
    offer: Offer  # frozen at payment
    starts_at: dt.datetime
    ends_at: dt.datetime | None  # end of the dateTime window; None = no end


@query
def offer_of(snapshot_json: str) -> Offer:
    """The offer an order's snapshot froze; orders from before offers existed get the default."""
    return Offer.model_validate(json.loads(snapshot_json).get("offer") or {})



def _window(offer: Offer, starts_at: dt.datetime) -> dt.datetime | None:
    days = offer.plan.period_days if offer.plan.kind == "subscription" else offer.terms.term_days
    return starts_at + dt.timedelta(days=days) if days else None


def _agreement(contract: Contract, offer: Offer) -> str:
    return json.dumps(odrl.agreement_policy(
        order_id=contract.root_order_id, product_id=contract.product_id,
        provider_member_id=contract.provider_member_id, buyer_member_id=contract.buyer_member_id, offer=offer,
        purpose=contract.purpose, starts_at=contract.starts_at, ends_at=contract.ends_at), ensure_ascii=False)


@query
def check_purpose(offer: Offer, purpose: str) -> None:
    """A purpose the buyer declares at order time must be on the offer's list (any listed purpose
    of the controlled list when the offer names none); "" declares none."""
    if purpose and purpose not in (offer.terms.purposes or PURPOSES):
        raise InvalidInput("所选用途不在该产品允许的用途范围内", "the purpose is not one the offer allows",
                           code="purpose_not_allowed")


@inside_command
def open_contract(session: Session, *, order: Any) -> Contract:
    """The paid order's contract, in the paying transaction."""
    offer = offer_of(order.snapshot_json)
    contract = Contract(
        order_id=order.id, root_order_id=order.id, buyer_member_id=order.buyer_member_id,
        provider_member_id=order.provider_member_id, product_id=order.product_id, dataset_id=order.dataset_id,
        offer_json=offer.model_dump_json(), purpose=order.purpose, starts_at=order.paid_at,
        ends_at=_window(offer, order.paid_at), max_downloads=offer.terms.max_downloads, downloads_used=0,
        status="active", created_at=utcnow(), revoke_reason="")
    contract.agreement_json = _agreement(contract, offer)
    session.add(contract)
    session.flush()
    audit.record(session, subject_type="contract", subject_id=order.id, change={
        "status": "active", "starts_at": contract.starts_at, "ends_at": contract.ends_at,
        "max_downloads": contract.max_downloads, "purpose": contract.purpose})
    return contract


def _revoke_chain(session: Session, root_order_id: int, reason: str) -> list[int]:
    now = utcnow()
    revoked = session.execute(
        update(_contract).where(_contract.c.root_order_id == root_order_id, _contract.c.status == "active")
        .values(status="revoked", revoked_at=now, revoke_reason=reason[:1000]).returning(_contract.c.order_id)
    ).scalars().all()
    for order_id in revoked:
        obj = session.identity_map.get(session.identity_key(Contract, (order_id,)))
        if obj is not None:
            session.expire(obj)
    return sorted(revoked)


@inside_command
def revoke_for_refund(session: Session, *, order_id: int, reason: str) -> None:
    """A refunded order's contract (one period of a chain, or the whole chain when the first
    order is refunded) ends at once."""
    contract = session.get(Contract, order_id)
    if contract is None:
        return
    if contract.root_order_id == order_id:
        revoked = _revoke_chain(session, order_id, f"refund: {reason}")
    else:
        revoked = session.execute(
            update(_contract).where(_contract.c.order_id == order_id, _contract.c.status == "active")
            .values(status="revoked", revoked_at=utcnow(), revoke_reason=f"refund: {reason}"[:1000])
            .returning(_contract.c.order_id)).scalars().all()
        session.expire(contract)
    if revoked:
        audit.record(session, subject_type="contract", subject_id=contract.root_order_id,
                     change={"status": {"from": "active", "to": "revoked"}, "orders": revoked, "reason": "refund"})


def _chain(session: Session, root_order_id: int) -> list[Contract]:
    return list(session.scalars(select(Contract).where(Contract.root_order_id == root_order_id)
                                .order_by(Contract.starts_at, Contract.order_id)).all())


def _party_contract(session: Session, actor: Actor, order_id: int) -> Contract:
    """The first contract of the chain ``order_id`` belongs to, for its buyer, its provider and the
    operator; 404 for anyone else."""
    contract = session.get(Contract, order_id)
    if contract is not None and contract.root_order_id != contract.order_id:
        contract = session.get(Contract, contract.root_order_id)
    if contract is None or not (actor.is_operator or actor.member_id in (contract.buyer_member_id,
                                                                         contract.provider_member_id)):
        raise not_found("合约", "contract")
    return contract


@command("usage.contract.revoke")
def revoke_contract(session: Session, actor: Actor, *, order_id: int, reason: str) -> Contract:
    """The operator, or the provider giving a reason, ends a contract (every period of it)."""
    require_user(actor)
    contract = _party_contract(session, actor, order_id)
    authorize(actor.is_operator or actor.member_id == contract.provider_member_id,
              "只有数据提供方或交易所可撤销合约", "only the provider or the exchange may revoke a contract")
    if not actor.is_operator and len(reason.strip()) < 2:
        raise InvalidInput("撤销合约须说明理由", "revoking a contract needs a reason", code="reason_required")
    revoked = _revoke_chain(session, contract.root_order_id, reason.strip())
    if not revoked:
        raise Conflict("合约已撤销", "the contract is already revoked", code="bad_state")
    audit.record(session, subject_type="contract", subject_id=contract.root_order_id,
                 change={"status": {"from": "active", "to": "revoked"}, "orders": revoked, "reason": reason.strip()})
    session.refresh(contract)
    return contract


@command("usage.contract.renew")
def renew_contract(session: Session, actor: Actor, *, order_id: int) -> Contract:
    """The buyer buys the next period of a subscription (see the module docstring)."""
    require_member(actor)
    root = _party_contract(session, actor, order_id)
    authorize(actor.member_id == root.buyer_member_id, "只有买方可续订", "only the buyer renews a subscription")
    offer = Offer.model_validate_json(root.offer_json)
    if offer.plan.kind != "subscription":
        raise Conflict("该合约不是订阅合约，不能续订", "only a subscription can be renewed", code="not_subscription")
    # Two renewals at once would both start where the chain ends now: the root's row lock orders them.
    session.execute(select(_contract.c.order_id).where(_contract.c.order_id == root.order_id).with_for_update())
    chain = _chain(session, root.order_id)
    if any(c.status == "revoked" for c in chain if c.order_id == root.order_id):
        raise Conflict("合约已撤销，不能续订", "a revoked contract cannot be renewed", code="bad_state")
    order = market.create_order(session, actor, product_id=root.product_id, purpose=root.purpose)
    market.pay_order(session, actor, order_id=order.id)
    market.record_delivery(session, actor, order_id=order.id)
    contract = session.get(Contract, order.id)
    assert contract is not None
    renewed_offer = Offer.model_validate_json(contract.offer_json)
    last_end = max((c.ends_at for c in chain if c.ends_at is not None), default=None)
    contract.root_order_id = root.order_id
    contract.starts_at = max(last_end, contract.starts_at) if last_end else contract.starts_at
    contract.ends_at = _window(renewed_offer, contract.starts_at)
    contract.agreement_json = _agreement(contract, renewed_offer)
    session.flush()
    audit.record(session, subject_type="contract", subject_id=root.order_id, change={
        "renewed_by_order": order.id, "starts_at": contract.starts_at, "ends_at": contract.ends_at})
    return contract


def _current(chain: list[Contract], now: dt.datetime) -> tuple[Contract | None, str | None]:
    """The chain's period holding ``now`` or the rule that refuses: revoked, not_started, window_ended."""
    if any(c.status == "revoked" and c.order_id == c.root_order_id for c in chain):  # the whole chain ends
        return None, "revoked"
    for contract in chain:
        if contract.starts_at <= now and (contract.ends_at is None or now < contract.ends_at):
            return (contract, None) if contract.status == "active" else (None, "revoked")
    if all(c.starts_at > now for c in chain):
        return None, "not_started"
    return None, "window_ended"


@query
def authorize_use(session: Session, actor: Actor, *, order_id: int, action: Action, count: int = 1) -> Grant:
    """The contract ``order_id`` as ``actor`` may use it for ``action`` now, or a refusal.

    Refusals: 404 (:class:`UsageNotFound`) for anyone but the buyer; 403 ``usage_denied``
    (:class:`UsageDenied`, with the rule: window_ended, not_started, count_exhausted,
    mode_not_allowed, revoked). Each refusal is logged by the app's handler after the request
    rolls back. For ``download``, ``count`` downloads are taken from the contract atomically in the
    caller's transaction (``count=0`` checks without taking one: issuing a link). Calls and reads
    are metered by the gateway and the sharing server, not here. Orders paid before contracts
    existed have none: they deliver as before, under the default offer with no end."""
    chain = list(session.scalars(_CHAIN_OF_ORDER, {"order_id": order_id}).all())  # one query on the way in
    if not chain:
        order = market.deliverable_order(session, actor, order_id=order_id)
        return Grant(order_id=order.id, buyer_member_id=order.buyer_member_id,
                     provider_member_id=order.provider_member_id, product_id=order.product_id,
                     dataset_id=order.dataset_id, offer=Offer(), starts_at=order.paid_at, ends_at=None)
    root_id = chain[0].root_order_id
    if actor.member_id is None or actor.member_id != chain[0].buyer_member_id:
        raise UsageNotFound(actor, order_id=root_id, action=action)
    current, rule = _current(chain, utcnow())
    if current is None:
        if rule == "revoked":  # a refunded order is refused as before contracts existed (409)
            market.deliverable_order(session, actor, order_id=root_id)
        raise UsageDenied(actor, order_id=root_id, action=action, rule=rule or "revoked")
    offer = Offer.model_validate_json(current.offer_json)
    if MODE_OF_ACTION[action] not in offer.terms.delivery_modes:
        raise UsageDenied(actor, order_id=root_id, action=action, rule="mode_not_allowed")
    if action == "download" and count > 0:
        taken = session.execute(_TAKE_DOWNLOADS, {"contract_order_id": current.order_id, "n": count}).first()
        if taken is None:
            raise UsageDenied(actor, order_id=root_id, action=action, rule="count_exhausted")
        set_committed_value(current, "downloads_used", taken.downloads_used)  # as the UPDATE left it
    elif action == "download" and current.max_downloads is not None and current.downloads_used >= current.max_downloads:
        raise UsageDenied(actor, order_id=root_id, action=action, rule="count_exhausted")
    return Grant(order_id=root_id, buyer_member_id=current.buyer_member_id,
                 provider_member_id=current.provider_member_id, product_id=current.product_id,
                 dataset_id=current.dataset_id, offer=offer, starts_at=current.starts_at, ends_at=current.ends_at)


@command("usage.denial.record")
def record_denial(session: Session, actor: Actor, *, order_id: int, action: str, rule: str) -> int:
    """Log a refused use (a 403) in its own transaction: a denial row and an audit record."""
    allow_anyone()  # the record is of the actor's own refused request
    denial_id = session.execute(insert(_denial).returning(_denial.c.id), {
        "order_id": order_id, "member_id": actor.member_id, "user_id": actor.user_id, "action": action[:16],
        "rule": rule[:32], "occurred_at": utcnow()}).scalar_one()
    audit.record(session, subject_type="contract", subject_id=order_id,
                 change={"denied": {"action": action, "rule": rule, "denial_id": denial_id}})
    return denial_id


@self_recording
def record_outsider(session: Session, actor: Actor, *, order_id: int, action: str) -> int:
    """Log an outsider's attempt (their 404) in the denial table only. The row is its own
    insert-only record; no audit record, so that an outsider's probe leaves the audited history
    (which the parties read) exactly as it was."""
    return session.execute(insert(_denial).returning(_denial.c.id), {
        "order_id": order_id, "member_id": actor.member_id, "user_id": actor.user_id, "action": action[:16],
        "rule": "not_buyer", "occurred_at": utcnow()}).scalar_one()


@dataclass(frozen=True)
class ContractView:
    contract: Contract  # the chain's first contract (its order id is the contract number)
    periods: list[Contract]
    status: str  # active | revoked | expired | pending (the first period has not started)
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    max_downloads: int | None
    downloads_used: int
    offer: Offer
    policy_zh: list[str]


@query
def get_contract(session: Session, actor: Actor, *, order_id: int) -> ContractView:
    """A contract as its buyer, its provider and the operator see it; 404 for anyone else."""
    root = _party_contract(session, actor, order_id)
    chain = _chain(session, root.order_id)
    now = utcnow()
    current, rule = _current(chain, now)
    shown = current or chain[-1]
    status = "active" if current else {"revoked": "revoked", "not_started": "pending"}.get(rule or "", "expired")
    offer = Offer.model_validate_json(shown.offer_json)
    ends = max((c.ends_at for c in chain), default=None) if all(c.ends_at for c in chain) else None
    return ContractView(contract=root, periods=chain, status=status, starts_at=chain[0].starts_at, ends_at=ends,
                        max_downloads=shown.max_downloads, downloads_used=shown.downloads_used, offer=offer,
                        policy_zh=odrl.describe_zh(offer, purpose=root.purpose, starts_at=chain[0].starts_at,
                                                   ends_at=ends))


@query
def agreement_of(session: Session, actor: Actor, *, order_id: int) -> dict[str, Any]:
    """The ODRL Agreement of the contract's current period (the latest one if none is current)."""
    root = _party_contract(session, actor, order_id)
    chain = _chain(session, root.order_id)
    current, _ = _current(chain, utcnow())
    return json.loads((current or chain[-1]).agreement_json)


@query
def contract_for_order(session: Session, actor: Actor, *, order_id: int) -> ContractView | None:
    """For the order page: the order's contract if it has one (the caller has authorized the actor
    on the order)."""
    if session.get(Contract, order_id) is None:
        return None
    return get_contract(session, actor, order_id=order_id)


@query
def denials(session: Session, actor: Actor, *, order_id: int, limit: int = 100) -> Sequence[Denial]:
    """The logged refusals of a contract, for its parties and the operator."""
    root = _party_contract(session, actor, order_id)
    return session.scalars(select(Denial).where(Denial.order_id == root.order_id)
                           .order_by(Denial.id.desc()).limit(limit)).all()


@query
def product_offer(session: Session, actor: Actor, *, product_id: int) -> dict[str, Any]:
    """A product's ODRL Offer: public for a listed product, like the product itself."""
    product = listing.get_product(session, actor, product_id=product_id)
    return odrl.offer_policy(product_id=product.id, version=product.version, provider_member_id=product.member_id,
                             offer=listing.offer_of(product))

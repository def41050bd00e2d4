"""A member's data assets in its books (数据资源入表) after 财会〔2023〕11号.

An asset card is created by the member, or by the exchange itself when an order of the member is
settled (the purchase flows in, ``record_order_purchase``). Its costs, R&D spending, impairments,
sales and derecognition are insert-only entries; the figures, the amortization schedule and the
disclosure tables are computed from them by ``core`` and never stored. Every asset belongs to one
member and nobody else sees it (404).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shujiao.accounting import core, workbook
from shujiao.accounting.models import Asset, Entry, Policy
from shujiao.accounting.schemas import (
    AssetCreate, Classify, EntryCreate, Figures, PolicyRead, PolicyUpdate, ReadyForUse, Reversal,
)
from shujiao.audit import service as audit
from shujiao.catalog import service as catalog
from shujiao.commands import Actor, command, inside_command, query, require_member
from shujiao.db import utcnow
from shujiao.errors import Conflict, InvalidInput, not_found
from shujiao.listing import service as listing
from shujiao.members import service as members

# Books are kept by the calendar of the members, all in mainland China (one time zone, no DST).
CHINA = dt.timezone(dt.timedelta(hours=8), "CST")
REVERSIBLE = ("cost", "research", "development", "impairment", "impairment_reversal", "sale")


@query
def today() -> dt.date:
    return utcnow().astimezone(CHINA).date()


def _books_of(actor: Actor, member_id: int | None) -> int:
    """Whose books the actor reads: its own member's; a system job (the CLI) names the member."""
    if actor.is_system and member_id is not None:
        return member_id
    if actor.kind != "user" or actor.member_id is None or actor.is_operator:
        raise not_found("会员账簿", "books")
    if member_id not in (None, actor.member_id):
        raise not_found("会员账簿", "books")
    return actor.member_id


def _own_asset(session: Session, actor: Actor, asset_id: int, *, for_update: bool = False) -> Asset:
    stmt = select(Asset).where(Asset.id == asset_id)
    asset = session.scalar(stmt.with_for_update() if for_update else stmt)
    if asset is None or asset.member_id != _books_of(actor, asset.member_id if actor.is_system else None):
        raise not_found("数据资产", "data asset")
    return asset


def _entries(session: Session, asset_ids: Sequence[int]) -> dict[int, list[Entry]]:
    found: dict[int, list[Entry]] = {i: [] for i in asset_ids}
    if asset_ids:
        for entry in session.scalars(select(Entry).where(Entry.asset_id.in_(asset_ids))
                                     .order_by(Entry.occurred_on, Entry.id)):
            found[entry.asset_id].append(entry)
    return found


def _facts(asset: Asset, entries: Sequence[Entry], extra: Sequence[core.Event] = (), **changes: Any) -> core.Asset:
    """The pure view of an asset (``core.Asset``), optionally with a candidate entry or change."""
    values = dict(id=asset.id, classification=asset.classification, acquisition=asset.acquisition,
                  useful_life_months=asset.useful_life_months, ready_for_use_on=asset.ready_for_use_on,
                  name=asset.name)
    values.update(changes)
    events = tuple(core.Event(e.occurred_on, e.entry_type, e.amount_fen, e.detail) for e in entries)  # type: ignore[arg-type]
    return core.Asset(events=events + tuple(extra), **values)  # type: ignore[arg-type]


def _refuse_unsound(candidate: core.Asset) -> None:
    found = core.problems(candidate)
    if found:
        raise InvalidInput("；".join(zh for zh, _ in found), "; ".join(en for _, en in found), code="unsound_entry")


def _link(session: Session, actor: Actor, data: AssetCreate) -> None:
    """The linked resource and dataset must be the member's own; a product must be visible to it
    (its own, or one listed on the exchange that it bought)."""
    if data.resource_id is not None:
        catalog.get_resource(session, actor, resource_id=data.resource_id)
    if data.dataset_id is not None:
        dataset = catalog.get_dataset(session, actor, dataset_id=data.dataset_id)
        if data.resource_id is not None and dataset.resource_id != data.resource_id:
            raise InvalidInput("数据集不属于该数据资源", "the dataset does not belong to the resource",
                               code="dataset_resource_mismatch")
    if data.product_id is not None:
        listing.get_product(session, actor, product_id=data.product_id)


def _card(asset: Asset) -> dict[str, Any]:
    return {"name": asset.name, "classification": asset.classification, "acquisition": asset.acquisition,
            "useful_life_months": asset.useful_life_months,
            "ready_for_use_on": asset.ready_for_use_on.isoformat() if asset.ready_for_use_on else None,
            "resource_id": asset.resource_id, "dataset_id": asset.dataset_id, "product_id": asset.product_id,
            "status": asset.status}


# --- commands ---------------------------------------------------------------------------------

@command("accounting.asset.create")
def create_asset(session: Session, actor: Actor, *, data: AssetCreate) -> Asset:
    """A new asset card. An intangible's useful life should weigh, besides CAS 6's factors, the
    business model, rights restrictions, update frequency and timeliness, product and technology
    iteration and competing products (暂行规定 二、2)."""
    require_member(actor)
    _link(session, actor, data)
    now = utcnow()
    asset = Asset(member_id=actor.member_id, name=data.name, description=data.description,
                  resource_id=data.resource_id, dataset_id=data.dataset_id, product_id=data.product_id,
                  classification=data.classification, acquisition=data.acquisition,
                  useful_life_months=data.useful_life_months, ready_for_use_on=data.ready_for_use_on,
                  status="active", created_at=now, classified_at=None if data.classification == "pending" else now)
    session.add(asset)
    session.flush()
    audit.record(session, subject_type="accounting_asset", subject_id=asset.id, change={"created": _card(asset)})
    return asset


@command("accounting.asset.classify")
def classify_asset(session: Session, actor: Actor, *, asset_id: int, data: Classify) -> Asset:
    """Classify a pending asset as 无形资产 or 存货 (once: a later change is a new card, not an edit)."""
    require_member(actor)
    asset = _own_asset(session, actor, asset_id, for_update=True)
    if asset.classification != "pending":
        raise Conflict("资产已分类", f"the asset is already classified as {asset.classification}",
                       code="already_classified")
    entries = _entries(session, [asset.id])[asset.id]
    _refuse_unsound(_facts(asset, entries, classification=data.classification,
                          useful_life_months=data.useful_life_months, ready_for_use_on=data.ready_for_use_on))
    asset.classification = data.classification
    asset.useful_life_months = data.useful_life_months
    asset.ready_for_use_on = data.ready_for_use_on
    asset.classified_at = utcnow()
    session.flush()
    audit.record(session, subject_type="accounting_asset", subject_id=asset.id, change={"classified": _card(asset)})
    return asset


@command("accounting.asset.ready")
def mark_ready_for_use(session: Session, actor: Actor, *, asset_id: int, data: ReadyForUse) -> Asset:
    """A self-developed intangible reaches its intended use: its development spending leaves
    开发支出 for the intangible's cost (内部研发) and amortization starts."""
    require_member(actor)
    asset = _own_asset(session, actor, asset_id, for_update=True)
    if asset.classification != "intangible" or asset.ready_for_use_on is not None:
        raise Conflict("只有尚未达到预定用途的无形资产可以标记", "only an intangible not yet in use can be marked ready",
                       code="bad_state")
    entries = _entries(session, [asset.id])[asset.id]
    life = data.useful_life_months or asset.useful_life_months
    _refuse_unsound(_facts(asset, entries, ready_for_use_on=data.ready_for_use_on, useful_life_months=life))
    asset.ready_for_use_on = data.ready_for_use_on
    asset.useful_life_months = life
    session.flush()
    audit.record(session, subject_type="accounting_asset", subject_id=asset.id, change={"ready": _card(asset)})
    return asset


def _insert_entry(session: Session, actor: Actor, asset: Asset, *, entry_type: str, detail: str, amount_fen: int,
                  occurred_on: dt.date, note: str, source: str | None = None,
                  reverses_entry_id: int | None = None) -> Entry:
    entry = Entry(asset_id=asset.id, member_id=asset.member_id, entry_type=entry_type, detail=detail,
                  amount_fen=amount_fen, occurred_on=occurred_on, source=source, reverses_entry_id=reverses_entry_id,
                  note=note, created_by=actor.label, created_at=utcnow())
    session.add(entry)
    if entry_type == "disposal":
        asset.status = "derecognized"
    session.flush()
    audit.record(session, subject_type="accounting_entry", subject_id=entry.id, change={
        "asset_id": asset.id, "entry_type": entry_type, "detail": detail, "amount_fen": amount_fen,
        "occurred_on": occurred_on.isoformat(), "source": source, "reverses_entry_id": reverses_entry_id,
        "note": note})
    return entry


@command("accounting.entry.add")
def add_entry(session: Session, actor: Actor, *, asset_id: int, data: EntryCreate) -> Entry:
    """Record a cost, R&D spending, an impairment (or an inventory write-down reversed), a sale of
    inventory, or the derecognition; refused when the books would no longer hold together."""
    require_member(actor)
    asset = _own_asset(session, actor, asset_id, for_update=True)
    if asset.classification == "pending" and data.entry_type not in ("cost", "research", "development"):
        raise Conflict("请先为资产分类", "classify the asset first", code="pending_classification")
    entries = _entries(session, [asset.id])[asset.id]
    _refuse_unsound(_facts(asset, entries, [core.Event(data.occurred_on, data.entry_type, data.amount_fen,
                                                      data.detail)]))
    return _insert_entry(session, actor, asset, entry_type=data.entry_type, detail=data.detail,
                         amount_fen=data.amount_fen, occurred_on=data.occurred_on, note=data.note)


@command("accounting.entry.reverse")
def reverse_entry(session: Session, actor: Actor, *, entry_id: int, data: Reversal) -> Entry:
    """Correct an entry by a reversing entry of the opposite amount (红字冲销); the original stays."""
    require_member(actor)
    original = session.get(Entry, entry_id)
    if original is None or original.member_id != actor.member_id or actor.is_operator:
        raise not_found("分录", "entry")
    asset = _own_asset(session, actor, original.asset_id, for_update=True)
    if original.entry_type not in REVERSIBLE or original.reverses_entry_id is not None:
        raise Conflict("该分录不能冲销", "this entry cannot be reversed (a derecognition or a reversal itself)",
                       code="not_reversible")
    if session.scalar(select(Entry.id).where(Entry.reverses_entry_id == original.id)) is not None:
        raise Conflict("该分录已冲销", "the entry is already reversed", code="already_reversed")
    entries = _entries(session, [asset.id])[asset.id]
    _refuse_unsound(_facts(asset, entries, [core.Event(data.occurred_on, original.entry_type,  # type: ignore[arg-type]
                                                      -original.amount_fen, original.detail)]))
    return _insert_entry(session, actor, asset, entry_type=original.entry_type, detail=original.detail,
                         amount_fen=-original.amount_fen, occurred_on=data.occurred_on, note=data.note,
                         reverses_entry_id=original.id)


@command("accounting.policy.set")
def set_policy(session: Session, actor: Actor, *, data: PolicyUpdate) -> Policy:
    """How purchases on the exchange flow in: pending (the default), or classified at once."""
    require_member(actor, admin=True)
    policy = session.get(Policy, actor.member_id)
    if policy is None:
        policy = Policy(member_id=actor.member_id)
        session.add(policy)
    policy.default_classification = data.default_classification
    policy.default_useful_life_months = data.default_useful_life_months
    policy.updated_at = utcnow()
    session.flush()
    audit.record(session, subject_type="accounting_policy", subject_id=actor.member_id, change=data.model_dump())
    return policy


@inside_command
def record_order_purchase(session: Session, *, order: Any) -> Entry | None:
    """A settled order of the exchange becomes a cost of the buyer's data asset (外购, cost kind
    purchase price), in the settling transaction. The buyer pays the order amount only: the
    exchange fee is taken from the provider's proceeds (``ledger.core.release_to_provider``), so it
    is no cost of the buyer's. Idempotent: the entry's source ``order:<id>`` is unique, and a second
    call returns the entry already there.

    The cost goes to the buyer's pending card of the same product if there is one, else to a new
    card — pending, or classified by the buyer's policy with the settlement day as the day it is
    ready for use.
    """
    source = f"order:{order.id}"
    existing = session.scalar(select(Entry).where(Entry.source == source))
    if existing is not None or not order.amount_fen:
        return existing
    settled_on = today()
    asset = session.scalar(select(Asset).where(
        Asset.member_id == order.buyer_member_id, Asset.product_id == order.product_id,
        Asset.classification == "pending", Asset.status == "active").order_by(Asset.id).limit(1).with_for_update())
    if asset is None:
        policy = session.get(Policy, order.buyer_member_id)
        classification = policy.default_classification if policy else "pending"
        title = json.loads(order.snapshot_json or "{}").get("title") or f"订单 {order.id} 购入的数据"
        asset = Asset(member_id=order.buyer_member_id, name=str(title)[:200],
                      description=f"交易所订单 {order.id} 购入 (bought on the exchange, order {order.id})",
                      product_id=order.product_id, classification=classification, acquisition="purchased",
                      useful_life_months=policy.default_useful_life_months if policy and
                      classification == "intangible" else None,
                      ready_for_use_on=settled_on if classification == "intangible" else None,
                      status="active", created_at=utcnow(),
                      classified_at=None if classification == "pending" else utcnow())
        session.add(asset)
        session.flush()
        audit.record(session, subject_type="accounting_asset", subject_id=asset.id,
                     change={"created": _card(asset), "from_order": order.id})
    system = Actor(kind="system", username="system")
    return _insert_entry(session, system, asset, entry_type="cost", detail="purchase_price",
                         amount_fen=order.amount_fen, occurred_on=settled_on, source=source,
                         note=f"交易所订单 {order.id} 结算 (order {order.id} settled)")


# --- queries ----------------------------------------------------------------------------------

@query
def list_assets(session: Session, actor: Actor, *, member_id: int | None = None) -> Sequence[Asset]:
    owner = _books_of(actor, member_id)
    return session.scalars(select(Asset).where(Asset.member_id == owner).order_by(Asset.id)).all()


@query
def get_asset(session: Session, actor: Actor, *, asset_id: int) -> Asset:
    return _own_asset(session, actor, asset_id)


@query
def asset_entries(session: Session, actor: Actor, *, asset_id: int) -> list[Entry]:
    return _entries(session, [_own_asset(session, actor, asset_id).id])[asset_id]


def _figures(pure: core.Asset, day: dt.date) -> Figures:
    left = core.balances(core.movements(pure), day)
    if pure.classification == "pending":  # not in the books yet, but its card shows what it cost so far
        left["cost"] = sum(e.amount_fen for e in pure.events if e.type == "cost" and e.on <= day)
    return Figures(cost_fen=left["cost"], accumulated_amortization_fen=left["amortization"],
                   impairment_fen=left["impairment"],
                   carrying_fen=left["cost"] - left["amortization"] - left["impairment"],
                   development_in_progress_fen=core.development_in_progress_fen(pure, day))


@query
def figures(session: Session, actor: Actor, *, asset_id: int, at: dt.date | None = None) -> Figures:
    """An asset's balances at the end of a day (today by default)."""
    asset = _own_asset(session, actor, asset_id)
    return _figures(_facts(asset, _entries(session, [asset.id])[asset.id]), at or today())


@query
def register_figures(session: Session, actor: Actor, *, at: dt.date | None = None) -> dict[int, Figures]:
    """Every asset's balances of the actor's member, by asset id, in one read of the books."""
    day = at or today()
    return {pure.id: _figures(pure, day) for pure in books(session, actor)}


@query
def schedule(session: Session, actor: Actor, *, asset_id: int) -> list[core.ScheduleLine]:
    asset = _own_asset(session, actor, asset_id)
    return core.amortization_schedule(_facts(asset, _entries(session, [asset.id])[asset.id]))


@query
def books(session: Session, actor: Actor, *, member_id: int | None = None) -> list[core.Asset]:
    """Every asset of the member as ``core.Asset`` values, entries included."""
    assets = list_assets(session, actor, member_id=member_id)
    entries = _entries(session, [a.id for a in assets])
    return [_facts(a, entries[a.id]) for a in assets]


def _period(start: dt.date, end: dt.date) -> None:
    if end < start:
        raise InvalidInput("期末早于期初", "the period ends before it starts", code="bad_period")
    if (end - start).days > 366 * 50:
        raise InvalidInput("期间过长", "the period is too long", code="bad_period")


@query
def disclosure(session: Session, actor: Actor, *, start: dt.date, end: dt.date,
               member_id: int | None = None) -> core.Disclosure:
    """The disclosure tables of 暂行规定 三、(二) for the period (both days included)."""
    _period(start, end)
    return core.disclosure(books(session, actor, member_id=member_id), start, end)


@query
def disclosure_excel(session: Session, actor: Actor, *, start: dt.date, end: dt.date,
                     member_id: int | None = None) -> bytes:
    """The disclosure, the asset register and the amortization schedules as one .xlsx file."""
    _period(start, end)
    owner = _books_of(actor, member_id)
    assets = books(session, actor, member_id=owner)
    name = members.member_names(session, {owner}).get(owner, "")
    return workbook.disclosure_workbook(core.disclosure(assets, start, end), assets, name, end)


@query
def get_policy(session: Session, actor: Actor) -> PolicyRead:
    owner = _books_of(actor, None)
    policy = session.get(Policy, owner)
    if policy is None:
        return PolicyRead(default_classification="pending", default_useful_life_months=None)
    return PolicyRead(default_classification=policy.default_classification,
                      default_useful_life_months=policy.default_useful_life_months)


@query
def year_period(year: int) -> tuple[dt.date, dt.date]:
    if not 2000 <= year <= 2200:
        raise InvalidInput("年份须在 2000 至 2200 之间", "the year must be 2000–2200", code="bad_period")
    return dt.date(year, 1, 1), dt.date(year, 12, 31)

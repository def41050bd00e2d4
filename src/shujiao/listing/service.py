"""Product commands (draft, submit, review, delist) and the public catalog of listed products."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from shujiao.audit import service as audit
from shujiao.catalog import service as catalog
from shujiao.catalog.models import Dataset
from shujiao.commands import Actor, authorize, command, inside_command, query, require_member, require_operator
from shujiao.db import utcnow
from shujiao.errors import Conflict, InvalidInput, not_found
from shujiao.listing import search
from shujiao.listing.models import Product, ProductReview
from shujiao.listing.schemas import Delisting, ProductCreate, ProductUpdate, Review
from shujiao.registry import rules as registry_rules
from shujiao.usage.offer import Offer

EDITABLE = {"draft", "rejected", "delisted"}

_product = Product.__table__
# Built once: every order reads its product through this (plain columns, no ORM object).
_OFFER = select(
    _product.c.id, _product.c.member_id, _product.c.resource_id, _product.c.dataset_id, _product.c.title,
    _product.c.description, _product.c.price_fen, _product.c.status, _product.c.version, _product.c.disclosure_json,
    _product.c.offer_json,
).where(_product.c.id == bindparam("product_id"))


def _refuse_core_data(grade: str) -> None:
    if grade == "core":
        raise InvalidInput("核心数据不得上架交易", "core data can never be listed", code="core_data_not_listable")


def _require_provider(actor: Actor) -> None:
    require_member(actor)
    authorize(actor.member_kind == "provider", "仅数据提供方会员可上架产品", "only provider members list products")


def _require_registration(session: Session, product: Product) -> None:
    """Listing needs a live registration of the product's data held by the seller (数据登记)."""
    sha256 = session.scalar(select(Dataset.sha256).where(Dataset.id == product.dataset_id))
    if sha256 is None or registry_rules.listing_registration(
            session, member_id=product.member_id, content_sha256=sha256, now=utcnow()) is None:
        raise Conflict("产品数据须持有有效的数据登记凭证（资源持有权或产品经营权）方可上架",
                       "listing needs a valid registration certificate (holding or operating right) of the "
                       "product's data held by the seller", code="registration_required")


def _own_product_for_update(session: Session, actor: Actor, product_id: int) -> Product:
    product = session.scalar(select(Product).where(Product.id == product_id).with_for_update())
    if product is None or product.member_id != actor.member_id:
        raise not_found("产品", "product")
    return product


def _refresh_search_text(session: Session, product: Product) -> None:
    resource = catalog.resource_by_id(session, resource_id=product.resource_id)
    product.search_text = search.searchable(product.title, product.description, resource.domain if resource else "")


@command("listing.product.create")
def create_product(session: Session, actor: Actor, *, data: ProductCreate) -> Product:
    _require_provider(actor)
    resource = catalog.get_resource(session, actor, resource_id=data.resource_id)
    dataset = catalog.get_dataset(session, actor, dataset_id=data.dataset_id)
    if dataset.resource_id != resource.id:
        raise InvalidInput("数据集不属于该数据资源", "the dataset does not belong to the resource",
                           code="dataset_resource_mismatch")
    _refuse_core_data(resource.grade)
    now = utcnow()
    product = Product(member_id=actor.member_id, status="draft", version=0, created_at=now, updated_at=now,
                      offer_json=data.offer.model_dump_json(), **data.model_dump(exclude={"offer"}))
    _refresh_search_text(session, product)
    session.add(product)
    session.flush()
    audit.record(session, subject_type="product", subject_id=product.id,
                 change={"status": "draft", **data.model_dump()})
    return product


@command("listing.product.update")
def update_product(session: Session, actor: Actor, *, product_id: int, data: ProductUpdate) -> Product:
    _require_provider(actor)
    product = _own_product_for_update(session, actor, product_id)
    if product.status not in EDITABLE:
        raise Conflict("审核中或已上架的产品不能修改，请先下架", f"a {product.status} product cannot be edited",
                       code="not_editable")
    changes = data.model_dump(exclude_none=True)
    if "offer" in changes:
        changes["offer_json"] = data.offer.model_dump_json()  # type: ignore[union-attr]
        del changes["offer"]
    before = {k: getattr(product, k) for k in changes}
    for key, value in changes.items():
        setattr(product, key, value)
    product.updated_at = utcnow()
    _refresh_search_text(session, product)
    session.flush()
    audit.record(session, subject_type="product", subject_id=product.id, change={"from": before, "to": changes})
    return product


@command("listing.product.submit")
def submit_product(session: Session, actor: Actor, *, product_id: int, require_registration: bool = False) -> Product:
    """``require_registration`` is the setting ``registry.require_for_listing``."""
    _require_provider(actor)
    product = _own_product_for_update(session, actor, product_id)
    if product.status not in EDITABLE:
        raise Conflict("该产品已提交或已上架", f"a {product.status} product cannot be submitted", code="bad_state")
    if require_registration:
        _require_registration(session, product)
    resource = catalog.get_resource(session, actor, resource_id=product.resource_id)
    _refuse_core_data(resource.grade)
    previous = product.status
    product.status = "submitted"
    product.version += 1
    product.updated_at = utcnow()
    session.flush()
    audit.record(session, subject_type="product", subject_id=product.id,
                 change={"status": {"from": previous, "to": "submitted"}, "version": product.version})
    return product


@command("listing.product.review")
def review_product(session: Session, actor: Actor, *, product_id: int, review: Review,
                   require_registration: bool = False) -> ProductReview:
    """The operator's compliance review of the submitted version: list it or send it back."""
    require_operator(actor)
    product = session.scalar(select(Product).where(Product.id == product_id).with_for_update())
    if product is None:
        raise not_found("产品", "product")
    if product.status != "submitted":
        raise Conflict("该产品不在待审核状态", f"the product is {product.status}, not submitted", code="bad_state")
    resource = catalog.resource_by_id(session, resource_id=product.resource_id)
    if review.decision == "approve":
        _refuse_core_data(resource.grade if resource else "core")
        if require_registration:
            _require_registration(session, product)
    now = utcnow()
    row = ProductReview(
        product_id=product.id, product_version=product.version, reviewer_user_id=actor.user_id,
        decision=review.decision, checklist_json=json.dumps(review.checklist.model_dump()),
        reason=review.reason, reviewed_at=now,
    )
    session.add(row)
    product.status = "listed" if review.decision == "approve" else "rejected"
    if product.status == "listed":
        product.listed_at = now
        product.disclosure_json = json.dumps(_live_disclosure(session, product), ensure_ascii=False, sort_keys=True)
    product.updated_at = now
    session.flush()
    audit.record(session, subject_type="product", subject_id=product.id, change={
        "status": {"from": "submitted", "to": product.status}, "version": product.version,
        "review_id": row.id, "checklist": review.checklist.model_dump(), "reason": review.reason,
    })
    return row


@command("listing.product.delist")
def delist_product(session: Session, actor: Actor, *, product_id: int, data: Delisting) -> Product:
    """The provider or the operator takes a listed product off the market; paid orders still deliver."""
    product = session.scalar(select(Product).where(Product.id == product_id).with_for_update())
    if actor.is_operator:
        require_operator(actor)
    else:
        _require_provider(actor)
    if product is None or not (actor.is_operator or product.member_id == actor.member_id):
        raise not_found("产品", "product")
    if product.status != "listed":
        raise Conflict("该产品未上架", f"the product is {product.status}, not listed", code="bad_state")
    product.status = "delisted"
    product.updated_at = utcnow()
    session.flush()
    audit.record(session, subject_type="product", subject_id=product.id,
                 change={"status": {"from": "listed", "to": "delisted"}, "reason": data.reason})
    return product


@inside_command
def delist_for_registration(session: Session, *, member_id: int, content_sha256: str, reason: str) -> list[int]:
    """Delist the member's listed products over these bytes: their registration was revoked,
    expired, transferred away or moved to other data. Paid orders still deliver."""
    products = session.scalars(
        select(Product).join(Dataset, Dataset.id == Product.dataset_id)
        .where(Product.member_id == member_id, Product.status == "listed", Dataset.sha256 == content_sha256)
        .order_by(Product.id).with_for_update(of=Product)
    ).all()
    now = utcnow()
    for product in products:
        product.status = "delisted"
        product.updated_at = now
        audit.record(session, subject_type="product", subject_id=product.id,
                     change={"status": {"from": "listed", "to": "delisted"}, "reason": reason})
    session.flush()
    return [p.id for p in products]


@query
def get_product(session: Session, actor: Actor, *, product_id: int) -> Product:
    """A listed product is public; any other state is seen only by its provider and the operator."""
    product = session.get(Product, product_id)
    if product is None:
        raise not_found("产品", "product")
    if product.status != "listed" and not (actor.is_operator or product.member_id == actor.member_id):
        raise not_found("产品", "product")
    return product


def _live_disclosure(session: Session, product: Any) -> dict[str, Any]:
    return catalog.describe_for_listing(session, resource_id=product.resource_id, dataset_id=product.dataset_id)


@query
def disclosure(session: Session, product: Any) -> dict[str, Any]:
    """What the exchange discloses about a product to a prospective buyer (信息披露): as approved
    for a listed product, as it stands now for a draft its provider is preparing."""
    if product.status in ("listed", "delisted") and product.disclosure_json:
        return json.loads(product.disclosure_json)
    return _live_disclosure(session, product)


@query
def search_listed(session: Session, *, q: str = "", limit: int = 50, offset: int = 0) -> Sequence[Product]:
    stmt = select(Product).where(Product.status == "listed")
    for term in search.terms(q):
        stmt = stmt.where(Product.search_text.like(search.like_pattern(term), escape="\\"))
    stmt = stmt.order_by(Product.listed_at.desc(), Product.id.desc()).limit(limit).offset(offset)
    return session.scalars(stmt).all()


@query
def list_own_products(session: Session, actor: Actor) -> Sequence[Product]:
    return session.scalars(
        select(Product).where(Product.member_id == actor.member_id).order_by(Product.id.desc())
    ).all()


@query
def review_queue(session: Session, actor: Actor) -> Sequence[Product]:
    require_operator(actor)
    return session.scalars(select(Product).where(Product.status == "submitted").order_by(Product.updated_at)).all()


@query
def reviews_of(session: Session, actor: Actor, *, product_id: int) -> Sequence[ProductReview]:
    product = get_product(session, actor, product_id=product_id)
    if not (actor.is_operator or product.member_id == actor.member_id):
        return []
    return session.scalars(
        select(ProductReview).where(ProductReview.product_id == product.id).order_by(ProductReview.id)
    ).all()


@query
def offer_for_order(session: Session, *, product_id: int) -> tuple[Any, dict[str, Any]]:
    """A listed product (a read-only row) and the frozen description of it that an order keeps
    (what the buyer saw)."""
    product = session.execute(_OFFER, {"product_id": product_id}).first()
    if product is None or product.status != "listed":
        raise not_found("产品", "product")
    snapshot = {
        "product_id": product.id, "version": product.version, "title": product.title,
        "description": product.description, "price_fen": product.price_fen,
        "provider_member_id": product.member_id, **disclosure(session, product),
        "offer": offer_of(product).model_dump(),
    }
    return product, snapshot


@query
def offer_of(product: Any) -> Offer:
    """The product's offer (pricing plan and usage terms); "{}" is the default offer."""
    return Offer.model_validate_json(product.offer_json or "{}")

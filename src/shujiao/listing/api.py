from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from shujiao.deps import CurrentActor, OptionalActor, PathId, SessionDep, SettingsDep
from shujiao.listing import service
from shujiao.listing.models import Product
from shujiao.listing.schemas import Delisting, ProductCreate, ProductRead, ProductUpdate, Review, ReviewRead
from shujiao.members import service as members

router = APIRouter(prefix="/api/v1", tags=["listing 产品上架"])


def _read(session: Session, products: list[Product] | tuple[Product, ...], *, with_disclosure: bool = False) -> list[ProductRead]:
    names = members.member_names(session, {p.member_id for p in products})
    out = []
    for product in products:
        item = ProductRead.model_validate(product)
        item.provider_name = names.get(product.member_id, "")
        item.offer = service.offer_of(product).model_dump()
        if with_disclosure:
            item.disclosure = service.disclosure(session, product)
        out.append(item)
    return out


@router.post("/products", status_code=201, response_model=ProductRead)
def create_product(session: SessionDep, actor: CurrentActor, data: ProductCreate) -> ProductRead:
    return _read(session, [service.create_product(session, actor, data=data)])[0]


@router.get("/products", response_model=list[ProductRead])
def search_products(
    session: SessionDep,
    q: Annotated[str, Query(max_length=100)] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> list[ProductRead]:
    return _read(session, list(service.search_listed(session, q=q, limit=limit, offset=offset)))


@router.get("/products/mine", response_model=list[ProductRead])
def my_products(session: SessionDep, actor: CurrentActor) -> list[ProductRead]:
    return _read(session, list(service.list_own_products(session, actor)))


@router.get("/products/review-queue", response_model=list[ProductRead])
def review_queue(session: SessionDep, actor: CurrentActor) -> list[ProductRead]:
    return _read(session, list(service.review_queue(session, actor)), with_disclosure=True)


@router.get("/products/{product_id}", response_model=ProductRead)
def get_product(session: SessionDep, actor: OptionalActor, product_id: PathId) -> ProductRead:
    return _read(session, [service.get_product(session, actor, product_id=product_id)], with_disclosure=True)[0]


@router.patch("/products/{product_id}", response_model=ProductRead)
def update_product(session: SessionDep, actor: CurrentActor, product_id: PathId, data: ProductUpdate) -> ProductRead:
    return _read(session, [service.update_product(session, actor, product_id=product_id, data=data)])[0]


@router.post("/products/{product_id}/submit", response_model=ProductRead)
def submit_product(session: SessionDep, settings: SettingsDep, actor: CurrentActor, product_id: PathId) -> ProductRead:
    product = service.submit_product(session, actor, product_id=product_id,
                                     require_registration=settings.registry.require_for_listing)
    return _read(session, [product])[0]


@router.post("/products/{product_id}/review", response_model=ReviewRead)
def review_product(session: SessionDep, settings: SettingsDep, actor: CurrentActor, product_id: PathId,
                   review: Review) -> object:
    return service.review_product(session, actor, product_id=product_id, review=review,
                                  require_registration=settings.registry.require_for_listing)


@router.get("/products/{product_id}/reviews", response_model=list[ReviewRead])
def product_reviews(session: SessionDep, actor: CurrentActor, product_id: PathId) -> object:
    return service.reviews_of(session, actor, product_id=product_id)


@router.post("/products/{product_id}/delist", response_model=ProductRead)
def delist_product(
    session: SessionDep, actor: CurrentActor, product_id: PathId, data: Delisting | None = None
) -> ProductRead:
    product = service.delist_product(session, actor, product_id=product_id, data=data or Delisting())
    return _read(session, [product])[0]



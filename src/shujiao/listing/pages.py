"""The public market (home and product pages), the provider's products and the operator's
compliance review (合规审核)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from shujiao.catalog import service as catalog
from shujiao.deps import PathId, SessionDep, SettingsDep
from shujiao.fingerprint import service as fingerprint
from shujiao.listing import service
from shujiao.listing.schemas import CHECKLIST_ITEMS, Delisting, ProductCreate, ProductUpdate, Review
from shujiao.members import service as members
from shujiao.quality import service as quality
from shujiao.usage import odrl
from shujiao.usage.offer import PURPOSES, Offer
from shujiao.usage.pages import offer_form
from shujiao.web.deps import FormOperator, FormUser, PageActor, PageOperator, PageUser
from shujiao.web.forms import checked, validate, whole_number, yuan_to_fen
from shujiao.web.templating import redirect, render

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request, session: SessionDep, actor: PageActor,
         q: Annotated[str, Query(max_length=1000)] = "") -> Response:
    q = q.strip()[:100]
    products = service.search_listed(session, q=q)
    return render(request, "listing/home.html", q=q, products=products,
                  disclosures={p.id: service.disclosure(session, p) for p in products},
                  names=members.member_names(session, {p.member_id for p in products}))


@router.get("/products/{product_id}")
def product_page(request: Request, session: SessionDep, settings: SettingsDep, actor: PageActor,
                 product_id: PathId) -> Response:
    product = service.get_product(session, actor, product_id=product_id)
    offer = service.offer_of(product)
    return render(request, "listing/product.html", product=product, offer=offer, purposes=PURPOSES,
                  policy_zh=odrl.describe_zh(offer, price_fen=product.price_fen),
                  disclosure=service.disclosure(session, product),
                  provider_name=members.member_names(session, {product.member_id}).get(product.member_id, ""),
                  reviews=service.reviews_of(session, actor, product_id=product.id),
                  quality=quality.product_badge(session, product_id=product.id),
                  fingerprint_notice=fingerprint.buyer_notice(session, settings=settings, product_id=product.id))


@router.get("/dashboard/products")
def my_products(request: Request, session: SessionDep, actor: PageUser) -> Response:
    products = service.list_own_products(session, actor)
    resources = catalog.list_resources(session, actor)
    return render(request, "listing/my_products.html", products=products,
                  offers={p.id: service.offer_of(p) for p in products}, default_offer=Offer(),
                  mode_labels=odrl.MODE_LABELS, purposes=PURPOSES,
                  reviews={p.id: service.reviews_of(session, actor, product_id=p.id) for p in products},
                  resources=resources,
                  datasets={r.id: catalog.list_datasets(session, actor, resource_id=r.id) for r in resources})


@router.post("/dashboard/products")
def create_product(
    request: Request, session: SessionDep, actor: FormUser,
    dataset_id: Annotated[str, Form(max_length=20)] = "", title: Annotated[str, Form(max_length=400)] = "",
    description: Annotated[str, Form(max_length=40_000)] = "", price: Annotated[str, Form(max_length=40)] = "",
    offer: Annotated[Offer | None, Depends(offer_form)] = None,
) -> Response:
    price_fen = yuan_to_fen(price, zh="价格", en="price")
    dataset = catalog.get_dataset(session, actor, dataset_id=whole_number(dataset_id, zh="数据集", en="dataset"))
    data = validate(ProductCreate, resource_id=dataset.resource_id, dataset_id=dataset.id, title=title,
                    description=description, price_fen=price_fen, offer=offer or Offer())
    product = service.create_product(session, actor, data=data)
    return redirect(request, "/dashboard/products",
                    ok=(f"已创建产品草稿：{product.title}", f"draft product created: {product.title}"))


@router.post("/products/{product_id}/edit")
def update_product(
    request: Request, session: SessionDep, actor: FormUser, product_id: PathId,
    title: Annotated[str, Form(max_length=400)] = "", description: Annotated[str, Form(max_length=40_000)] = "",
    price: Annotated[str, Form(max_length=40)] = "",
    offer: Annotated[Offer | None, Depends(offer_form)] = None,
) -> Response:
    data = validate(ProductUpdate, title=title or None, description=description or None,
                    price_fen=yuan_to_fen(price, zh="价格", en="price"), offer=offer)
    product = service.update_product(session, actor, product_id=product_id, data=data)
    return redirect(request, "/dashboard/products", ok=(f"已保存：{product.title}", f"saved: {product.title}"))


@router.post("/products/{product_id}/submit")
def submit_product(request: Request, session: SessionDep, settings: SettingsDep, actor: FormUser,
                   product_id: PathId) -> Response:
    product = service.submit_product(session, actor, product_id=product_id,
                                     require_registration=settings.registry.require_for_listing)
    return redirect(request, "/dashboard/products",
                    ok=(f"已提交审核：{product.title}", f"submitted for review: {product.title}"))


@router.post("/products/{product_id}/delist")
def delist_product(request: Request, session: SessionDep, actor: FormUser, product_id: PathId,
                   reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    product = service.delist_product(session, actor, product_id=product_id, data=validate(Delisting, reason=reason))
    back = "/operator/reviews" if actor.is_operator else "/dashboard/products"
    return redirect(request, back, ok=(f"已下架：{product.title}", f"delisted: {product.title}"))


@router.get("/operator/reviews")
def review_queue(request: Request, session: SessionDep, actor: PageOperator) -> Response:
    queue = service.review_queue(session, actor)
    resources = {p.id: catalog.get_resource(session, actor, resource_id=p.resource_id) for p in queue}
    return render(request, "listing/operator_reviews.html", queue=queue, checklist_items=CHECKLIST_ITEMS,
                  disclosures={p.id: service.disclosure(session, p) for p in queue}, resources=resources,
                  history={p.id: service.reviews_of(session, actor, product_id=p.id) for p in queue},
                  names=members.member_names(session, {p.member_id for p in queue}),
                  listed=service.search_listed(session, limit=100))


def checklist_form(
    legal_source: Annotated[str | None, Form()] = None,
    personal_information: Annotated[str | None, Form()] = None,
    security_grade: Annotated[str | None, Form()] = None,
    intellectual_property: Annotated[str | None, Form()] = None,
    negative_list: Annotated[str | None, Form()] = None,
) -> dict[str, bool]:
    """The five compliance checkboxes of CHECKLIST_ITEMS, ticked or not."""
    ticked = {"legal_source": legal_source, "personal_information": personal_information,
              "security_grade": security_grade, "intellectual_property": intellectual_property,
              "negative_list": negative_list}
    return {key: checked(ticked[key]) for key in CHECKLIST_ITEMS}


@router.post("/operator/reviews/{product_id}")
def review_product(request: Request, session: SessionDep, settings: SettingsDep, actor: FormOperator,
                   product_id: PathId,
                   checklist: Annotated[dict[str, bool], Depends(checklist_form)],
                   decision: Annotated[str, Form(max_length=16)] = "",
                   reason: Annotated[str, Form(max_length=5000)] = "") -> Response:
    review = validate(Review, decision=decision, reason=reason, checklist=checklist)
    service.review_product(session, actor, product_id=product_id, review=review,
                           require_registration=settings.registry.require_for_listing)
    if review.decision == "approve":
        return redirect(request, "/operator/reviews", ok=("已批准上架", "approved and listed"))
    return redirect(request, "/operator/reviews", ok=("已驳回，理由将展示给提供方", "rejected; the provider sees the reason"))

"""The policy in Chinese on the product and order pages, the offer fields of the product form, and
revoking a contract from the order page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from shujiao.db import unit_of_work
from shujiao.listing import service as listing
from shujiao.market import service as market
from shujiao.usage import service as usage
from tests.factories import make_dataset, make_listed_product, make_member, make_operator
from tests.web.conftest import Pages


@pytest.fixture
def pages(app) -> Iterator[Pages]:  # type: ignore[no-untyped-def]
    with TestClient(app, headers={"accept": "text/html,application/xhtml+xml"}) as client:
        yield Pages(client)


@pytest.fixture
def world(session_factory, storage, settings):  # type: ignore[no-untyped-def]
    operator = make_operator(session_factory)
    provider = make_member(session_factory, operator, kind="provider", name="贵州数智科技有限公司")
    buyer = make_member(session_factory, operator, kind="buyer", deposit_fen=500_00)
    product_id = make_listed_product(session_factory, storage, provider, operator, settings=settings)
    return {"operator": operator, "provider": provider, "buyer": buyer, "product_id": product_id}


def test_the_product_page_shows_the_usage_terms_in_chinese(pages, world):
    html = pages.get(f"/products/{world['product_id']}").text
    assert "使用条件" in html and "一次性买断" in html and "禁止：对外分发、转让或转授权。" in html
    assert f"/api/v1/products/{world['product_id']}/odrl" in html


def test_the_provider_sets_the_offer_on_the_product_form(pages, world, session_factory, storage, settings):
    provider = world["provider"]
    _, dataset_id = make_dataset(session_factory, storage, provider, settings=settings)
    pages.login(provider.username, provider.password)
    form = {"dataset_id": str(dataset_id), "title": "订阅产品", "description": "按月订阅", "price": "10",
            "offer_fields": "1", "plan_kind": "subscription", "period_days": "30", "term_days": "",
            "max_downloads": "5", "delivery_modes": ["file", "delta_sharing"], "purposes": ["research"],
            "attribution": "1"}
    assert pages.submit("/dashboard/products", "/dashboard/products", form).status_code == 303
    with unit_of_work(session_factory) as s:
        product = listing.list_own_products(s, provider.actor)[0]
        offer = listing.offer_of(product)
    assert (offer.plan.kind, offer.terms.max_downloads, offer.terms.term_days) == ("subscription", 5, None)
    assert offer.terms.delivery_modes == ["file", "delta_sharing"] and offer.terms.purposes == ["research"]
    assert (offer.terms.attribution, offer.terms.delete_after_expiry, offer.terms.allow_distribute) == (True, False, False)
    form.update(max_downloads="many")
    refused = pages.submit("/dashboard/products", f"/products/{product.id}/edit", form)
    assert refused.status_code == 422
    edited = pages.submit("/dashboard/products", f"/products/{product.id}/edit", {**form, "max_downloads": "7"})
    assert edited.status_code == 303
    with unit_of_work(session_factory) as s:
        assert listing.offer_of(listing.get_product(s, provider.actor, product_id=product.id)).terms.max_downloads == 7
    assert 'name="max_downloads" value="7"' in pages.get("/dashboard/products").text


def test_both_sides_see_the_contract_and_the_provider_revokes_it_on_the_order_page(pages, world, session_factory):
    buyer, provider = world["buyer"], world["provider"]
    pages.login(buyer.username, buyer.password)
    bought = pages.submit(f"/products/{world['product_id']}", f"/products/{world['product_id']}/buy",
                          {"purpose": "research"})
    assert bought.status_code == 303
    order_id = int(bought.headers["location"].rsplit("/", 1)[1])
    with unit_of_work(session_factory) as s:
        market.pay_order(s, buyer.actor, order_id=order_id)
    buyer_view = pages.get(f"/orders/{order_id}").text
    assert "使用合约" in buyer_view and "仅限科学研究" in buyer_view and 'id="revoke"' not in buyer_view

    pages.client.cookies.clear()
    pages.login(provider.username, provider.password)
    provider_view = pages.get(f"/orders/{order_id}").text
    assert "使用合约" in provider_view and "仅限科学研究" in provider_view and 'id="revoke"' in provider_view
    revoked = pages.submit(f"/orders/{order_id}", f"/orders/{order_id}/contract/revoke", {"reason": "违约转售"})
    assert revoked.status_code == 303
    with unit_of_work(session_factory) as s:
        assert usage.get_contract(s, provider.actor, order_id=order_id).status == "revoked"
    assert "违约转售" in pages.get(f"/orders/{order_id}").text

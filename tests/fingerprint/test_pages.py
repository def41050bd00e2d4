"""The provider's fingerprint page through the TestClient: policy form, a leak checked, tenancy."""

from __future__ import annotations

import pytest

from shujiao.db import unit_of_work
from shujiao.market import service as market
from tests.factories import make_listed_product, make_member, make_operator
from tests.fingerprint.test_api import _content, _leak
from tests.web.conftest import Pages, other_pages, pages  # noqa: F401 — the fixtures


@pytest.fixture
def world(session_factory, storage, settings):  # type: ignore[no-untyped-def]
    operator = make_operator(session_factory)
    provider = make_member(session_factory, operator)
    product_id = make_listed_product(session_factory, storage, provider, operator, settings=settings,
                                     content=_content(2000), price_fen=1_00)
    buyer = make_member(session_factory, operator, kind="buyer", deposit_fen=10_00)
    with unit_of_work(session_factory) as session:
        order_id = market.create_order(session, buyer.actor, product_id=product_id).id
        market.pay_order(session, buyer.actor, order_id=order_id)
    return {"provider": provider, "buyer": buyer, "product_id": product_id, "order_id": order_id}


def test_provider_saves_a_policy_and_checks_a_file(pages, other_pages, world):  # noqa: F811
    page = f"/dashboard/fingerprint/products/{world['product_id']}"
    pages.login(world["provider"].username, world["provider"].password)
    shown = pages.get(page)
    assert shown.status_code == 200 and "默认" in shown.text and "policy-form" in shown.text
    saved = pages.submit(page, f"{page}/policy", {"mode": "alter_values", "key_columns": "客户编号",
                                                  "columns": "金额 2 0.01\n数量 0 1", "gamma": "10"})
    assert saved.status_code == 303, saved.text
    shown = pages.get(page).text
    assert "±0.01" in shown and "默认" not in shown
    bad = pages.submit(page, f"{page}/policy", {"mode": "alter_values", "key_columns": "客户编号",
                                                "columns": "城市 0 1", "gamma": "10"})
    assert bad.status_code == 422 and "不是数值" in bad.text
    checked = pages.client.post(f"{page}/detect", data={"csrf_token": pages.token(page)},
                                files={"file": ("leak.csv", _leak(_content(2000)))})
    assert checked.status_code == 200 and "未能指认任何买方" in checked.text

    other_pages.login(world["buyer"].username, world["buyer"].password)
    assert other_pages.get(page).status_code == 404
    assert other_pages.submit("/", f"{page}/policy", {"mode": "no_alteration", "key_columns": "客户编号"}
                              ).status_code == 404


def test_the_product_page_tells_buyers_how_their_copy_differs(pages, world):  # noqa: F811
    product_page = f"/products/{world['product_id']}"
    notice = pages.get(product_page).text
    assert "fingerprint-notice" in notice and "约 5% 的记录按密钥省略" in notice  # the default, 2,000 rows
    policy = f"/dashboard/fingerprint/products/{world['product_id']}"
    pages.login(world["provider"].username, world["provider"].password)
    assert pages.submit(policy, f"{policy}/policy", {"mode": "alter_values", "key_columns": "客户编号",
                                                     "columns": "金额 2 0.01", "gamma": "10"}).status_code == 303
    notice = pages.get(product_page).text
    assert "金额 ±0.01" in notice and "记录数与其他数值不变" in notice and "按密钥省略" not in notice

"""A buyer trades in a real Chromium: search in Chinese, buy, pay, download the file, accept.

The app is served by uvicorn in a background thread; Playwright drives Debian's Chromium (it cannot
download its own). A missing Chromium fails the test: the pages must be proven in a browser.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shujiao.db import unit_of_work
from shujiao.ledger import service as ledger
from shujiao.market import service as market
from tests.factories import CSV_BYTES, make_listed_product, make_member, make_operator
from tests.web.conftest import browser_log_in

pytestmark = pytest.mark.browser


def test_buyer_searches_buys_pays_downloads_and_accepts(session_factory, storage, settings, live_server, browser_page):  # type: ignore[no-untyped-def]
    operator = make_operator(session_factory)
    provider = make_member(session_factory, operator, kind="provider", name="贵州数智科技有限公司")
    buyer = make_member(session_factory, operator, kind="buyer", deposit_fen=500_00)
    product_id = make_listed_product(session_factory, storage, provider, operator, settings=settings, price_fen=100_00,
                                     title="企业信用评分数据")
    from playwright.sync_api import expect

    page = browser_page

    browser_log_in(page, live_server, buyer)
    expect(page.locator("#balance")).to_have_text("¥500.00")

    page.click("a.brand")
    page.fill("input[name=q]", "信用")
    page.press("input[name=q]", "Enter")
    page.wait_for_url("**/?q=*")
    card = page.locator("a.product-card", has_text="企业信用评分数据")
    expect(card).to_have_count(1)
    card.click()
    page.wait_for_url(f"{live_server}/products/{product_id}")
    expect(page.locator("#price")).to_have_text("¥100.00")

    page.click("#buy")
    page.wait_for_url(f"{live_server}/orders/*")
    order_url = page.url
    order_id = int(order_url.rsplit("/", 1)[1])
    expect(page.locator("#order-status")).to_have_text("待支付")

    page.click("#pay")
    expect(page.locator("#order-status")).to_have_text("已支付")

    with page.expect_download() as download_info:
        page.click("#download")
    download = download_info.value
    assert download.suggested_filename == "data.csv"
    assert Path(download.path()).read_bytes() == CSV_BYTES

    page.goto(order_url)
    expect(page.locator("#order-status")).to_have_text("已交付")
    page.click("#accept")
    expect(page.locator("#order-status")).to_have_text("已结算")
    expect(page.locator("#fee")).to_have_text("¥3.00")
    expect(page.locator("#timeline")).to_contain_text("买方验收，完成结算")

    with unit_of_work(session_factory) as s:
        assert market.get_order(s, operator.actor, order_id=order_id).status == "settled"
        assert ledger.member_balance(s, operator.actor, member_id=buyer.member_id).balance_fen == 400_00
        assert ledger.member_balance(s, operator.actor, member_id=provider.member_id).balance_fen == 97_00
        result = ledger.check(s, operator.actor)
        assert result.balanced, result.problems
        assert result.fees_fen == 3_00

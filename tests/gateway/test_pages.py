"""The API usage pages: both sides see the same dashboard and statements; the buyer rotates its key."""

from __future__ import annotations

import re

from tests.gateway.test_api import bill
from tests.gateway.upstream import SECRET
from tests.web.conftest import Pages, other_pages, pages  # noqa: F401 — the fixtures


def test_both_sides_see_the_same_usage_and_statement_and_the_buyer_rotates_its_key(client, api, pages, other_pages):
    market, order_id = api["market"], api["order_id"]
    pages.login(market.buyer_handle.username, market.buyer_handle.password)
    other_pages.login(market.seller_handle.username, market.seller_handle.password)
    listing = pages.get("/dashboard/api")
    assert listing.status_code == 200 and f'href="/dashboard/api/{order_id}"' in listing.text
    assert f'href="/dashboard/api/{order_id}"' in other_pages.get("/dashboard/api").text
    assert SECRET not in other_pages.get("/dashboard/api").text

    rotated = pages.submit(f"/dashboard/api/{order_id}", f"/dashboard/api/{order_id}/key")
    assert rotated.status_code == 200
    key = re.search(r'<pre id="new-key">([^<]+)</pre>', rotated.text).group(1)
    assert "new-key" not in pages.get(f"/dashboard/api/{order_id}").text  # shown once
    for _ in range(3):
        assert client.get(f"/gateway/{order_id}/x", headers={"X-Api-Key": key}).status_code == 200
    assert client.get(f"/gateway/{order_id}/x", headers={"X-Api-Key": api["key"]}).status_code == 401
    client.app.state.gateway.flush_now()
    [statement_id] = bill(client)

    buyer_page = pages.get(f"/dashboard/api/{order_id}").text
    seller_page = other_pages.get(f"/dashboard/api/{order_id}").text
    for page in (buyer_page, seller_page):
        assert re.search(r'id="calls">3<', page) and re.search(r'id="billable">3<', page)
        assert "2 / 5" in page and "已支付" in page and f"/dashboard/api/statements/{statement_id}.xlsx" in page
        assert SECRET not in page
    assert 'id="rotate-key"' in buyer_page and 'id="rotate-key"' not in seller_page
    csv_buyer = pages.get(f"/dashboard/api/statements/{statement_id}.csv")
    assert csv_buyer.status_code == 200 and csv_buyer.content == other_pages.get(
        f"/dashboard/api/statements/{statement_id}.csv").content


def test_another_member_cannot_see_the_dashboard(client, api, pages):
    intruder = api["intruder_handle"]
    pages.login(intruder.username, intruder.password)
    assert pages.get(f"/dashboard/api/{api['order_id']}").status_code == 404
    assert pages.get("/dashboard/api/statements/1.csv").status_code == 404
    assert f"/dashboard/api/{api['order_id']}" not in pages.get("/dashboard/api").text

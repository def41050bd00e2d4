from __future__ import annotations

import datetime as dt

from shujiao.db import unit_of_work
from shujiao.delivery import service as delivery
from tests.api import assert_error, market_with_one_product


def _paid_order(client, session_factory):  # type: ignore[no-untyped-def]
    market = market_with_one_product(client, session_factory)
    order_id = market.order(client)
    client.post(f"/api/v1/orders/{order_id}/pay", headers=market.buyer)
    return market.op, market.buyer, market.buyer_handle, order_id


def test_an_expired_link_is_refused(client, session_factory, storage):
    op, buyer, buyer_handle, order_id = _paid_order(client, session_factory)
    with unit_of_work(session_factory) as session:
        issued = delivery.issue_link(session, buyer_handle.actor, order_id=order_id, ttl=dt.timedelta(seconds=-1))
    assert_error(client.get(f"/api/v1/downloads/{issued.token}", headers=buyer), 410, "link_expired")
    assert client.get(f"/api/v1/orders/{order_id}", headers=buyer).json()["status"] == "paid"


def test_a_link_needs_its_buyer_and_every_download_is_recorded(client, session_factory):
    op, buyer, buyer_handle, order_id = _paid_order(client, session_factory)
    url = client.get(f"/api/v1/orders/{order_id}/delivery", headers=buyer).json()["download_url"]
    assert_error(client.get(url), 401)
    assert_error(client.get(url + "x", headers=buyer), 404, "link_not_found")
    for _ in range(2):
        response = client.get(url, headers=buyer)
        assert response.status_code == 200 and response.headers["x-content-sha256"]
    with unit_of_work(session_factory) as session:
        downloads = delivery.downloads_of(session, buyer_handle.actor, order_id=order_id)
        assert len(downloads) == 2 and {d.sha256 for d in downloads} == {response.headers["x-content-sha256"]}
    events = client.get("/api/v1/audit/events", params={"action": "delivery.download"}, headers=op).json()
    assert len(events) == 2

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api import headers_of, market_with_one_product
from tests.factories import ensure_keys, make_member
from tests.gateway.upstream import SECRET, SECRET_HEADER, free_port, running_upstream

PLAN = {"kind": "per_call", "period_days": 30, "price_per_1000_calls_fen": 2000, "quota_calls_per_period": 5}


@pytest.fixture(scope="session")
def upstream_url() -> Iterator[str]:
    with running_upstream() as url:
        yield url


@pytest.fixture
def plan() -> dict:
    """The API product's pricing plan (its offer); a test parametrizes ``plan`` for another."""
    return PLAN


@pytest.fixture
def api(client, session_factory, upstream_url, plan):  # type: ignore[no-untyped-def]
    """A provider with an API product behind the gateway, a buyer with a paid contract and a key."""
    market = market_with_one_product(client, session_factory, deposit_fen=1_000_00, price_fen=10_00,
                                     offer={"plan": plan, "terms": {"delivery_modes": ["api"]}})
    ensure_keys(session_factory, client.app.state.settings)
    client.app.state.settings.gateway.allow_private_upstreams = True  # the test upstream is on loopback
    registered = client.put(f"/api/v1/products/{market.product_id}/upstream", headers=market.seller, json={
        "base_url": upstream_url + "/v1", "auth_header": SECRET_HEADER, "secret": SECRET})
    assert registered.status_code == 200, registered.text
    order_id = market.order(client)
    assert client.post(f"/api/v1/orders/{order_id}/pay", headers=market.buyer).status_code == 200
    key = client.post(f"/api/v1/orders/{order_id}/api-keys", headers=market.buyer)
    assert key.status_code == 201, key.text
    intruder_handle = make_member(session_factory, market.operator, kind="buyer", deposit_fen=1_000_00)
    return {"market": market, "order_id": order_id, "key": key.json()["key"], "key_body": key.json(),
            "registered": registered, "intruder": headers_of(client, intruder_handle),
            "intruder_handle": intruder_handle, "dead_url": f"http://127.0.0.1:{free_port()}"}

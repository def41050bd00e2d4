"""Delta Sharing under real contracts (the usage domain): a refusal over the protocol is the
protocol's 403 and is logged as a denial."""

from __future__ import annotations

from sqlalchemy import select

from shujiao.db import unit_of_work
from shujiao.usage.models import Denial
from tests.api import assert_error, market_with_one_product



def _denials(session_factory):  # type: ignore[no-untyped-def]
    with unit_of_work(session_factory) as session:
        return [(d.action, d.rule) for d in session.scalars(select(Denial))]


def test_a_product_without_delta_sharing_gets_no_profile_and_the_refusal_is_logged(client, session_factory):
    market = market_with_one_product(client, session_factory)  # the default offer: file only
    order_id = market.order(client)
    assert client.post(f"/api/v1/orders/{order_id}/pay", headers=market.buyer).status_code == 200
    response = client.get(f"/api/v1/contracts/{order_id}/delta-sharing-profile", headers=market.buyer)
    assert_error(response, 403, "usage_denied")
    assert _denials(session_factory) == [("read", "mode_not_allowed")]


def test_a_revoked_contract_is_refused_over_the_protocol_and_logged(client, session_factory):
    market = market_with_one_product(client, session_factory, offer={"terms": {"delivery_modes": ["delta_sharing"]}})
    order_id = market.order(client)
    assert client.post(f"/api/v1/orders/{order_id}/pay", headers=market.buyer).status_code == 200
    profile = client.get(f"/api/v1/contracts/{order_id}/delta-sharing-profile", headers=market.buyer).json()
    bearer = {"Authorization": f"Bearer {profile['bearerToken']}"}
    assert client.get("/delta-sharing/shares", headers=bearer).status_code == 200
    revoked = client.post(f"/api/v1/contracts/{order_id}/revoke", json={"reason": "违约"}, headers=market.seller)
    assert revoked.status_code == 200, revoked.text
    response = client.get("/delta-sharing/shares", headers=bearer)
    assert response.status_code == 403 and response.json()["errorCode"] == "PERMISSION_DENIED"
    assert _denials(session_factory) == [("read", "revoked")]

"""The whole trade through the HTTP API, and the rules that guard money."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient

from shujiao.db import unit_of_work
from shujiao.ledger import service as ledger
from tests.api import assert_error, headers_of, list_product, market_with_one_product
from tests.factories import make_member, make_operator


def _balances(client: TestClient, headers: dict[str, str]) -> dict[str, int]:
    response = client.get("/api/v1/accounts/me", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_first_full_trade_end_to_end(client, session_factory):
    operator = make_operator(session_factory)
    op = headers_of(client, operator)

    # A provider applies, is approved, and lists a product after compliance review.
    applied = client.post("/api/v1/members", json={
        "name": "贵州数智科技有限公司", "credit_code": "91520100MA6DX0010W"[:17] + "0", "kind": "provider",
        "admin": {"username": "seller", "password": "seller-password"}})
    assert_error(applied, 422)  # a wrong check character is refused
    from shujiao.members.credit_code import check_character
    code = "91520100MA6DX0010" + check_character("91520100MA6DX0010")
    applied = client.post("/api/v1/members", json={
        "name": "贵州数智科技有限公司", "credit_code": code, "kind": "provider",
        "admin": {"username": "seller", "password": "seller-password"}})
    assert applied.status_code == 201, applied.text
    assert applied.json()["status"] == "pending"
    provider_id = applied.json()["id"]
    assert client.post(f"/api/v1/members/{provider_id}/approve", headers=op).status_code == 200
    seller = {"Authorization": "Bearer " + client.post(
        "/api/v1/auth/token", data={"username": "seller", "password": "seller-password"}).json()["access_token"]}
    assert client.get("/api/v1/members/me", headers=seller).json()["member"]["status"] == "approved"
    product_id = list_product(client, seller, op, price_fen=123_45)

    # A buyer with money finds it by a Chinese word.
    buyer_handle = make_member(session_factory, operator, kind="buyer")
    buyer = headers_of(client, buyer_handle)
    deposit = client.post(f"/api/v1/accounts/{buyer_handle.member_id}/deposits", headers=op,
                          json={"amount_fen": 500_00, "reference": "BANK-20261122-1"})
    assert deposit.status_code == 201, deposit.text
    found = client.get("/api/v1/products", params={"q": "信用评分"}).json()
    assert [p["id"] for p in found] == [product_id]
    assert client.get("/api/v1/products", params={"q": "气象"}).json() == []

    order = client.post("/api/v1/orders", json={"product_id": product_id}, headers=buyer)
    assert order.status_code == 201, order.text
    order = order.json()
    assert order["status"] == "created" and order["amount_fen"] == 123_45
    order_id = order["id"]

    paid = client.post(f"/api/v1/orders/{order_id}/pay", headers=buyer)
    assert paid.json()["status"] == "paid"
    assert _balances(client, buyer) == {"member_id": buyer_handle.member_id, "balance_fen": 376_55,
                                        "held_fen": 123_45}

    # What the buyer saw stays frozen even if the provider changes the product later.
    assert client.post(f"/api/v1/products/{product_id}/delist", headers=seller).status_code == 200
    client.patch(f"/api/v1/products/{product_id}", json={"title": "改过的标题", "price_fen": 1}, headers=seller)
    frozen = client.get(f"/api/v1/orders/{order_id}", headers=buyer).json()["product"]
    assert frozen["title"] == "企业信用评分数据" and frozen["price_fen"] == 123_45

    delivery = client.get(f"/api/v1/orders/{order_id}/delivery", headers=buyer).json()
    download = client.get(delivery["download_url"], headers=buyer)
    assert download.status_code == 200
    assert download.content.startswith("企业名称".encode())
    assert client.get(f"/api/v1/orders/{order_id}", headers=buyer).json()["status"] == "delivered"

    accepted = client.post(f"/api/v1/orders/{order_id}/accept", headers=buyer).json()
    assert accepted["status"] == "settled"
    fee = accepted["fee_fen"]
    assert fee == 3_70  # 3% of 123.45 yuan, rounded half up to the fen
    assert _balances(client, buyer)["held_fen"] == 0
    assert _balances(client, seller)["balance_fen"] == 123_45 - fee

    check = client.get("/api/v1/ledger/check", headers=op).json()
    assert check["balanced"], check
    assert check["fees_fen"] == fee and check["deposits_fen"] == 500_00

    # Every step left an audit record.
    actions = [e["action"] for e in client.get(
        "/api/v1/audit/events", params={"subject_type": "order", "subject_id": str(order_id)}, headers=op).json()]
    assert actions == ["market.order.create", "market.order.pay", "delivery.link.issue",
                       "market.order.deliver", "delivery.download", "market.order.accept"]


def test_paying_without_enough_money_is_409_and_changes_nothing(client, session_factory, storage):
    market = market_with_one_product(client, session_factory, deposit_fen=50_00, price_fen=100_00)
    op, buyer = market.op, market.buyer
    order_id = market.order(client)
    events_before = len(client.get("/api/v1/audit/events", params={"limit": 1000}, headers=op).json())

    assert_error(client.post(f"/api/v1/orders/{order_id}/pay", headers=buyer), 409, "insufficient_funds")

    assert client.get(f"/api/v1/orders/{order_id}", headers=buyer).json()["status"] == "created"
    assert _balances(client, buyer)["balance_fen"] == 50_00 and _balances(client, buyer)["held_fen"] == 0
    assert len(client.get("/api/v1/audit/events", params={"limit": 1000}, headers=op).json()) == events_before
    assert client.get("/api/v1/ledger/check", headers=op).json()["entries"] == 1


def test_two_concurrent_payments_of_one_order_exactly_one_succeeds(app, session_factory):
    with TestClient(app) as client:
        market = market_with_one_product(client, session_factory)
        order_id = market.order(client)
    operator, buyer, buyer_handle = market.operator, market.buyer, market.buyer_handle

    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def pay() -> None:
        with TestClient(app) as own_client:
            barrier.wait()
            statuses.append(own_client.post(f"/api/v1/orders/{order_id}/pay", headers=buyer).status_code)

    threads = [threading.Thread(target=pay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 409]
    with unit_of_work(session_factory) as session:
        balance = ledger.member_balance(session, operator.actor, member_id=buyer_handle.member_id)
        assert (balance.balance_fen, balance.held_fen) == (900_00, 100_00)
        assert ledger.check(session, operator.actor).balanced


def test_order_state_rules(client, session_factory):
    market = market_with_one_product(client, session_factory)
    op, seller, buyer, product_id = market.op, market.seller, market.buyer, market.product_id
    order_id = market.order(client)

    assert_error(client.post(f"/api/v1/orders/{order_id}/accept", headers=buyer), 409, "bad_state")
    assert_error(client.get(f"/api/v1/orders/{order_id}/delivery", headers=buyer), 409, "not_deliverable")
    assert_error(client.post(f"/api/v1/orders/{order_id}/refund", headers=buyer), 403)
    assert_error(client.post("/api/v1/orders", json={"product_id": product_id}, headers=seller), 422, "own_product")
    assert_error(client.post("/api/v1/orders", json={"product_id": "1"}, headers=buyer), 422)
    assert_error(client.post("/api/v1/orders", json={"product_id": 2**63}, headers=buyer), 422)
    assert_error(client.post("/api/v1/orders", json={"product_id": 999}, headers=buyer), 404)

    client.post(f"/api/v1/orders/{order_id}/pay", headers=buyer)
    assert_error(client.post(f"/api/v1/orders/{order_id}/pay", headers=buyer), 409, "bad_state")
    refunded = client.post(f"/api/v1/orders/{order_id}/refund", json={"reason": "争议：数据与描述不符"}, headers=op)
    assert refunded.json()["status"] == "refunded"
    assert client.get("/api/v1/accounts/me", headers=buyer).json() == {
        "member_id": client.get("/api/v1/members/me", headers=buyer).json()["member"]["id"],
        "balance_fen": 1_000_00, "held_fen": 0}
    assert_error(client.get(f"/api/v1/orders/{order_id}/delivery", headers=buyer), 409, "not_deliverable")
    assert client.get("/api/v1/ledger/check", headers=op).json()["balanced"]


def test_unaccepted_orders_settle_by_themselves(client, session_factory, settings):
    import datetime as dt

    from shujiao.commands import SYSTEM
    from shujiao.db import utcnow
    from shujiao.market import service as market

    parties = market_with_one_product(client, session_factory, price_fen=10_00)
    seller, buyer = parties.seller, parties.buyer
    order_id = parties.order(client)
    client.post(f"/api/v1/orders/{order_id}/pay", headers=buyer)
    client.get(client.get(f"/api/v1/orders/{order_id}/delivery", headers=buyer).json()["download_url"],
               headers=buyer)

    after = dt.timedelta(days=settings.market.auto_settle_days)
    with unit_of_work(session_factory) as session:
        assert market.orders_due_for_settlement(session, now=utcnow(), after=after) == []
    later = utcnow() + after + dt.timedelta(seconds=1)
    with unit_of_work(session_factory) as session:
        assert market.orders_due_for_settlement(session, now=later, after=after) == [order_id]
        market.auto_settle_order(session, SYSTEM, order_id=order_id, fee_rate_bp=300, now=later, after=after)
    order = client.get(f"/api/v1/orders/{order_id}", headers=buyer).json()
    assert order["status"] == "settled" and order["close_reason"] == "auto_settled"
    assert client.get("/api/v1/accounts/me", headers=seller).json()["balance_fen"] == 10_00 - 30

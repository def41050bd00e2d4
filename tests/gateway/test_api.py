"""The per-call API product end to end, through the JSON API and the gateway, with a real upstream."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import select

from shujiao.commands import SYSTEM
from shujiao.db import unit_of_work
from shujiao.gateway import service
from shujiao.ledger import service as ledger
from shujiao.usage.models import Denial
from tests.api import assert_error
from tests.gateway.conftest import PLAN
from tests.gateway.upstream import SECRET

# Every route with an id, called by a member who is neither side of the contract (404, nothing changes).
FOREIGN = [("PUT", "/api/v1/products/{product_id}/upstream", "upstream"),
           ("GET", "/api/v1/products/{product_id}/upstream", None),
           ("POST", "/api/v1/orders/{order_id}/api-keys", None),
           ("GET", "/api/v1/orders/{order_id}/api-keys", None),
           ("GET", "/api/v1/orders/{order_id}/usage", None),
           ("GET", "/api/v1/orders/{order_id}/statements", None),
           ("GET", "/api/v1/statements/{statement_id}", None),
           ("POST", "/api/v1/statements/{statement_id}/pay", None),
           ("GET", "/api/v1/statements/{statement_id}/{fmt}", None)]


def call(client, api, path="items?q=1", *, key=None, contract=None, method="GET", **kw):  # type: ignore[no-untyped-def]
    return client.request(method, f"/gateway/{contract or api['order_id']}/{path}",
                          headers={"X-Api-Key": key or api["key"]}, **kw)


def bill(client, *, days=31):  # type: ignore[no-untyped-def]
    app = client.app
    with unit_of_work(app.state.session_factory) as session:
        return [s.id for s in service.bill_ended_periods(
            session, SYSTEM, settings=app.state.settings, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=days))]


def test_register_list_buy_call_until_the_quota_is_used_bill_and_both_sides_see_the_same(client, api):
    market, seen = api["market"], []
    # The provider's view of its upstream: no secret anywhere.
    seen.append(api["registered"].text)
    listed = client.get("/api/v1/upstreams", headers=market.seller)
    seen.append(listed.text)
    assert [u["product_id"] for u in listed.json()] == [market.product_id]
    assert listed.json()[0]["has_secret"] is True

    for i in range(5):
        response = call(client, api, f"items/{i}?q=1", method="POST" if i == 0 else "GET", content=b"x" * 10)
        seen.append(response.text)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["auth_ok"] is True and body["saw_api_key"] is False
        assert body["path"] == f"/v1/items/{i}" and body["query"] == "q=1"
    refused = call(client, api)
    seen.append(refused.text)
    error = assert_error(refused, 429, "quota_exhausted")
    assert error["message"].startswith("本期调用次数已用完") and "5" in error["message"]

    assert client.app.state.gateway.flush_now() == 6
    buyer_usage = client.get(f"/api/v1/orders/{api['order_id']}/usage", headers=market.buyer).json()
    seller_usage = client.get(f"/api/v1/orders/{api['order_id']}/usage", headers=market.seller).json()
    assert buyer_usage == seller_usage
    assert (buyer_usage["calls"], buyer_usage["billable_calls"], buyer_usage["statuses"]) == (6, 5, {"200": 5, "429": 1})
    assert (buyer_usage["quota"], buyer_usage["quota_left"], buyer_usage["bytes_in"]) == (5, 0, 50)
    assert buyer_usage["latency_p50_ms"] > 0 and buyer_usage["days"][0]["calls"] == 6

    before = [client.get("/api/v1/accounts/me", headers=h).json()["balance_fen"] for h in (market.buyer, market.seller)]
    [statement_id] = bill(client)
    assert bill(client) == []  # billing twice is a no-op
    statement = client.get(f"/api/v1/statements/{statement_id}", headers=market.buyer).json()
    assert statement == client.get(f"/api/v1/statements/{statement_id}", headers=market.seller).json()
    # 5 calls at 2,000 fen per 1,000 calls = 10,000 thousandths of a fen = 10 fen
    assert (statement["calls_billable"], statement["amount_fen"], statement["status"]) == (5, 10, "paid")
    fee = statement["fee_fen"]
    after = [client.get("/api/v1/accounts/me", headers=h).json()["balance_fen"] for h in (market.buyer, market.seller)]
    assert after == [before[0] - 10, before[1] + 10 - fee]

    csv_buyer = client.get(f"/api/v1/statements/{statement_id}/csv", headers=market.buyer)
    csv_seller = client.get(f"/api/v1/statements/{statement_id}/csv", headers=market.seller)
    assert csv_buyer.status_code == 200 and csv_buyer.content == csv_seller.content
    assert "计费调用 Billable calls,5" in csv_buyer.content.decode("utf-8-sig")
    xlsx = client.get(f"/api/v1/statements/{statement_id}/xlsx", headers=market.seller)
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [r[1] for r in sheet.iter_rows(values_only=True) if r[0] == "金额（分） Amount (fen)"] == [10]

    with unit_of_work(client.app.state.session_factory) as session:
        checked = ledger.check(session, market.operator.actor)
        assert checked.balanced and checked.problems == []
    audit_events = client.get("/api/v1/audit/events", params={"limit": 1000}, headers=market.op).text
    assert "gateway_upstream" in audit_events
    for text in seen + [csv_buyer.text, str(buyer_usage), audit_events]:
        assert SECRET not in text


def test_keys_are_the_contracts_own(client, api):
    market = api["market"]
    assert_error(call(client, api, key="sjk_not-a-key"), 401, "invalid_api_key")
    assert_error(client.get(f"/gateway/{api['order_id']}/x"), 401, "invalid_api_key")
    # Bearer works as well as X-Api-Key.
    assert client.get(f"/gateway/{api['order_id']}/x", headers={"Authorization": f"Bearer {api['key']}"}).json()["auth_ok"]
    # The buyer's key does not open another contract, and another member cannot get a key for this one.
    other = market.order(client)
    client.post(f"/api/v1/orders/{other}/pay", headers=market.buyer)
    assert_error(call(client, api, contract=other), 401, "invalid_api_key")
    assert_error(client.post(f"/api/v1/orders/{api['order_id']}/api-keys", headers=api["intruder"]), 404)
    # Rotation: the new key works, the old one is refused once the cache (2 s) has moved on.
    client.app.state.gateway._routes.clear()
    new = client.post(f"/api/v1/orders/{api['order_id']}/api-keys", headers=market.buyer).json()
    assert new["key"] != api["key"] and "key" not in client.get(
        f"/api/v1/orders/{api['order_id']}/api-keys", headers=market.buyer).json()[0]
    assert_error(call(client, api), 401, "invalid_api_key")
    assert call(client, api, key=new["key"]).status_code == 200


def test_a_revoked_contract_is_refused_at_the_gateway_and_the_refusal_logged(client, api, session_factory):
    market = api["market"]
    assert call(client, api).status_code == 200
    revoked = client.post(f"/api/v1/contracts/{api['order_id']}/revoke", headers=market.op, json={"reason": "违约"})
    assert revoked.status_code == 200, revoked.text
    client.app.state.gateway._routes.clear()  # as the 2 s route cache would
    assert_error(call(client, api), 403, "usage_denied")
    assert_error(call(client, api), 403, "usage_denied")  # the cached refusal
    with unit_of_work(session_factory) as session:
        denials = session.execute(select(Denial.action, Denial.rule).where(Denial.order_id == api["order_id"])).all()
    assert [tuple(d) for d in denials] == [("call", "revoked")]


def test_a_large_answer_is_streamed_through_and_metered(client, api):
    big = call(client, api, "big")
    assert big.status_code == 200 and big.content == b"x" * 3_000_000
    assert call(client, api).json()["auth_ok"]  # the connection went back to the pool in a usable state
    client.app.state.gateway.flush_now()
    usage = client.get(f"/api/v1/orders/{api['order_id']}/usage", headers=api["market"].buyer).json()
    assert usage["bytes_out"] > 3_000_000 and usage["calls"] == 2


def test_upstream_errors_are_502_and_not_billed(client, api):
    market = api["market"]
    failed = call(client, api, "boom")  # the upstream answers 500: passed through, not billed
    assert failed.status_code == 500
    client.put(f"/api/v1/products/{market.product_id}/upstream", headers=market.seller, json={
        "base_url": api["dead_url"], "auth_header": "X-Provider-Token", "secret": SECRET})
    client.app.state.gateway._routes.clear()
    down = call(client, api)
    error = assert_error(down, 502, "upstream_unavailable")
    assert SECRET not in down.text and api["dead_url"] not in down.text
    client.app.state.gateway.flush_now()
    usage = client.get(f"/api/v1/orders/{api['order_id']}/usage", headers=market.buyer).json()
    assert usage["statuses"]["502"] == 1 and usage["billable_calls"] == usage["calls"] - 2
    assert error["message_zh"]


def test_unpaid_statement_suspends_the_contract_until_paid(client, api, session_factory):
    market = api["market"]
    for _ in range(5):
        assert call(client, api).status_code == 200
    client.app.state.gateway.flush_now()
    # The buyer empties its wallet before the period ends.
    balance = client.get("/api/v1/accounts/me", headers=market.buyer).json()["balance_fen"]
    assert client.post(f"/api/v1/accounts/{market.buyer_handle.member_id}/withdrawals", headers=market.op,
                       json={"amount_fen": balance, "reference": "OUT-1"}).status_code == 201
    [statement_id] = bill(client)
    statement = client.get(f"/api/v1/statements/{statement_id}", headers=market.seller).json()
    assert (statement["status"], statement["ledger_key"]) == ("unpaid", None)
    client.app.state.gateway._routes.clear()
    assert_error(call(client, api), 403, "contract_suspended")
    assert_error(client.post(f"/api/v1/statements/{statement_id}/pay", headers=market.buyer), 409,
                 "insufficient_funds")
    client.post(f"/api/v1/accounts/{market.buyer_handle.member_id}/deposits", headers=market.op,
                json={"amount_fen": 100, "reference": "IN-2"})
    paid = client.post(f"/api/v1/statements/{statement_id}/pay", headers=market.buyer)
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    client.app.state.gateway._routes.clear()
    assert call(client, api).status_code != 403


@pytest.mark.parametrize("plan", [{**PLAN, "quota_calls_per_period": 1000, "rate_limit_per_second": 2}])
def test_rate_limit_per_second(client, api):
    statuses = []
    for _ in range(6):
        statuses.append(call(client, api))
    limited = [r for r in statuses if r.status_code == 429]
    assert limited, [r.status_code for r in statuses]
    assert limited[0].json()["error"]["code"] == "rate_limited" and limited[0].headers["retry-after"] == "1"
    assert sum(r.status_code == 200 for r in statuses) <= 4  # at most 2 a second, over at most 2 seconds


@pytest.mark.parametrize("method,path,body", FOREIGN, ids=[f"{m} {p}" for m, p, _ in FOREIGN])
def test_another_members_contract_upstream_or_statement_is_404(client, api, method, path, body):
    market = api["market"]
    for _ in range(2):
        call(client, api)
    client.app.state.gateway.flush_now()
    [statement_id] = bill(client)
    if body == "upstream":
        body = {"base_url": "http://127.0.0.1:9/x", "auth_header": "X-T", "secret": "s"}
    op = market.op
    before = client.get("/api/v1/audit/events", params={"limit": 1000}, headers=op).json()
    url = path.format(product_id=market.product_id, order_id=api["order_id"], statement_id=statement_id, fmt="csv")
    assert_error(client.request(method, url, json=body, headers=api["intruder"]), 404)
    assert client.get("/api/v1/audit/events", params={"limit": 1000}, headers=op).json() == before
    assert client.get("/api/v1/upstreams", headers=api["intruder"]).json() == []


def test_bad_input_is_a_4xx(client, api):
    market = api["market"]
    for bad in ({"base_url": "ftp://x", "auth_header": "X", "secret": "s"},
                {"base_url": "http://127.0.0.1:1", "auth_header": "Host", "secret": "s"},
                {"base_url": "http://127.0.0.1:1", "auth_header": "X", "secret": ""}):
        response = client.put(f"/api/v1/products/{market.product_id}/upstream", headers=market.seller, json=bad)
        assert response.status_code == 422, response.text
    client.app.state.settings.gateway.allow_private_upstreams = False
    for private in ("http://127.0.0.1:8080", "http://10.0.0.5/api", "http://localhost:9000", "http://[::1]:80",
                    "http://169.254.169.254/latest"):
        refused = client.put(f"/api/v1/products/{market.product_id}/upstream", headers=market.seller, json={
            "base_url": private, "auth_header": "X", "secret": "s"})
        assert_error(refused, 422, "private_upstream")
    assert_error(client.get("/gateway/abc/x", headers={"X-Api-Key": api["key"]}), 404)
    assert_error(client.get("/gateway/0/x", headers={"X-Api-Key": api["key"]}), 404)

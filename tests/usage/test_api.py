"""Contracts end to end through the API: made at payment, enforced at every file download, each
refusal logged although its request failed."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select, update

from shujiao.db import unit_of_work, utcnow
from shujiao.errors import DomainError
from shujiao.usage import service as usage
from shujiao.usage.models import Contract, Denial
from tests.api import assert_error, headers_of, list_product, market_with_one_product
from tests.factories import make_member
from tests.usage.test_odrl import check_policy

LIMITED = {"terms": {"term_days": 30, "max_downloads": 2, "purposes": ["research", "risk_control"]}}


def _paid(client, market, purpose: str | None = "research") -> int:  # type: ignore[no-untyped-def]
    body = {"product_id": market.product_id, **({"purpose": purpose} if purpose else {})}
    order = client.post("/api/v1/orders", json=body, headers=market.buyer)
    assert order.status_code == 201, order.text
    order_id = order.json()["id"]
    assert client.post(f"/api/v1/orders/{order_id}/pay", headers=market.buyer).status_code == 200
    return order_id


def _download(client, market, order_id: int):  # type: ignore[no-untyped-def]
    link = client.get(f"/api/v1/orders/{order_id}/delivery", headers=market.buyer)
    if link.status_code != 200:
        return link
    return client.get(link.json()["download_url"], headers=market.buyer)


def _denials(session_factory, order_id: int) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with unit_of_work(session_factory) as session:
        return [(d.action, d.rule) for d in session.scalars(
            select(Denial).where(Denial.order_id == order_id).order_by(Denial.id))]


def _set_window(session_factory, order_id: int, starts_at: dt.datetime, ends_at: dt.datetime | None) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(session_factory) as session:
        session.execute(update(Contract).where(Contract.order_id == order_id)
                        .values(starts_at=starts_at, ends_at=ends_at))


@pytest.fixture
def market(client, session_factory):  # type: ignore[no-untyped-def]
    return market_with_one_product(client, session_factory, offer=LIMITED)


def test_payment_makes_a_contract_and_an_agreement_both_sides_see(client, market):
    offer = client.get(f"/api/v1/products/{market.product_id}/odrl")  # public: the product is listed
    assert offer.status_code == 200 and offer.headers["content-type"].startswith("application/ld+json")
    check_policy(offer.json(), "Offer")
    assert client.get(f"/api/v1/products/{market.product_id}", headers=market.buyer).json()["offer"]["terms"][
        "max_downloads"] == 2
    order_id = _paid(client, market)
    contract = client.get(f"/api/v1/contracts/{order_id}", headers=market.buyer).json()
    assert contract["status"] == "active" and contract["purpose"] == "research"
    assert (contract["max_downloads"], contract["downloads_used"]) == (2, 0)
    starts, ends = (dt.datetime.fromisoformat(contract[k]) for k in ("starts_at", "ends_at"))
    assert ends - starts == dt.timedelta(days=30)
    assert any("仅限科学研究" in line for line in contract["policy_zh"])
    assert client.get(f"/api/v1/contracts/{order_id}", headers=market.seller).json()["policy_zh"] == contract["policy_zh"]

    agreement = client.get(f"/api/v1/contracts/{order_id}/odrl", headers=market.seller).json()
    check_policy(agreement, "Agreement")
    assert agreement["uid"] == f"urn:shujiao:agreement:{order_id}"
    assert agreement["assignee"] == f"urn:shujiao:member:{market.buyer_handle.member_id}"
    assert agreement["assigner"] == f"urn:shujiao:member:{market.seller_handle.member_id}"
    window = {c["operator"]: dt.datetime.fromisoformat(c["rightOperand"]["@value"].replace("Z", "+00:00"))
              for c in agreement["permission"][0]["constraint"] if c["leftOperand"] == "dateTime"}
    assert window == {"gteq": starts, "lteq": ends}
    assert client.get(f"/api/v1/orders/{order_id}", headers=market.buyer).json()["product"]["offer"]["terms"][
        "term_days"] == 30


def test_a_purpose_outside_the_offer_is_refused(client, market):
    response = client.post("/api/v1/orders", json={"product_id": market.product_id, "purpose": "marketing"},
                           headers=market.buyer)
    assert_error(response, 422, "purpose_not_allowed")
    assert_error(client.post("/api/v1/orders", json={"product_id": market.product_id, "purpose": "spying"},
                             headers=market.buyer), 422)


def test_downloads_past_the_count_are_refused_and_logged(client, session_factory, market):
    order_id = _paid(client, market)
    for _ in range(2):
        assert _download(client, market, order_id).status_code == 200
    spare = client.get(f"/api/v1/orders/{order_id}/delivery", headers=market.buyer)
    assert spare.status_code == 403  # no link for a contract with no download left
    body = assert_error(spare, 403, "usage_denied")
    assert body["details"]["rule"] == "count_exhausted" and "下载次数" in body["message"]
    contract = client.get(f"/api/v1/contracts/{order_id}", headers=market.buyer).json()
    assert contract["downloads_used"] == 2
    assert _denials(session_factory, order_id) == [("download", "count_exhausted")]
    logged = client.get(f"/api/v1/contracts/{order_id}/denials", headers=market.seller).json()
    assert [d["rule"] for d in logged] == ["count_exhausted"]
    events = client.get("/api/v1/audit/events", params={"action": "usage.denial.record"}, headers=market.op).json()
    assert len(events) == 1 and events[0]["subject_id"] == str(order_id)


def test_a_link_issued_before_the_count_ran_out_is_refused_too(client, session_factory, market):
    order_id = _paid(client, market)
    links = [client.get(f"/api/v1/orders/{order_id}/delivery", headers=market.buyer).json()["download_url"]
             for _ in range(3)]
    assert [client.get(link, headers=market.buyer).status_code for link in links] == [200, 200, 403]
    assert _denials(session_factory, order_id) == [("download", "count_exhausted")]


def test_a_download_outside_the_window_is_refused_and_logged(client, session_factory, market):
    order_id = _paid(client, market)
    link = client.get(f"/api/v1/orders/{order_id}/delivery", headers=market.buyer).json()["download_url"]
    now = utcnow()
    _set_window(session_factory, order_id, now - dt.timedelta(days=31), now - dt.timedelta(seconds=1))
    refused = assert_error(client.get(link, headers=market.buyer), 403, "usage_denied")
    assert refused["details"]["rule"] == "window_ended"
    assert client.get(f"/api/v1/contracts/{order_id}", headers=market.buyer).json()["status"] == "expired"
    _set_window(session_factory, order_id, now + dt.timedelta(days=1), now + dt.timedelta(days=31))
    refused = assert_error(_download(client, market, order_id), 403, "usage_denied")
    assert refused["details"]["rule"] == "not_started"
    assert _denials(session_factory, order_id) == [("download", "window_ended"), ("download", "not_started")]
    assert client.get(f"/api/v1/contracts/{order_id}", headers=market.buyer).json()["downloads_used"] == 0


def test_another_member_is_refused_and_the_attempt_is_logged(client, session_factory, market):
    order_id = _paid(client, market)
    intruder = headers_of(client, make_member(session_factory, market.operator, kind="buyer"))
    before = client.get("/api/v1/audit/events", params={"limit": 1000}, headers=market.op).json()
    for headers in (intruder, market.seller):
        assert_error(client.get(f"/api/v1/orders/{order_id}/delivery", headers=headers), 404)
    assert client.get("/api/v1/audit/events", params={"limit": 1000}, headers=market.op).json() == before
    assert _denials(session_factory, order_id) == [("download", "not_buyer"), ("download", "not_buyer")]


def test_revocation_stops_downloads(client, session_factory, market):
    order_id = _paid(client, market)
    link = client.get(f"/api/v1/orders/{order_id}/delivery", headers=market.buyer).json()["download_url"]
    assert_error(client.post(f"/api/v1/contracts/{order_id}/revoke", headers=market.buyer, json={"reason": "不要了"}), 403)
    assert_error(client.post(f"/api/v1/contracts/{order_id}/revoke", headers=market.seller), 422, "reason_required")
    revoked = client.post(f"/api/v1/contracts/{order_id}/revoke", headers=market.seller, json={"reason": "买方违约转售"})
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert revoked.json()["revoke_reason"] == "买方违约转售"
    refused = assert_error(client.get(link, headers=market.buyer), 403, "usage_denied")
    assert refused["details"]["rule"] == "revoked"
    assert_error(client.post(f"/api/v1/contracts/{order_id}/revoke", headers=market.op), 409, "bad_state")
    assert _denials(session_factory, order_id) == [("download", "revoked")]
    events = client.get("/api/v1/audit/events", params={"action": "usage.contract.revoke"}, headers=market.op).json()
    assert len(events) == 1


def test_a_refund_revokes_the_contract(client, market):
    order_id = _paid(client, market)
    assert client.post(f"/api/v1/orders/{order_id}/refund", headers=market.op, json={"reason": "争议"}).status_code == 200
    contract = client.get(f"/api/v1/contracts/{order_id}", headers=market.buyer).json()
    assert contract["status"] == "revoked" and contract["revoke_reason"].startswith("refund")
    assert_error(client.get(f"/api/v1/orders/{order_id}/delivery", headers=market.buyer), 409, "not_deliverable")


def test_a_product_not_delivered_as_files_is_not_downloaded(client, session_factory):
    market = market_with_one_product(client, session_factory, offer={"terms": {"delivery_modes": ["api"]}})
    order_id = _paid(client, market, purpose=None)
    refused = assert_error(client.get(f"/api/v1/orders/{order_id}/delivery", headers=market.buyer), 403, "usage_denied")
    assert refused["details"]["rule"] == "mode_not_allowed"
    with unit_of_work(session_factory) as session:
        grant = usage.authorize_use(session, market.buyer_handle.actor, order_id=order_id, action="call")
        assert grant.order_id == order_id and grant.offer.terms.delivery_modes == ["api"]
        with pytest.raises(DomainError, match="not delivered this way"):
            usage.authorize_use(session, market.buyer_handle.actor, order_id=order_id, action="read")


def test_a_subscription_renews_period_after_period(client, session_factory):
    market = market_with_one_product(client, session_factory, price_fen=10_00, offer={
        "plan": {"kind": "subscription", "period_days": 30}})
    order_id = _paid(client, market, purpose=None)
    first = client.get(f"/api/v1/contracts/{order_id}", headers=market.buyer).json()
    assert dt.datetime.fromisoformat(first["ends_at"]) - dt.datetime.fromisoformat(first["starts_at"]) == \
        dt.timedelta(days=30)
    assert_error(client.post(f"/api/v1/contracts/{order_id}/renew", headers=market.seller), 403)
    renewed = client.post(f"/api/v1/contracts/{order_id}/renew", headers=market.buyer)
    assert renewed.status_code == 200, renewed.text
    body = renewed.json()
    assert len(body["periods"]) == 2 and body["periods"][1]["starts_at"] == first["ends_at"]
    assert dt.datetime.fromisoformat(body["ends_at"]) - dt.datetime.fromisoformat(first["starts_at"]) == \
        dt.timedelta(days=60)
    renewal_id = body["periods"][1]["order_id"]
    renewal = client.get(f"/api/v1/orders/{renewal_id}", headers=market.buyer).json()
    assert (renewal["status"], renewal["amount_fen"]) == ("delivered", 10_00)
    account = client.get(f"/api/v1/accounts/{market.buyer_handle.member_id}", headers=market.buyer).json()
    assert account["held_fen"] == 20_00
    # The first period over, the chain's second one serves the same contract number.
    now = utcnow()
    _set_window(session_factory, order_id, now - dt.timedelta(days=30), now - dt.timedelta(seconds=1))
    _set_window(session_factory, renewal_id, now - dt.timedelta(seconds=1), now + dt.timedelta(days=30))
    assert _download(client, market, order_id).status_code == 200


def test_only_a_subscription_is_renewed(client, market):
    order_id = _paid(client, market)
    assert_error(client.post(f"/api/v1/contracts/{order_id}/renew", headers=market.buyer), 409, "not_subscription")


def test_two_concurrent_downloads_cannot_both_take_the_last_one(client, session_factory):
    market = market_with_one_product(client, session_factory, offer={"terms": {"max_downloads": 1}})
    order_id = _paid(client, market, purpose=None)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def download() -> None:
        barrier.wait()
        try:
            with unit_of_work(session_factory) as session:
                usage.authorize_use(session, market.buyer_handle.actor, order_id=order_id, action="download")
            outcomes.append("ok")
        except DomainError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=download) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok", "usage_denied"]
    with unit_of_work(session_factory) as session:
        assert session.get(Contract, order_id).downloads_used == 1


# Another member asks for a contract's ids: 404, and nothing changes (tests/test_tenancy_coverage.py).
FOREIGN = [("GET", "/api/v1/contracts/{order_id}", None),
           ("GET", "/api/v1/contracts/{order_id}/odrl", None),
           ("GET", "/api/v1/contracts/{order_id}/denials", None),
           ("POST", "/api/v1/contracts/{order_id}/revoke", {"reason": "恶意撤销"}),
           ("POST", "/api/v1/contracts/{order_id}/renew", None),
           ("GET", "/api/v1/products/{draft_id}/odrl", None)]


@pytest.mark.parametrize("method,path,body", FOREIGN, ids=[f"{m} {p}" for m, p, _ in FOREIGN])
def test_another_member_gets_404_and_changes_nothing(client, session_factory, market, method, path, body):
    order_id = _paid(client, market)
    draft_id = client.post("/api/v1/products", headers=market.seller, json={
        "resource_id": client.get(f"/api/v1/products/{market.product_id}", headers=market.seller).json()["resource_id"],
        "dataset_id": client.get(f"/api/v1/products/{market.product_id}", headers=market.seller).json()["dataset_id"],
        "title": "草稿", "description": "未提交", "price_fen": 1}).json()["id"]
    intruder = headers_of(client, make_member(session_factory, market.operator, kind="provider", deposit_fen=100_00))
    before = client.get("/api/v1/audit/events", params={"limit": 1000}, headers=market.op).json()
    assert_error(client.request(method, path.format(order_id=order_id, draft_id=draft_id), json=body,
                                headers=intruder), 404)
    assert client.get("/api/v1/audit/events", params={"limit": 1000}, headers=market.op).json() == before
    assert client.get(f"/api/v1/contracts/{order_id}", headers=market.buyer).json()["status"] == "active"


def test_the_offer_is_set_on_the_product_and_frozen_in_the_order(client, market):
    product_id = market.product_id
    assert client.post(f"/api/v1/products/{product_id}/delist", headers=market.seller).status_code == 200
    bad = client.patch(f"/api/v1/products/{product_id}", headers=market.seller,
                       json={"offer": {"plan": {"kind": "per_call"}}})
    assert_error(bad, 422)
    assert client.get(f"/api/v1/products/{product_id}", headers=market.seller).json()["offer"]["terms"]["max_downloads"] == 2
    per_call = {"plan": {"kind": "per_call", "price_per_1000_calls_fen": 500, "quota_calls_per_period": 10_000},
                "terms": {"delivery_modes": ["api"]}}
    changed = client.patch(f"/api/v1/products/{product_id}", headers=market.seller, json={"offer": per_call})
    assert changed.status_code == 200 and changed.json()["offer"]["plan"]["kind"] == "per_call"
    assert changed.json()["offer"]["terms"]["max_downloads"] is None
    offer = client.get(f"/api/v1/products/{product_id}/odrl", headers=market.seller).json()
    assert {"leftOperand": "deliveryChannel", "operator": "eq", "rightOperand": "api"} in \
        offer["permission"][0]["constraint"]

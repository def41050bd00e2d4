"""Valuations over the JSON API: the worked examples, refusals as 4xx JSON, and tenancy."""

from __future__ import annotations

import pytest

from tests.api import assert_error, create_resource, headers_of, market_with_one_product, upload
from tests.factories import make_member

INCOME = {"method": "income", "income": ["1000000"], "discount_rate": "0.1", "remaining_life": 3}


def _settled_order(client, market) -> int:  # type: ignore[no-untyped-def]
    order_id = market.order(client)
    assert client.post(f"/api/v1/orders/{order_id}/pay", headers=market.buyer).status_code == 200
    link = client.get(f"/api/v1/orders/{order_id}/delivery", headers=market.buyer).json()["download_url"]
    assert client.get(link, headers=market.buyer).status_code == 200  # delivered
    accepted = client.post(f"/api/v1/orders/{order_id}/accept", headers=market.buyer)
    assert accepted.json()["status"] == "settled", accepted.text
    return order_id


@pytest.fixture
def world(client, session_factory):  # type: ignore[no-untyped-def]
    market = market_with_one_product(client, session_factory, deposit_fen=5_000_00, price_fen=2_000_00)
    settled = _settled_order(client, market)
    unpaid = market.order(client)
    intruder = headers_of(client, make_member(session_factory, market.operator))
    dataset_id = upload(client, market.seller, create_resource(client, market.seller)).json()["id"]
    return {"market": market, "seller": market.seller, "intruder": intruder, "settled": settled, "unpaid": unpaid,
            "dataset_id": dataset_id}


def test_value_a_dataset_by_the_income_method_then_finalize(client, world):
    seller = world["seller"]
    created = client.post("/api/v1/valuations", headers=seller, json={
        "subject_type": "dataset", "subject_id": world["dataset_id"], "inputs": INCOME})
    assert created.status_code == 201, created.text
    body = created.json()
    # 100万/yr × 3 years at 10 % = ¥2,486,851.99 (see test_formulas)
    assert (body["value_fen"], body["status"], body["method"]) == (248_685_199, "draft", "income")
    assert body["result"]["formula"].startswith("P = Σ")
    assert len(body["result"]["intermediates"]["years"]) == 3 and len(body["result"]["sensitivity"]) == 8
    report_id = body["id"]

    revised = client.put(f"/api/v1/valuations/{report_id}/inputs", headers=seller, json={"inputs": {
        "method": "cost", "costs": {"collection": "100000"}, "quality_score": "80"}})
    assert revised.status_code == 200, revised.text
    assert revised.json()["value_fen"] == 80_000_00  # ¥100,000 × 80/100
    assert client.post(f"/api/v1/valuations/{report_id}/finalize", headers=seller).json()["status"] == "final"
    assert_error(client.put(f"/api/v1/valuations/{report_id}/inputs", headers=seller, json={"inputs": INCOME}),
                 409, "bad_state")
    listed = client.get("/api/v1/valuations", headers=seller).json()
    assert [r["id"] for r in listed] == [report_id]


def test_market_method_on_the_exchanges_trades(client, world):
    seller = world["seller"]
    trades = client.get("/api/v1/valuations/comparables", headers=seller, params={"domain": "信用"})
    assert [(t["order_id"], t["price_fen"]) for t in trades.json()] == [(world["settled"], 2_000_00)]
    assert "buyer_member_id" not in trades.json()[0]
    created = client.post("/api/v1/valuations", headers=seller, json={
        "subject_type": "text", "subject_text": "同类企业信用数据", "inputs": {"method": "market", "comparables": [
            # ¥2,000.00 × 1.1 × 0.9 = ¥1,980.00; the outside case ¥1,800.00 × 1.0; mean = ¥1,890.00
            {"order_id": world["settled"], "supply_demand_factor": "1.1", "date_factor": "0.9"},
            {"reference": "某数据交易所 2026-10 成交", "price": "1800"}]}})
    assert created.status_code == 201, created.text
    assert created.json()["value_fen"] == 1_890_00
    refused = client.post("/api/v1/valuations", headers=seller, json={
        "subject_type": "text", "subject_text": "x", "inputs": {"method": "market", "comparables": [
            {"order_id": world["unpaid"]}]}})
    assert_error(refused, 422, "not_a_settled_trade")


@pytest.mark.parametrize("body", [
    {"subject_type": "text", "subject_text": "x", "inputs": {**INCOME, "discount_rate": "-0.1"}},
    {"subject_type": "text", "subject_text": "x", "inputs": {**INCOME, "discount_rate": "abc"}},
    {"subject_type": "text", "subject_text": "x", "inputs": {**INCOME, "variant": "share"}},
    {"subject_type": "text", "subject_text": "x", "inputs": {**INCOME, "method": "astrology"}},
    {"subject_type": "text", "subject_text": "x", "inputs": {"method": "cost", "costs": {}}},
    {"subject_type": "text", "subject_text": "x", "inputs": {"method": "market", "comparables": []}},
    {"subject_type": "text", "subject_text": "x", "inputs": {**INCOME, "income": [1e300]}},
    {"subject_type": "dataset", "inputs": INCOME},
    {"subject_type": "text", "subject_text": "x"},
    [],
])
def test_bad_input_is_a_422_json_error(client, world, body):
    assert_error(client.post("/api/v1/valuations", headers=world["seller"], json=body), 422)


FOREIGN = [("GET", "/api/v1/valuations/{report_id}", None),
           ("PUT", "/api/v1/valuations/{report_id}/inputs", {"inputs": INCOME}),
           ("POST", "/api/v1/valuations/{report_id}/finalize", None),
           ("GET", "/api/v1/valuations/{report_id}/pdf", None),
           ("POST", "/api/v1/valuations", "foreign_dataset")]


@pytest.mark.parametrize("method,path,body", FOREIGN, ids=[f"{m} {p}" for m, p, _ in FOREIGN])
def test_another_members_report_or_subject_is_404(client, world, method, path, body):
    report_id = client.post("/api/v1/valuations", headers=world["seller"], json={
        "subject_type": "dataset", "subject_id": world["dataset_id"], "inputs": INCOME}).json()["id"]
    if body == "foreign_dataset":
        body = {"subject_type": "dataset", "subject_id": world["dataset_id"], "inputs": INCOME}
    op = world["market"].op
    before = client.get("/api/v1/audit/events", params={"limit": 1000}, headers=op).json()
    assert_error(client.request(method, path.format(report_id=report_id), json=body, headers=world["intruder"]), 404)
    assert client.get("/api/v1/audit/events", params={"limit": 1000}, headers=op).json() == before
    assert client.get("/api/v1/valuations", headers=world["intruder"]).json() == []


def test_login_is_required(client, world):
    assert_error(client.get("/api/v1/valuations"), 401)
    assert_error(client.get("/api/v1/valuations/comparables"), 401)
    assert_error(client.post("/api/v1/valuations", json={"subject_type": "text", "subject_text": "x",
                                                         "inputs": INCOME}), 401)


def test_the_report_as_a_pdf(client, world):
    import pypdfium2 as pdfium

    report_id = client.post("/api/v1/valuations", headers=world["seller"], json={
        "subject_type": "text", "subject_text": "企业信用数据", "inputs": INCOME}).json()["id"]
    response = client.get(f"/api/v1/valuations/{report_id}/pdf", headers=world["seller"])
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    document = pdfium.PdfDocument(response.content)
    text = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    # The worked example (100万/yr × 3 years at 10 %), its first discount factor and a sensitivity row.
    assert "¥2,486,851.99" in text and "0.909091" in text and "¥2,577,096.99" in text
    assert "收益法" in text and "income method" in text and "草稿" in text
    assert_error(client.get(f"/api/v1/valuations/{report_id}/pdf", headers=world["intruder"]), 404)

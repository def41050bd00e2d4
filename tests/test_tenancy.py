"""Tenants are walled off: every endpoint that takes an id answers 404 for another member's object."""

from __future__ import annotations

import pytest

from tests.api import assert_error, create_resource, headers_of, list_product, upload
from tests.factories import make_member, make_operator


@pytest.fixture
def world(client, session_factory):  # type: ignore[no-untyped-def]
    operator = make_operator(session_factory)
    op = headers_of(client, operator)
    seller_handle = make_member(session_factory, operator)
    seller = headers_of(client, seller_handle)
    buyer_handle = make_member(session_factory, operator, kind="buyer", deposit_fen=1_000_00)
    buyer = headers_of(client, buyer_handle)
    intruder_handle = make_member(session_factory, operator, kind="provider", deposit_fen=1_000_00)
    intruder = headers_of(client, intruder_handle)

    product_id = list_product(client, seller, op)
    resource_id = create_resource(client, seller)
    dataset_id = upload(client, seller, resource_id).json()["id"]
    draft_id = client.post("/api/v1/products", json={
        "resource_id": resource_id, "dataset_id": dataset_id, "title": "草稿产品", "description": "未提交",
        "price_fen": 1}, headers=seller).json()["id"]
    order_id = client.post("/api/v1/orders", json={"product_id": product_id}, headers=buyer).json()["id"]
    client.post(f"/api/v1/orders/{order_id}/pay", headers=buyer)
    link = client.get(f"/api/v1/orders/{order_id}/delivery", headers=buyer).json()["download_url"]
    application_id = client.post("/api/v1/registrations", headers=seller, json={
        "subject_type": "dataset", "subject_id": dataset_id, "title": "待登记数据", "rights": ["holding"],
        "source": "self_collected"}).json()["id"]
    document_id = client.post(f"/api/v1/registrations/{application_id}/documents", headers=seller,
                              files={"file": ("来源证明.pdf", b"%PDF-1.4 private")}).json()["id"]
    return {
        "op": op, "seller": seller, "buyer": buyer, "intruder": intruder, "seller_id": seller_handle.member_id,
        "buyer_id": buyer_handle.member_id, "product_id": product_id, "resource_id": resource_id,
        "dataset_id": dataset_id, "draft_id": draft_id, "order_id": order_id, "link": link,
        "application_id": application_id, "document_id": document_id,
    }


FOREIGN_REQUESTS = [
    ("GET", "/api/v1/members/{seller_id}", None),
    ("GET", "/api/v1/resources/{resource_id}", None),
    ("GET", "/api/v1/resources/{resource_id}/datasets", None),
    ("GET", "/api/v1/datasets/{dataset_id}", None),
    ("GET", "/api/v1/products/{draft_id}", None),
    ("GET", "/api/v1/products/{draft_id}/reviews", None),
    ("PATCH", "/api/v1/products/{draft_id}", {"title": "偷改"}),
    ("POST", "/api/v1/products/{draft_id}/submit", None),
    ("POST", "/api/v1/products/{product_id}/delist", None),
    ("POST", "/api/v1/products", "foreign_dataset"),
    ("GET", "/api/v1/orders/{order_id}", None),
    ("POST", "/api/v1/orders/{order_id}/pay", None),
    ("POST", "/api/v1/orders/{order_id}/accept", None),
    ("POST", "/api/v1/orders/{order_id}/cancel", None),
    ("GET", "/api/v1/orders/{order_id}/delivery", None),
    ("GET", "/api/v1/orders/{order_id}/evidence", None),
    ("GET", "{link}", None),
    ("GET", "/api/v1/accounts/{buyer_id}", None),
    ("GET", "/api/v1/accounts/{buyer_id}/statement", None),
    ("GET", "/api/v1/registrations/{application_id}", None),
    ("POST", "/api/v1/registrations/{application_id}/submit", None),
    ("POST", "/api/v1/registrations/{application_id}/withdraw", None),
    ("GET", "/api/v1/registrations/documents/{document_id}", None),
    ("POST", "/api/v1/registrations", "foreign_registration"),
]


@pytest.mark.parametrize("method,path,body", FOREIGN_REQUESTS, ids=[f"{m} {p}" for m, p, _ in FOREIGN_REQUESTS])
def test_another_member_gets_404_and_changes_nothing(client, world, method, path, body):
    url = path.format(**world)
    if body == "foreign_dataset":
        body = {"resource_id": world["resource_id"], "dataset_id": world["dataset_id"], "title": "盗用",
                "description": "别人的数据", "price_fen": 1}
    if body == "foreign_registration":
        body = {"subject_type": "dataset", "subject_id": world["dataset_id"], "title": "盗登", "rights": ["holding"],
                "source": "self_collected"}
    before = client.get("/api/v1/audit/events", params={"limit": 1000}, headers=world["op"]).json()
    response = client.request(method, url, json=body, headers=world["intruder"])
    assert_error(response, 404)
    after = client.get("/api/v1/audit/events", params={"limit": 1000}, headers=world["op"]).json()
    assert after == before


FOREIGN_UPLOADS = [
    ("POST", "/api/v1/resources/{resource_id}/datasets", ("data.csv", "企业名称,信用评分\n伪造,1\n".encode())),
    ("POST", "/api/v1/registrations/{application_id}/documents", ("伪造.pdf", b"%PDF-1.4 forged")),
]


@pytest.mark.parametrize("method,path,file", FOREIGN_UPLOADS, ids=[f"{m} {p}" for m, p, _ in FOREIGN_UPLOADS])
def test_a_foreign_upload_is_404(client, world, method, path, file):
    before = client.get("/api/v1/audit/events", params={"limit": 1000}, headers=world["op"]).json()
    response = client.request(method, path.format(**world), headers=world["intruder"], files={"file": file})
    assert_error(response, 404)
    assert client.get("/api/v1/audit/events", params={"limit": 1000}, headers=world["op"]).json() == before


def test_the_owner_still_sees_everything(client, world):
    assert client.get(f"/api/v1/products/{world['draft_id']}", headers=world["seller"]).status_code == 200
    assert client.get(f"/api/v1/datasets/{world['dataset_id']}", headers=world["seller"]).status_code == 200
    # The provider of an order sees it, but may not act as its buyer.
    assert client.get(f"/api/v1/orders/{world['order_id']}", headers=world["seller"]).status_code == 200
    assert_error(client.post(f"/api/v1/orders/{world['order_id']}/accept", headers=world["seller"]), 404)
    assert_error(client.get(world["link"], headers=world["seller"]), 404)
    assert client.get(world["link"], headers=world["buyer"]).status_code == 200


def test_members_cannot_use_operator_endpoints(client, world):
    buyer = world["buyer"]
    assert_error(client.post(f"/api/v1/accounts/{world['buyer_id']}/deposits", headers=buyer,
                             json={"amount_fen": 1, "reference": "fake"}), 403)
    assert_error(client.post(f"/api/v1/members/{world['seller_id']}/approve", headers=buyer), 403)
    assert_error(client.post(f"/api/v1/orders/{world['order_id']}/refund", headers=buyer), 403)
    assert_error(client.post(f"/api/v1/products/{world['draft_id']}/review", headers=buyer, json={
        "decision": "reject", "reason": "不行", "checklist": {k: False for k in (
            "legal_source", "personal_information", "security_grade", "intellectual_property", "negative_list")}}),
        403)
    assert_error(client.get("/api/v1/ledger/check", headers=buyer), 403)
    assert_error(client.get("/api/v1/audit/events", headers=buyer), 403)
    assert_error(client.get("/api/v1/members", headers=buyer), 403)


def test_no_token_is_401_and_a_bad_token_is_401(client, world):
    assert_error(client.get("/api/v1/accounts/me"), 401)
    assert_error(client.get("/api/v1/accounts/me", headers={"Authorization": "Bearer nonsense"}), 401)

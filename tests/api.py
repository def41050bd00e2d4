"""Helpers for driving the JSON API in tests, the way a client program would."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from tests.factories import CSV_BYTES, MemberHandle, ensure_keys, random_credit_code

ALL_CHECKED = {"legal_source": True, "personal_information": True, "security_grade": True,
               "intellectual_property": True, "negative_list": True}


def login(client: TestClient, username: str, password: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def headers_of(client: TestClient, handle: MemberHandle) -> dict[str, str]:
    return login(client, handle.username, handle.password)


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] and error["message"]
    if code:
        assert error["code"] == code, error
    return error


def apply(client: TestClient, *, kind: str = "provider", username: str = "newco", name: str = "新公司") -> Any:
    return client.post("/api/v1/members", json={
        "name": name, "credit_code": random_credit_code(), "kind": kind,
        "admin": {"username": username, "password": "a-good-password"},
    })


def create_resource(client: TestClient, headers: dict[str, str], *, grade: str = "general",
                    domain: str = "信用") -> int:
    body: dict[str, Any] = {"name": "企业信用数据", "description": "", "domain": domain, "grade": grade}
    if grade == "general":
        body["sensitivity"] = 2
    response = client.post("/api/v1/resources", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def upload(client: TestClient, headers: dict[str, str], resource_id: int, content: bytes = CSV_BYTES,
           filename: str = "data.csv") -> Any:
    # Uploads are sealed with the master key, as after `shujiao keys init`.
    ensure_keys(client.app.state.session_factory, client.app.state.settings)  # type: ignore[attr-defined]
    return client.post(f"/api/v1/resources/{resource_id}/datasets", files={"file": (filename, content)},
                       headers=headers)


def list_product(client: TestClient, provider: dict[str, str], operator: dict[str, str], *,
                 price_fen: int = 100_00, title: str = "企业信用评分数据",
                 description: str = "贵州企业公共信用综合评分", domain: str = "信用",
                 offer: dict[str, Any] | None = None, content: bytes = CSV_BYTES,
                 filename: str = "data.csv") -> int:
    resource_id = create_resource(client, provider, domain=domain)
    dataset_id = upload(client, provider, resource_id, content, filename).json()["id"]
    product = client.post("/api/v1/products", json={
        "resource_id": resource_id, "dataset_id": dataset_id, "title": title,
        "description": description, "price_fen": price_fen, **({"offer": offer} if offer else {})}, headers=provider)
    assert product.status_code == 201, product.text
    product_id = product.json()["id"]
    assert client.post(f"/api/v1/products/{product_id}/submit", headers=provider).status_code == 200
    review = client.post(f"/api/v1/products/{product_id}/review", headers=operator,
                         json={"decision": "approve", "checklist": ALL_CHECKED, "reason": "合规"})
    assert review.status_code == 200, review.text
    return product_id


@dataclass
class Market:
    """An operator, a provider with one listed product and a buyer with money, all logged in."""

    operator: MemberHandle
    op: dict[str, str]
    seller_handle: MemberHandle
    seller: dict[str, str]
    buyer_handle: MemberHandle
    buyer: dict[str, str]
    product_id: int

    def order(self, client: TestClient) -> int:
        response = client.post("/api/v1/orders", json={"product_id": self.product_id}, headers=self.buyer)
        assert response.status_code == 201, response.text
        return response.json()["id"]


def market_with_one_product(client: TestClient, session_factory: Any, *, deposit_fen: int = 1_000_00,
                            price_fen: int = 100_00, offer: dict[str, Any] | None = None) -> Market:
    from tests.factories import make_member, make_operator

    operator = make_operator(session_factory)
    op = headers_of(client, operator)
    seller_handle = make_member(session_factory, operator)
    seller = headers_of(client, seller_handle)
    buyer_handle = make_member(session_factory, operator, kind="buyer", deposit_fen=deposit_fen)
    buyer = headers_of(client, buyer_handle)
    product_id = list_product(client, seller, op, price_fen=price_fen, offer=offer)
    return Market(operator, op, seller_handle, seller, buyer_handle, buyer, product_id)

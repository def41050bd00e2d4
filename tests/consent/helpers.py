"""Driving the personal data authorization hub as a person's client would."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
from fastapi.testclient import TestClient

from shujiao.consent import service as consent
from tests.api import Market, list_product, market_with_one_product

SCENARIO = {"name": "小微企业主信用评估", "purpose": "credit_assessment", "description": "用于贷前评估",
            "data_items": ["age", "amount"], "key_column": "person_key", "max_days": 365}


def phone(i: int) -> str:
    return f"138{i:08d}"


def person_key(client: TestClient, number: str) -> str:
    return consent.person_key(client.app.state.settings, kind="phone", value=number)  # type: ignore[attr-defined]


def person_login(client: TestClient, number: str) -> dict[str, str]:
    started = client.post("/api/v1/persons/challenges", json={"phone": number})
    assert started.status_code == 201, started.text
    token = client.post("/api/v1/persons/token", json={"challenge_id": started.json()["challenge_id"],
                                                       "code": started.json()["dev_code"]})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def people_table(client: TestClient, people: int, rows_each: int = 2) -> pa.Table:
    keys = [person_key(client, phone(i)) for i in range(people) for _ in range(rows_each)]
    n = len(keys)
    return pa.table({"person_key": keys, "district": ["南明区"] * n, "age": [30 + i % 20 for i in range(n)],
                     "amount": [100.0 + i for i in range(n)]})


def csv_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pacsv.write_csv(table, sink)
    return sink.getvalue()


@dataclass
class PersonalProduct:
    market: Market
    product_id: int
    scenario: dict[str, Any]


def personal_product(client: TestClient, session_factory: Any, content: bytes, *, filename: str = "people.csv",
                     offer: dict[str, Any] | None = None, market: Market | None = None,
                     **scenario: Any) -> PersonalProduct:
    market = market or market_with_one_product(client, session_factory, offer=offer)
    product_id = list_product(client, market.seller, market.op, title="个人信贷数据", content=content,
                              filename=filename, offer=offer)
    declared = client.post(f"/api/v1/products/{product_id}/consent-scenarios", json={**SCENARIO, **scenario},
                           headers=market.seller)
    assert declared.status_code == 201, declared.text
    return PersonalProduct(market, product_id, declared.json())


def paid_order(client: TestClient, market: Market, product_id: int) -> int:
    order = client.post("/api/v1/orders", json={"product_id": product_id}, headers=market.buyer)
    assert order.status_code == 201, order.text
    assert client.post(f"/api/v1/orders/{order.json()['id']}/pay", headers=market.buyer).status_code == 200
    return order.json()["id"]


def download_rows(client: TestClient, market: Market, order_id: int) -> Any:
    url = client.get(f"/api/v1/orders/{order_id}/delivery", headers=market.buyer).json()["download_url"]
    return client.get(url, headers=market.buyer)

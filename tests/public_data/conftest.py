"""A data authority with two departments, a negative list, and one resource of each open class;
a buyer and an outsider; built through the JSON API on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api import create_resource, headers_of, upload
from tests.factories import MemberHandle, make_member, make_operator

OPEN_CSV = "日期,线路,客流量\n2026-11-01,1号线,120345\n2026-11-01,2号线,98012\n".encode()
CONDITIONAL_CSV = "企业名称,行政处罚次数,最近处罚日期\n贵州数智科技有限公司,0,\n贵阳筑城物流有限公司,2,2026-05-11\n".encode()
CLOSED_CSV = "变电站,负荷\n南明220kV,812\n".encode()
BASE = "/api/v1/public-data"


@dataclass
class World:
    client: TestClient
    operator: MemberHandle
    authority: MemberHandle
    auth: dict[str, str]
    departments: list[int]
    public: dict[str, int]  # open class -> public resource id
    datasets: dict[str, int]  # open class -> dataset id
    buyer: MemberHandle
    buyer_h: dict[str, str]
    outsider: MemberHandle
    outsider_h: dict[str, str]

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
        return self.client.post(BASE + path, json=body, headers=headers if headers is not None else self.auth)


def publish(client: TestClient, auth: dict[str, str], *, department_id: int, open_class: str, content: bytes,
            grade: str = "general", domain: str = "交通", filename: str = "data.csv", **extra: Any) -> tuple[Any, int]:
    resource_id = create_resource(client, auth, grade=grade, domain=domain)
    uploaded = upload(client, auth, resource_id, content, filename)
    assert uploaded.status_code == 201, uploaded.text
    body = {"resource_id": resource_id, "department_id": department_id, "open_class": open_class,
            "update_frequency": "monthly", **extra}
    if open_class == "conditional":
        body.setdefault("conditions", "仅限信用评估用途，不得转售")
    return client.post(f"{BASE}/resources", json=body, headers=auth), uploaded.json()["id"]


@pytest.fixture
def world(client, session_factory) -> World:  # type: ignore[no-untyped-def]
    operator = make_operator(session_factory)
    authority = make_member(session_factory, operator, kind="authority", name="贵阳市大数据管理局")
    auth = headers_of(client, authority)
    departments = []
    for name, code in (("贵阳市交通委员会", "JTW"), ("贵阳市市场监督管理局", "SCJG")):
        response = client.post(f"{BASE}/departments", json={"name": name, "code": code}, headers=auth)
        assert response.status_code == 201, response.text
        departments.append(response.json()["id"])
    for rule in ({"kind": "field", "term": "身份证", "reason": "个人敏感信息"},
                 {"kind": "category", "term": "国家安全", "reason": "涉及国家安全"}):
        assert client.post(f"{BASE}/negative-list", json=rule, headers=auth).status_code == 201
    public, datasets = {}, {}
    for open_class, content, department, grade in (("unconditional", OPEN_CSV, 0, "general"),
                                                   ("conditional", CONDITIONAL_CSV, 1, "general"),
                                                   ("closed", CLOSED_CSV, 0, "core")):
        response, dataset_id = publish(client, auth, department_id=departments[department], open_class=open_class,
                                       content=content, grade=grade,
                                       fields=[{"name": "日期", "description": "统计日期"}])
        assert response.status_code == 201, response.text
        public[open_class], datasets[open_class] = response.json()["id"], dataset_id
    buyer = make_member(session_factory, operator, kind="buyer")
    outsider = make_member(session_factory, operator, kind="buyer")
    return World(client, operator, authority, auth, departments, public, datasets, buyer, headers_of(client, buyer),
                 outsider, headers_of(client, outsider))

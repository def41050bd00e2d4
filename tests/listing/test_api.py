from __future__ import annotations

from tests.api import ALL_CHECKED, assert_error, create_resource, headers_of, list_product, upload
from tests.factories import make_member, make_operator


def _draft(client, provider, grade="general", price_fen=100_00):  # type: ignore[no-untyped-def]
    resource_id = create_resource(client, provider, grade=grade)
    dataset_id = upload(client, provider, resource_id).json()["id"]
    return client.post("/api/v1/products", headers=provider, json={
        "resource_id": resource_id, "dataset_id": dataset_id, "title": "城市交通流量数据",
        "description": "小时级车流量", "price_fen": price_fen})


def test_core_data_can_never_be_listed(client, session_factory):
    operator = make_operator(session_factory)
    provider = headers_of(client, make_member(session_factory, operator))
    assert_error(_draft(client, provider, grade="core"), 422, "core_data_not_listable")
    assert client.get("/api/v1/products/mine", headers=provider).json() == []


def test_only_provider_members_list(client, session_factory):
    operator = make_operator(session_factory)
    buyer = headers_of(client, make_member(session_factory, operator, kind="buyer"))
    assert_error(_draft(client, buyer), 403)


def test_review_needs_the_whole_checklist_to_approve_and_a_reason_to_reject(client, session_factory):
    operator = make_operator(session_factory)
    op = headers_of(client, operator)
    provider = headers_of(client, make_member(session_factory, operator))
    product_id = _draft(client, provider).json()["id"]
    assert_error(client.post(f"/api/v1/products/{product_id}/review", headers=op,
                             json={"decision": "approve", "checklist": ALL_CHECKED, "reason": ""}), 409, "bad_state")
    client.post(f"/api/v1/products/{product_id}/submit", headers=provider)
    assert [p["id"] for p in client.get("/api/v1/products/review-queue", headers=op).json()] == [product_id]
    assert_error(client.patch(f"/api/v1/products/{product_id}", headers=provider, json={"price_fen": 1}), 409)

    partial = {**ALL_CHECKED, "personal_information": False}
    assert_error(client.post(f"/api/v1/products/{product_id}/review", headers=op,
                             json={"decision": "approve", "checklist": partial, "reason": "ok"}), 422)
    assert_error(client.post(f"/api/v1/products/{product_id}/review", headers=op,
                             json={"decision": "reject", "checklist": partial, "reason": ""}), 422)
    rejected = client.post(f"/api/v1/products/{product_id}/review", headers=op,
                           json={"decision": "reject", "checklist": partial, "reason": "含未授权个人信息"})
    assert rejected.status_code == 200 and rejected.json()["decision"] == "reject"
    product = client.get(f"/api/v1/products/{product_id}", headers=provider).json()
    assert product["status"] == "rejected" and product["version"] == 1
    assert client.get(f"/api/v1/products/{product_id}/reviews", headers=provider).json()[0]["reason"] == "含未授权个人信息"
    assert_error(client.get(f"/api/v1/products/{product_id}"), 404)  # not public

    # Fixed and resubmitted: a new version is reviewed and listed.
    assert client.patch(f"/api/v1/products/{product_id}", headers=provider,
                        json={"description": "已去除个人信息"}).status_code == 200
    client.post(f"/api/v1/products/{product_id}/submit", headers=provider)
    approved = client.post(f"/api/v1/products/{product_id}/review", headers=op,
                           json={"decision": "approve", "checklist": ALL_CHECKED, "reason": ""})
    assert approved.json()["product_version"] == 2
    public = client.get(f"/api/v1/products/{product_id}").json()
    assert public["status"] == "listed" and public["disclosure"]["dataset"]["rows"] == 2


def test_chinese_search_finds_products_by_words(client, session_factory):
    operator = make_operator(session_factory)
    op = headers_of(client, operator)
    provider = headers_of(client, make_member(session_factory, operator))
    credit = list_product(client, provider, op, title="贵州企业信用评分数据")
    traffic = list_product(client, provider, op, title="贵阳城市交通流量", description="贵州省会主干道小时级车流量",
                           domain="交通")

    def ids(q: str) -> set[int]:
        return {p["id"] for p in client.get("/api/v1/products", params={"q": q}).json()}

    assert ids("") == {credit, traffic}
    assert ids("信用") == {credit}
    assert ids("企业信用数据") == {credit}  # segmented into 企业 / 信用 / 数据, all present
    assert ids("交通 流量") == {traffic}
    assert ids("贵州") == {credit, traffic}  # the description mentions 贵州 too
    assert ids("100%_") == set()
    assert_error(client.get("/api/v1/products", params={"q": "长" * 101}), 422)

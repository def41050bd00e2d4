from __future__ import annotations

from tests.api import apply, assert_error, headers_of, login
from tests.factories import make_member, make_operator, random_credit_code


def test_application_is_validated_and_changes_nothing_when_bad(client, session_factory):
    operator = make_operator(session_factory)
    op = headers_of(client, operator)
    bad_bodies = [
        {"name": "某公司", "credit_code": "91350100M000100Y44", "kind": "provider",
         "admin": {"username": "abc", "password": "long-enough"}},
        {"name": "某公司", "credit_code": random_credit_code(), "kind": "operator",
         "admin": {"username": "abc", "password": "long-enough"}},
        {"name": "某公司", "credit_code": random_credit_code(), "kind": "buyer",
         "admin": {"username": "abc", "password": "short"}},
        {"name": "某公司", "credit_code": random_credit_code(), "kind": "buyer",
         "admin": {"username": "a b", "password": "long-enough"}},
        {"name": "某公司", "credit_code": random_credit_code(), "kind": "buyer"},
        {"name": "某公司", "credit_code": random_credit_code(), "kind": "buyer", "extra": 1,
         "admin": {"username": "abc", "password": "long-enough"}},
    ]
    for body in bad_bodies:
        error = assert_error(client.post("/api/v1/members", json=body), 422, "invalid_input")
        assert "请求内容有误" in error["message"]
    assert_error(client.post("/api/v1/members", content=b"{not json", headers={"content-type": "application/json"}),
                 422)
    assert client.get("/api/v1/members", headers=op).json() == []


def test_duplicates_are_409(client, session_factory):
    code = random_credit_code()
    body = {"name": "甲公司", "credit_code": code, "kind": "buyer", "admin": {"username": "jia", "password": "pass-word-1"}}
    assert client.post("/api/v1/members", json=body).status_code == 201
    assert_error(client.post("/api/v1/members", json=body), 409, "credit_code_taken")
    body2 = {**body, "credit_code": random_credit_code()}
    assert_error(client.post("/api/v1/members", json=body2), 409, "username_taken")


def test_operator_approves_or_rejects_with_a_reason(client, session_factory):
    op = headers_of(client, make_operator(session_factory))
    first = apply(client, username="first").json()["id"]
    second = apply(client, username="second").json()["id"]
    pending = client.get("/api/v1/members", params={"status": "pending"}, headers=op).json()
    assert {m["id"] for m in pending} == {first, second}

    assert_error(client.post(f"/api/v1/members/{second}/reject", json={"reason": ""}, headers=op), 422)
    rejected = client.post(f"/api/v1/members/{second}/reject", json={"reason": "营业执照信息不一致"}, headers=op)
    assert rejected.json()["status"] == "rejected" and rejected.json()["decision_reason"] == "营业执照信息不一致"
    assert_error(client.post(f"/api/v1/members/{second}/approve", headers=op), 409, "already_decided")
    assert client.post(f"/api/v1/members/{first}/approve", headers=op).json()["status"] == "approved"
    assert_error(client.post("/api/v1/members/999999/approve", headers=op), 404)

    # The rejected applicant can still log in and read why, but cannot do business.
    me = client.get("/api/v1/members/me", headers=login(client, "second", "a-good-password")).json()
    assert me["member"]["status"] == "rejected"


def test_a_pending_member_cannot_list_or_buy(client, session_factory):
    operator = make_operator(session_factory)
    pending = headers_of(client, make_member(session_factory, operator, approved=False))
    assert_error(client.post("/api/v1/resources", headers=pending, json={
        "name": "数据", "domain": "信用", "grade": "general", "sensitivity": 1}), 403)
    assert_error(client.post("/api/v1/products", headers=pending, json={
        "resource_id": 1, "dataset_id": 1, "title": "产品", "description": "描述", "price_fen": 1}), 403)
    assert_error(client.post("/api/v1/orders", headers=pending, json={"product_id": 1}), 403)
    assert_error(client.get("/api/v1/accounts/me", headers=pending), 404)


def test_member_admin_adds_staff_and_staff_cannot_add_users(client, session_factory):
    operator = make_operator(session_factory)
    admin = headers_of(client, make_member(session_factory, operator))
    created = client.post("/api/v1/members/me/users", headers=admin,
                          json={"username": "clerk", "password": "clerk-password", "role": "staff"})
    assert created.status_code == 201 and created.json()["role"] == "staff"
    staff = login(client, "clerk", "clerk-password")
    assert client.get("/api/v1/members/me", headers=staff).json()["user"]["username"] == "clerk"
    assert_error(client.post("/api/v1/members/me/users", headers=staff,
                             json={"username": "clerk2", "password": "clerk-password"}), 403)


def test_login_and_logout(client, session_factory):
    handle = make_member(session_factory, make_operator(session_factory))
    assert_error(client.post("/api/v1/auth/token", data={"username": handle.username, "password": "wrong-pass"}),
                 401, "bad_credentials")
    assert_error(client.post("/api/v1/auth/token", data={"username": "nobody", "password": "wrong-pass"}),
                 401, "bad_credentials")
    headers = login(client, handle.username, handle.password)
    assert client.get("/api/v1/members/me", headers=headers).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert_error(client.get("/api/v1/members/me", headers=headers), 401, "invalid_token")

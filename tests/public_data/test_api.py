"""The public data catalog end to end over the API: open, conditional and closed data, the
negative list, applications and their documents, data requests, the ledger, surveys, tenancy."""

from __future__ import annotations

import io
import json

import pytest

from shujiao.public_data.dcat import ACCESS_RIGHTS
from tests.api import assert_error, create_resource, headers_of, upload
from tests.factories import make_member
from tests.public_data.conftest import BASE, CONDITIONAL_CSV, OPEN_CSV, World, publish


def test_anyone_lists_the_catalog_and_downloads_open_data_without_logging_in(world: World) -> None:
    client = world.client
    listed = client.get(f"{BASE}/resources").json()
    assert {r["open_class"] for r in listed} == {"unconditional", "conditional", "closed"}
    by_class = {r["open_class"]: r for r in listed}
    assert by_class["unconditional"]["department"]["name"] == "贵阳市交通委员会"
    assert by_class["unconditional"]["authority_name"] == "贵阳市大数据管理局"
    [dataset] = by_class["unconditional"]["datasets"]
    assert dataset["download_url"] == f"{BASE}/datasets/{world.datasets['unconditional']}/download"
    assert by_class["conditional"]["datasets"][0]["download_url"] is None
    assert by_class["closed"]["datasets"] == [] and by_class["closed"]["fields"] == []
    # By department.
    second = client.get(f"{BASE}/resources", params={"department_id": world.departments[1]}).json()
    assert [r["open_class"] for r in second] == ["conditional"]

    response = client.get(dataset["download_url"])  # anonymous: no headers at all
    assert response.status_code == 200, response.text
    assert response.content == OPEN_CSV  # the plaintext, decrypted from the vault
    assert response.headers["x-content-sha256"] == dataset["sha256"]


def test_closed_data_never_leaves(world: World) -> None:
    client, closed = world.client, world.datasets["closed"]
    for headers in ({}, world.buyer_h, world.outsider_h, world.auth):
        assert_error(client.get(f"{BASE}/datasets/{closed}/download", headers=headers), 403, "not_open")
    assert_error(world.post(f"/resources/{world.public['closed']}/applications",
                            {"purpose": "研究", "scenario": "电网规划"}, world.buyer_h), 409, "not_conditional")
    document = client.get(f"{BASE}/catalog.jsonld").text
    assert f"/datasets/{closed}" not in document
    [node] = [d for d in json.loads(document)["dcat:dataset"] if d["@id"].endswith(f"/resources/{world.public['closed']}")]
    assert "dcat:distribution" not in node and node["dct:accessRights"]["@id"] == ACCESS_RIGHTS["closed"]
    # A dataset outside the public catalog is not there at all.
    provider = make_member(client.app.state.session_factory, world.operator)  # type: ignore[attr-defined]
    p = headers_of(client, provider)
    private = upload(client, p, create_resource(client, p)).json()["id"]
    assert_error(client.get(f"{BASE}/datasets/{private}/download"), 404)
    assert_error(client.get(f"{BASE}/datasets/999999/download"), 404)


def test_the_negative_list_and_core_data_are_never_opened(world: World) -> None:
    client, auth, department = world.client, world.auth, world.departments[0]
    with_id = "姓名,身份证号码,地址\n张三,520102199001011234,贵阳\n".encode()
    response, _ = publish(client, auth, department_id=department, open_class="unconditional", content=with_id)
    error = assert_error(response, 422, "not_openable")
    assert (error["details"]["rule"], error["details"]["field"]) == ("negative_list", "身份证号码")
    response, _ = publish(client, auth, department_id=department, open_class="conditional", content=OPEN_CSV,
                          fields=[{"name": "居民身份证"}])
    assert assert_error(response, 422, "not_openable")["details"]["term"] == "身份证"
    response, _ = publish(client, auth, department_id=department, open_class="unconditional", content=OPEN_CSV,
                          domain="国家安全")
    assert assert_error(response, 422, "not_openable")["details"]["kind"] == "category"
    response, _ = publish(client, auth, department_id=department, open_class="unconditional", content=OPEN_CSV,
                          grade="core")
    assert assert_error(response, 422, "not_openable")["details"]["rule"] == "core_data_closed"
    # The same data as closed is fine; opening it later is refused by the same rules.
    response, _ = publish(client, auth, department_id=department, open_class="closed", content=with_id)
    assert response.status_code == 201, response.text
    update = {"open_class": "unconditional", "update_frequency": "daily"}
    assert assert_error(client.put(f"{BASE}/resources/{response.json()['id']}", json=update, headers=auth),
                        422, "not_openable")["details"]["rule"] == "negative_list"
    assert assert_error(client.put(f"{BASE}/resources/{world.public['closed']}", json=update, headers=auth),
                        422, "not_openable")["details"]["rule"] == "core_data_closed"
    # A later upload with a forbidden column is withheld from an open resource, never served.
    resource_id = client.get(f"{BASE}/resources/{world.public['unconditional']}").json()["resource_id"]
    late = upload(client, auth, resource_id, with_id, "late.csv").json()["id"]
    datasets = client.get(f"{BASE}/resources/{world.public['unconditional']}").json()["datasets"]
    assert [d["id"] for d in datasets] == [world.datasets["unconditional"]]
    assert_error(client.get(f"{BASE}/datasets/{late}/download"), 403, "not_open")
    # The negative list is public.
    assert {r["term"] for r in client.get(f"{BASE}/negative-list").json()} == {"身份证", "国家安全"}


def test_only_an_authority_keeps_a_catalog_and_only_of_its_own_resources(world: World) -> None:
    client = world.client
    assert_error(world.post("/departments", {"name": "某某局", "code": "X"}, world.buyer_h), 403)
    assert_error(world.post("/negative-list", {"kind": "field", "term": "x"}, world.buyer_h), 403)
    assert_error(world.post("/departments", {"name": "贵阳市交通委员会", "code": "JTW"}), 409, "department_exists")
    provider = make_member(client.app.state.session_factory, world.operator)  # type: ignore[attr-defined]
    foreign_resource = create_resource(client, headers_of(client, provider))
    assert_error(world.post("/resources", {"resource_id": foreign_resource, "department_id": world.departments[0],
                                           "open_class": "unconditional", "update_frequency": "daily"}), 404)
    resource_id = client.get(f"{BASE}/resources/{world.public['unconditional']}").json()["resource_id"]
    assert_error(world.post("/resources", {"resource_id": resource_id, "department_id": world.departments[0],
                                           "open_class": "closed", "update_frequency": "daily"}), 409)
    assert_error(world.post("/resources", {"resource_id": resource_id, "department_id": world.departments[0],
                                           "open_class": "conditional", "update_frequency": "daily"}), 422)


def test_conditional_data_needs_an_approved_application(world: World) -> None:
    client, dataset = world.client, world.datasets["conditional"]
    url = f"{BASE}/datasets/{dataset}/download"
    assert_error(client.get(url), 401)
    assert_error(client.get(url, headers=world.buyer_h), 403)
    created = world.post(f"/resources/{world.public['conditional']}/applications",
                         {"purpose": "供应链授信前筛查", "scenario": "银行对公授信"}, world.buyer_h)
    assert created.status_code == 201, created.text
    application_id = created.json()["id"]
    assert_error(world.post(f"/resources/{world.public['conditional']}/applications",
                            {"purpose": "再次申请", "scenario": "同上"}, world.buyer_h), 409, "pending_application")
    document = client.post(f"{BASE}/applications/{application_id}/documents", headers=world.buyer_h,
                           files={"file": ("授权书.pdf", b"%PDF-1.4 letter of authorization")})
    assert document.status_code == 201, document.text
    document_id = document.json()["id"]
    assert_error(client.get(url, headers=world.buyer_h), 403)  # still under review

    seen = client.get(f"{BASE}/applications/{application_id}", headers=world.auth).json()
    assert seen["status"] == "submitted" and [d["id"] for d in seen["documents"]] == [document_id]
    assert client.get(f"{BASE}/documents/{document_id}", headers=world.auth).content == b"%PDF-1.4 letter of authorization"
    decided = world.post(f"/applications/{application_id}/decision", {"approve": True, "reason": "用途合规"})
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    assert_error(world.post(f"/applications/{application_id}/decision", {"approve": False, "reason": "改判"}), 409)

    response = client.get(url, headers=world.buyer_h)
    assert response.status_code == 200 and response.content == CONDITIONAL_CSV
    assert_error(client.get(url, headers=world.outsider_h), 403)
    # A rejected application gives nothing.
    rejected = world.post(f"/resources/{world.public['conditional']}/applications",
                          {"purpose": "营销", "scenario": "广告投放"}, world.outsider_h).json()["id"]
    assert world.post(f"/applications/{rejected}/decision", {"approve": False, "reason": "用途不符"}).json()["status"] == "rejected"
    assert_error(client.get(url, headers=world.outsider_h), 403)
    assert [a["id"] for a in client.get(f"{BASE}/applications", headers=world.outsider_h).json()] == [rejected]


def test_another_member_cannot_see_an_application_or_its_documents(world: World) -> None:
    client = world.client
    application_id = world.post(f"/resources/{world.public['conditional']}/applications",
                                {"purpose": "研究", "scenario": "学术"}, world.buyer_h).json()["id"]
    document_id = client.post(f"{BASE}/applications/{application_id}/documents", headers=world.buyer_h,
                              files={"file": ("营业执照.png", b"secret scan")}).json()["id"]
    other_authority = headers_of(client, make_member(client.app.state.session_factory, world.operator,  # type: ignore[attr-defined]
                                                     kind="authority"))
    for headers in (world.outsider_h, other_authority):
        assert_error(client.get(f"{BASE}/applications/{application_id}", headers=headers), 404)
        assert_error(client.get(f"{BASE}/documents/{document_id}", headers=headers), 404)
        assert client.get(f"{BASE}/applications", headers=headers).json() == []
        assert "secret scan" not in client.get(f"{BASE}/resources/{world.public['conditional']}", headers=headers).text
    assert_error(client.get(f"{BASE}/documents/{document_id}"), 401)
    assert client.get(f"{BASE}/documents/{document_id}", headers=world.buyer_h).content == b"secret scan"


def test_data_requests_are_public_routed_and_answered(world: World) -> None:
    client = world.client
    body = {"authority_member_id": world.authority.member_id, "title": "公交实时到站数据",
            "reason": "开发出行App", "scenario": "市民出行", "contact": "13800000000"}
    created = client.post(f"{BASE}/requests", json=body)  # anonymous
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    assert created.json()["status"] == "open" and "13800000000" not in created.text
    assert "13800000000" not in client.get(f"{BASE}/requests").text
    assert_error(client.post(f"{BASE}/requests", json={**body, "authority_member_id": world.buyer.member_id}),
                 422, "unknown_authority")
    assert_error(world.post(f"/requests/{request_id}/route", {"department_id": world.departments[0]},
                            world.buyer_h), 403)
    routed = world.post(f"/requests/{request_id}/route", {"department_id": world.departments[0]})
    assert routed.status_code == 200 and routed.json()["status"] == "routed" and routed.json()["due_at"]
    answered = world.post(f"/requests/{request_id}/answer", {"outcome": "refused", "answer": "涉及运营企业商业秘密"})
    assert (answered.json()["status"], answered.json()["answer"]) == ("refused", "涉及运营企业商业秘密")
    assert_error(world.post(f"/requests/{request_id}/answer", {"outcome": "answered", "answer": "改答"}), 409)
    counts = {c["department_id"]: c for c in client.get(f"{BASE}/request-counts").json()}
    assert (counts[world.departments[0]]["refused"], counts[world.departments[0]]["overdue"]) == (1, 0)


def test_the_department_ledger_counts_resources_by_open_class(world: World) -> None:
    client = world.client
    ledger = client.get(f"{BASE}/departments/{world.departments[0]}/ledger", headers=world.auth).json()
    assert ledger["by_open_class"] == {"unconditional": 1, "conditional": 0, "closed": 1}
    assert ledger["total"] == 2 and ledger["stale"] == 0  # just uploaded, monthly
    assert_error(client.get(f"{BASE}/departments/{world.departments[0]}/ledger", headers=world.buyer_h), 404)


def test_a_survey_round_shows_which_departments_have_not_filled_it(world: World) -> None:
    survey = world.post("/surveys", {"title": "2026年第四季度资源调查", "period": "2026-Q4",
                                     "items": ["目录已更新", "数据已归集"], "due_at": "2026-12-31T00:00:00+08:00"})
    assert survey.status_code == 201, survey.text
    survey_id = survey.json()["id"]
    assert sorted(survey.json()["missing_departments"]) == sorted(world.departments)
    assert_error(world.post(f"/surveys/{survey_id}/responses", {"department_id": world.departments[0], "answers": [
        {"item": "目录已更新", "done": True}]}), 422, "incomplete_survey")
    filled = world.post(f"/surveys/{survey_id}/responses", {"department_id": world.departments[0], "answers": [
        {"item": "目录已更新", "done": True}, {"item": "数据已归集", "done": False, "note": "下月完成"}]})
    assert filled.status_code == 200 and filled.json()["missing_departments"] == [world.departments[1]]


FOREIGN = [
    ("PUT", "/api/v1/public-data/resources/{public_id}", {"open_class": "closed", "update_frequency": "daily"}),
    ("GET", "/api/v1/public-data/departments/{department_id}/ledger", None),
    ("GET", "/api/v1/public-data/applications/{application_id}", None),
    ("POST", "/api/v1/public-data/applications/{application_id}/documents", None),
    ("GET", "/api/v1/public-data/documents/{document_id}", None),
    ("POST", "/api/v1/public-data/applications/{application_id}/decision", {"approve": True, "reason": "越权批准"}),
    ("POST", "/api/v1/public-data/requests/{request_id}/route", {"department_id": 1}),
    ("POST", "/api/v1/public-data/requests/{request_id}/answer", {"outcome": "answered", "answer": "越权答复"}),
    ("GET", "/api/v1/public-data/surveys/{survey_id}", None),
    ("POST", "/api/v1/public-data/surveys/{survey_id}/responses", {"department_id": 1, "answers": [
        {"item": "目录已更新", "done": True}]}),
]


@pytest.fixture
def walled(world: World):  # type: ignore[no-untyped-def]
    client = world.client
    application_id = world.post(f"/resources/{world.public['conditional']}/applications",
                                {"purpose": "研究", "scenario": "学术"}, world.buyer_h).json()["id"]
    document_id = client.post(f"{BASE}/applications/{application_id}/documents", headers=world.buyer_h,
                              files={"file": ("a.pdf", b"doc")}).json()["id"]
    request_id = client.post(f"{BASE}/requests", json={
        "authority_member_id": world.authority.member_id, "title": "数据", "reason": "理由", "scenario": "场景",
        "contact": "a@b.cn"}).json()["id"]
    survey_id = world.post("/surveys", {"title": "资源调查", "period": "2026-Q4", "items": ["目录已更新"],
                                        "due_at": "2026-12-31T00:00:00+08:00"}).json()["id"]
    intruder = headers_of(client, make_member(client.app.state.session_factory, world.operator,  # type: ignore[attr-defined]
                                              kind="authority"))
    ids = {"public_id": world.public["unconditional"], "department_id": world.departments[0],
           "application_id": application_id, "document_id": document_id, "request_id": request_id,
           "survey_id": survey_id}
    return ids, intruder


@pytest.mark.parametrize("method,path,body", FOREIGN, ids=[f"{m} {p}" for m, p, _ in FOREIGN])
def test_another_authority_gets_404_or_403_and_changes_nothing(world: World, walled, method, path, body) -> None:  # type: ignore[no-untyped-def]
    ids, intruder = walled
    client = world.client

    def state() -> tuple[object, ...]:
        return (client.get(f"{BASE}/resources/{ids['public_id']}").json(),
                client.get(f"{BASE}/applications/{ids['application_id']}", headers=world.auth).json(),
                client.get(f"{BASE}/requests/{ids['request_id']}").json(),
                client.get(f"{BASE}/surveys/{ids['survey_id']}", headers=world.auth).json())

    before = state()
    kwargs = {"files": {"file": ("x.pdf", io.BytesIO(b"x"))}} if path.endswith("/documents") else {"json": body}
    response = client.request(method, path.format(**ids), headers=intruder, **kwargs)
    # Requests are public (403 for anyone but their authority); everything else looks absent (404).
    assert_error(response, 403 if "/requests/" in path else 404)
    assert state() == before

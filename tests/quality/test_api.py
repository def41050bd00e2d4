"""The quality API end to end (provider → assessor → product page), tenancy for every endpoint that
takes an id, bad input as 4xx JSON, and the PDF read back."""

from __future__ import annotations

import json

import pypdfium2 as pdfium
import pytest
from typer.testing import CliRunner

from shujiao.cli import app

from shujiao.quality import signature
from shujiao.registry import statement as registry_statement
from tests.api import assert_error, create_resource, headers_of, upload
from tests.factories import make_member, make_operator
from tests.quality.test_service import BAD_CODE, CSV, RULES, list_dataset


def pdf_text(pdf: bytes) -> str:
    """The text of every page, without the spaces and line breaks that layout puts in."""
    document = pdfium.PdfDocument(pdf)
    text = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    return text.replace(" ", "").replace("\r", "").replace("\n", "")


@pytest.fixture
def parties(client, session_factory):  # type: ignore[no-untyped-def]
    operator = make_operator(session_factory)
    provider = make_member(session_factory, operator, name="贵州数智科技有限公司")
    assessor = make_member(session_factory, operator, kind="assessor", name="四川数据资产评估有限公司")
    intruder = make_member(session_factory, operator)
    intruder_assessor = make_member(session_factory, operator, kind="assessor")
    headers = {name: headers_of(client, handle) for name, handle in (
        ("op", operator), ("provider", provider), ("assessor", assessor), ("intruder", intruder),
        ("intruder_assessor", intruder_assessor))}
    resource_id = create_resource(client, headers["provider"])
    dataset = upload(client, headers["provider"], resource_id, content=CSV, filename="credit.csv").json()
    return {**headers, "operator": operator, "provider_handle": provider, "assessor_id": assessor.member_id, "provider_id": provider.member_id, "resource_id": resource_id, "dataset_id": dataset["id"]}


def quality_cert_confusion(bundle: dict, keys: dict) -> bool:  # type: ignore[type-arg]
    """A signature bundle presented as a certificate bundle does not pass as one."""
    return registry_statement.verify_bundle({**bundle, "number": bundle["report_id"]}, keys).ok


def test_provider_commissions_assessor_signs_and_buyers_see_the_summary(client, session_factory, parties, tmp_path):  # type: ignore[no-untyped-def]
    provider, assessor, dataset_id = parties["provider"], parties["assessor"], parties["dataset_id"]
    base = f"/api/v1/quality/datasets/{dataset_id}"

    state = client.get(f"{base}/rules", headers=provider).json()
    assert state["current"] is None and "credit_code" in state["draft"]
    saved = client.put(f"{base}/rules", headers=provider, json={"text": RULES})
    assert saved.status_code == 201 and saved.json()["version"] == 1
    assert client.get(f"{base}/rules", headers=provider).json()["current"]["rules_text"] == RULES

    own = client.post(f"{base}/reports", headers=provider)
    assert own.status_code == 201, own.text
    own_report = own.json()
    assert own_report["full"] and own_report["profile"]["rows"] == 4 and own_report["rules_text"] == RULES
    assert own_report["overall_score"] == own_report["score"]["overall"]

    commission = client.post(f"{base}/commissions", headers=provider, json={
        "assessor": {"member_id": parties["assessor_id"]}, "note": "请评估并签署"})
    assert commission.status_code == 201, commission.text
    commission_id = commission.json()["id"]
    queue = client.get("/api/v1/quality/commissions/mine", headers=assessor).json()
    assert [(c["id"], c["status"], c["provider_name"]) for c in queue] == [
        (commission_id, "open", "贵州数智科技有限公司")]

    ran = client.post(f"{base}/reports", headers=assessor)
    assert ran.status_code == 201, ran.text
    report_id = ran.json()["id"]
    assert ran.json()["commission_id"] == commission_id and ran.json()["signature"] is None
    signed = client.post(f"/api/v1/quality/reports/{report_id}/signature", headers=assessor,
                         json={"opinion": "数据质量总体良好。"})
    assert signed.status_code == 201, signed.text
    signature_json = signed.json()
    assert signature_json["assessor_name"] == "四川数据资产评估有限公司" and signature_json["report_hash"].startswith("sm3:")
    assert client.get(f"/api/v1/quality/commissions/{commission_id}", headers=provider).json()["status"] == "signed"
    assert client.get(f"{base}/score", headers=provider).json() == {
        "dataset_id": dataset_id, "report_id": report_id, "overall_score": ran.json()["overall_score"],
        "grade": ran.json()["grade"]}

    # Not public until it is shown on a listed product.
    assert_error(client.get(f"/api/v1/quality/reports/{report_id}"), 404, "not_found")
    product_id = list_dataset(session_factory, parties["operator"], parties["provider_handle"], parties["dataset_id"])
    attached = client.post(f"/api/v1/quality/reports/{report_id}/attach", headers=provider,
                           json={"product_id": product_id})
    assert attached.status_code == 201, attached.text

    public = client.get(f"/api/v1/quality/reports/{report_id}")  # anyone, no login
    assert public.status_code == 200, public.text
    body = public.json()
    assert not body["full"] and "profile" not in body and "rules_text" not in body
    assert BAD_CODE not in public.text and "examples" not in public.text
    assert body["signature"]["assessor_name"] == "四川数据资产评估有限公司"
    assert {i["code"] for i in body["score"]["indicators"]} == {
        "conformity", "completeness", "accuracy", "consistency", "timeliness", "accessibility"}
    public_pdf = client.get(f"/api/v1/quality/reports/{report_id}/pdf")
    assert public_pdf.status_code == 200
    printed = pdf_text(public_pdf.content)
    assert "公开摘要" in printed and "四川数据资产评估有限公司" in printed and BAD_CODE not in printed
    product_quality = client.get(f"/api/v1/quality/products/{product_id}").json()
    assert product_quality["report"]["id"] == report_id and product_quality["report"]["grade"] == body["grade"]
    # The product page says so, to anyone.
    page = client.get(f"/products/{product_id}", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert 'id="product-quality"' in page.text and "四川数据资产评估有限公司" in page.text
    assert body["overall_score"] in page.text
    # The owner and the operator still get everything, failed values included.
    for reader in (provider, parties["op"]):
        whole = client.get(f"/api/v1/quality/reports/{report_id}", headers=reader)
        assert whole.json()["full"] and BAD_CODE in whole.text

    # The signature checks offline, by anyone, from its bundle; a changed opinion or report does not.
    bundle = client.get(f"/api/v1/quality/reports/{report_id}/signature/bundle")  # no login: the report is public
    assert bundle.status_code == 200, bundle.text
    keys = client.get("/api/v1/keys").json()
    check = signature.verify_bundle(bundle.json(), keys)
    assert check.ok, check.problems
    assert check.statement["assessor"]["name"] == "四川数据资产评估有限公司"
    assert check.statement["report"]["hash"] == signature_json["report_hash"]
    forged = {**bundle.json(), "statement": bundle.json()["statement"].replace("数据质量总体良好", "数据质量优秀")}
    assert "the exchange's signature over the statement does not verify" in signature.verify_bundle(forged, keys).problems
    other = {**bundle.json(), "report_id": str(report_id + 1)}
    assert not signature.verify_bundle(other, keys).ok
    assert not quality_cert_confusion(bundle.json(), keys)
    # The same check from the command line, against the keys saved beforehand.
    (tmp_path / "bundle.json").write_text(bundle.text, encoding="utf-8")
    (tmp_path / "keys.json").write_text(json.dumps(keys), encoding="utf-8")
    (tmp_path / "forged.json").write_text(json.dumps(forged), encoding="utf-8")
    verified = CliRunner().invoke(app, ["quality", "verify", str(tmp_path / "bundle.json"), "--keys",
                                        str(tmp_path / "keys.json")])
    assert verified.exit_code == 0, verified.output
    assert "verified 已验证" in verified.output and "四川数据资产评估有限公司" in verified.output
    refused = CliRunner().invoke(app, ["quality", "verify", str(tmp_path / "forged.json"), "--keys",
                                       str(tmp_path / "keys.json")])
    assert refused.exit_code == 1 and "NOT VERIFIED" in refused.output
    # An unsigned report has no bundle.
    assert_error(client.get(f"/api/v1/quality/reports/{own_report['id']}/signature/bundle", headers=provider), 404)


def test_the_pdf_opens_and_prints_the_numbers(client, parties):  # type: ignore[no-untyped-def]
    provider, dataset_id = parties["provider"], parties["dataset_id"]
    client.put(f"/api/v1/quality/datasets/{dataset_id}/rules", headers=provider, json={"text": RULES})
    report = client.post(f"/api/v1/quality/datasets/{dataset_id}/reports", headers=provider).json()
    response = client.get(f"/api/v1/quality/reports/{report['id']}/pdf", headers=provider)
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    document = pdfium.PdfDocument(response.content)
    compact = pdf_text(response.content)
    assert "数据质量评价报告" in compact and report["overall_score"] in compact
    assert "数据格式合规性" in compact and BAD_CODE in compact  # the whole report lists the failed values
    page = document[0].render(scale=1).to_pil().convert("L")
    assert page.getextrema()[0] < 100  # there is ink on the page
    # Someone else gets 404, not the PDF.
    assert_error(client.get(f"/api/v1/quality/reports/{report['id']}/pdf", headers=parties["intruder"]), 404)


@pytest.fixture
def ids(client, session_factory, parties):  # type: ignore[no-untyped-def]
    """A dataset with rules, a report, an open commission and a listed product, all the provider's."""
    provider, dataset_id = parties["provider"], parties["dataset_id"]
    client.put(f"/api/v1/quality/datasets/{dataset_id}/rules", headers=provider, json={"text": RULES})
    report_id = client.post(f"/api/v1/quality/datasets/{dataset_id}/reports", headers=provider).json()["id"]
    commission_id = client.post(f"/api/v1/quality/datasets/{dataset_id}/commissions", headers=provider, json={
        "assessor": {"member_id": parties["assessor_id"]}}).json()["id"]
    product_id = list_dataset(session_factory, parties["operator"], parties["provider_handle"], parties["dataset_id"])
    return {"dataset_id": dataset_id, "report_id": report_id, "commission_id": commission_id,
            "product_id": product_id}


FOREIGN_REQUESTS = [
    ("GET", "/api/v1/quality/datasets/{dataset_id}/rules", None),
    ("PUT", "/api/v1/quality/datasets/{dataset_id}/rules", {"text": RULES + "key: [企业名称]\n"}),
    ("GET", "/api/v1/quality/datasets/{dataset_id}/rules/history", None),
    ("POST", "/api/v1/quality/datasets/{dataset_id}/reports", None),
    ("GET", "/api/v1/quality/datasets/{dataset_id}/reports", None),
    ("GET", "/api/v1/quality/datasets/{dataset_id}/score", None),
    ("GET", "/api/v1/quality/reports/{report_id}", None),
    ("GET", "/api/v1/quality/reports/{report_id}/pdf", None),
    ("POST", "/api/v1/quality/reports/{report_id}/signature", {"opinion": "冒签"}),
    ("GET", "/api/v1/quality/reports/{report_id}/signature/bundle", None),
    ("POST", "/api/v1/quality/reports/{report_id}/attach", {"product_id": "product_id"}),
    ("POST", "/api/v1/quality/datasets/{dataset_id}/commissions", {"assessor": {"member_id": "assessor_id"}}),
    ("GET", "/api/v1/quality/commissions/{commission_id}", None),
    ("POST", "/api/v1/quality/commissions/{commission_id}/withdraw", None),
]


@pytest.mark.parametrize("who", ["intruder", "intruder_assessor"])
@pytest.mark.parametrize("method,path,body", FOREIGN_REQUESTS, ids=[f"{m} {p}" for m, p, _ in FOREIGN_REQUESTS])
def test_another_member_gets_404_and_changes_nothing(client, parties, ids, who, method, path, body):  # type: ignore[no-untyped-def]
    values = {**ids, "assessor_id": parties["assessor_id"]}
    if isinstance(body, dict):
        body = {k: (values[v] if isinstance(v, str) and v in values else v) for k, v in body.items()}
        if "assessor" in body:
            body["assessor"] = {"member_id": values["assessor_id"]}
    before = client.get(f"/api/v1/quality/datasets/{ids['dataset_id']}/reports", headers=parties["provider"]).json()
    response = client.request(method, path.format(**ids), json=body, headers=parties[who])
    assert_error(response, 404, "not_found")
    after = client.get(f"/api/v1/quality/datasets/{ids['dataset_id']}/reports", headers=parties["provider"]).json()
    assert after == before
    provider = parties["provider"]
    assert client.get(f"/api/v1/quality/datasets/{ids['dataset_id']}/rules/history", headers=provider).json()[0][
        "version"] == 1
    assert client.get(f"/api/v1/quality/commissions/{ids['commission_id']}", headers=provider).json()["status"] == "open"
    assert client.get(f"/api/v1/quality/products/{ids['product_id']}").status_code == 404  # nothing attached


BAD_INPUT = [
    ("PUT", "/api/v1/quality/datasets/{dataset_id}/rules", {"text": "fields: [unclosed"}, 422, "bad_rules"),
    ("PUT", "/api/v1/quality/datasets/{dataset_id}/rules", {"text": "fields:\n  - column: 企业名称\n    validator: x\n"},
     422, "bad_rules"),
    ("PUT", "/api/v1/quality/datasets/{dataset_id}/rules", {"text": "key: [不存在的列]\n"}, 422, "bad_rules"),
    ("PUT", "/api/v1/quality/datasets/{dataset_id}/rules", {"text": "weights: {accuracy: -1}\n"}, 422, "bad_rules"),
    ("PUT", "/api/v1/quality/datasets/{dataset_id}/rules", {"text": ""}, 422, None),
    ("PUT", "/api/v1/quality/datasets/{dataset_id}/rules", {"text": "x" * 100_001}, 422, None),
    ("PUT", "/api/v1/quality/datasets/{dataset_id}/rules", {"rules": RULES}, 422, None),
    ("PUT", "/api/v1/quality/datasets/{dataset_id}/rules", {"text": RULES}, 422, "no_change"),
    ("POST", "/api/v1/quality/datasets/{dataset_id}/commissions", {"assessor": {"credit_code": "123"}}, 422, None),
    ("POST", "/api/v1/quality/datasets/{dataset_id}/commissions", {"assessor": {}}, 422, None),
    ("POST", "/api/v1/quality/datasets/{dataset_id}/commissions", {"assessor": {"member_id": "provider_id"}},
     422, "not_an_assessor"),
    ("POST", "/api/v1/quality/datasets/{dataset_id}/commissions", {"assessor": {"member_id": "assessor_id"}},
     409, "already_commissioned"),
    ("POST", "/api/v1/quality/reports/{report_id}/signature", {"opinion": ""}, 422, None),
    ("POST", "/api/v1/quality/reports/{report_id}/signature", {"opinion": "自评也想签"}, 403, "permission_denied"),
    ("POST", "/api/v1/quality/reports/{report_id}/attach", {"product_id": "x"}, 422, None),
    ("POST", "/api/v1/quality/reports/{report_id}/attach", {"product_id": 2**63}, 422, None),
    ("GET", "/api/v1/quality/reports/99999999999999999999", None, 422, None),
    ("GET", "/api/v1/quality/reports/0", None, 422, None),
    ("GET", "/api/v1/quality/datasets/999999/score", None, 404, "not_found"),
]


@pytest.mark.parametrize("method,path,body,status,code", BAD_INPUT,
                         ids=[f"{m} {p} {i}" for i, (m, p, *_) in enumerate(BAD_INPUT)])
def test_bad_input_is_a_4xx_json_error(client, parties, ids, method, path, body, status, code):  # type: ignore[no-untyped-def]
    values = {**ids, "assessor_id": parties["assessor_id"], "provider_id": parties["provider_id"]}
    if isinstance(body, dict) and isinstance(body.get("assessor"), dict) and isinstance(
            body["assessor"].get("member_id"), str):
        body = {**body, "assessor": {"member_id": values[body["assessor"]["member_id"]]}}
    response = client.request(method, path.format(**ids), json=body, headers=parties["provider"])
    assert_error(response, status, code)


def test_an_evaluation_without_rules_is_a_409(client, parties):  # type: ignore[no-untyped-def]
    response = client.post(f"/api/v1/quality/datasets/{parties['dataset_id']}/reports", headers=parties["provider"])
    assert_error(response, 409, "rules_required")
    assert_error(client.post(f"/api/v1/quality/datasets/{parties['dataset_id']}/reports"), 401)

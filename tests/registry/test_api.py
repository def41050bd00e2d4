"""The registry through the JSON API and the offline bundle through `shujiao cert verify`."""

from __future__ import annotations

import copy
import json

import pytest
from typer.testing import CliRunner

from shujiao.cli import app as cli
from shujiao.registry import numbers
from shujiao.registry.statement import verify_bundle
from tests.api import assert_error, create_resource, headers_of, upload
from tests.factories import make_member, make_operator
from tests.registry.test_lifecycle import end_publicity


@pytest.fixture
def parties(client, session_factory):  # type: ignore[no-untyped-def]
    operator = make_operator(session_factory)
    provider = make_member(session_factory, operator)
    other = make_member(session_factory, operator)
    return headers_of(client, operator), headers_of(client, provider), headers_of(client, other)


def _application(client, provider) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    resource_id = create_resource(client, provider)
    dataset = upload(client, provider, resource_id).json()
    response = client.post("/api/v1/registrations", headers=provider, json={
        "subject_type": "resource", "subject_id": resource_id, "dataset_id": dataset["id"],
        "title": "企业信用评分数据", "rights": ["holding"], "source": "self_collected"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["content_sha256"] == dataset["sha256"] and body["status"] == "draft"
    return body["id"], dataset["id"]


def _certificate(client, session_factory, operator, provider) -> str:  # type: ignore[no-untyped-def]
    application_id, _ = _application(client, provider)
    assert client.post(f"/api/v1/registrations/{application_id}/submit", headers=provider).status_code == 200
    end_publicity(session_factory, application_id)
    response = client.post(f"/api/v1/registrations/{application_id}/decision", headers=operator,
                           json={"decision": "approve"})
    assert response.status_code == 200, response.text
    [number] = response.json()["certificates"]
    return number


def test_certificates_are_public_and_their_bundles_verify_offline(client, session_factory, parties, tmp_path):  # type: ignore[no-untyped-def]
    operator, provider, _ = parties
    number = _certificate(client, session_factory, operator, provider)

    public = client.get(f"/api/v1/certificates/{number}")  # no login
    assert public.status_code == 200, public.text
    assert public.json()["status"] == "valid" and [h["event"] for h in public.json()["history"]] == ["issued"]
    assert client.get(f"/api/v1/certificates/{number.lower()}").json()["number"] == number

    bundle = client.get(f"/api/v1/certificates/{number}/bundle").json()
    keys = client.get("/api/v1/keys").json()
    assert verify_bundle(bundle, keys).ok
    (tmp_path / "bundle.json").write_text(json.dumps(bundle, ensure_ascii=False))
    (tmp_path / "keys.json").write_text(json.dumps(keys))
    result = CliRunner().invoke(cli, ["cert", "verify", str(tmp_path / "bundle.json"), "--keys",
                                      str(tmp_path / "keys.json")])
    assert result.exit_code == 0, result.output
    assert "verified" in result.output and number in result.output

    # The bundle shows the newest state: after a revocation it proves the revocation.
    response = client.post(f"/api/v1/certificates/{number}/revoke", headers=provider, json={"reason": "停止经营"})
    assert response.json()["status"] == "revoked"
    revoked = client.get(f"/api/v1/certificates/{number}/bundle").json()
    check = verify_bundle(revoked, keys)
    assert check.ok and check.statement["status"] == "revoked" and check.statement["seq"] == 2


def _mutations(text: str, alphabet: str):  # type: ignore[no-untyped-def]
    """Every position of ``text`` changed to another character of the same alphabet."""
    for position, char in enumerate(text):
        yield text[:position] + (alphabet[0] if char != alphabet[0] else alphabet[1]) + text[position + 1:]


def test_a_change_to_any_byte_of_the_statement_signature_or_proof_fails(client, session_factory, parties, tmp_path):  # type: ignore[no-untyped-def]
    operator, provider, _ = parties
    number = _certificate(client, session_factory, operator, provider)
    bundle = client.get(f"/api/v1/certificates/{number}/bundle").json()
    keys = client.get("/api/v1/keys").json()
    assert verify_bundle(bundle, keys).ok

    tried = 0
    for field, alphabet in (("statement", "ab"), ("signature", "AB")):
        for changed in _mutations(bundle[field], alphabet):
            tampered = dict(bundle, **{field: changed})
            assert not verify_bundle(tampered, keys).ok, (field, changed)
            tried += 1
    for i, node in enumerate(bundle["log"]["proof"]):
        for changed in _mutations(node, "AB"):
            tampered = copy.deepcopy(bundle)
            tampered["log"]["proof"][i] = changed
            assert not verify_bundle(tampered, keys).ok
            tried += 1
    checkpoint_text, _, signatures = bundle["log"]["checkpoint"].partition("\n\n")
    for field, value, rest in (("leaf", bundle["log"]["leaf"], ""), ("leaf_hash", bundle["log"]["leaf_hash"], ""),
                               ("checkpoint", checkpoint_text, "\n\n" + signatures)):
        for changed in _mutations(value, "AB"):
            tampered = copy.deepcopy(bundle)
            tampered["log"][field] = changed + rest
            assert not verify_bundle(tampered, keys).ok, (field, changed)
            tried += 1
    # A checkpoint is a signed note: a signature line of a key the verifier does not know is ignored
    # (C2SP signed-note), so it fails only when no known key's signature survives.
    damaged = "\n".join(line[:-8] + "AAAAAAA=" for line in signatures.splitlines())
    tampered = copy.deepcopy(bundle)
    tampered["log"]["checkpoint"] = checkpoint_text + "\n\n" + damaged + "\n"
    assert not verify_bundle(tampered, keys).ok
    assert tried > 1000

    # And through the command line, on the bytes of the saved file.
    raw = json.dumps(bundle, ensure_ascii=False).encode()
    signature_at = raw.index(bundle["signature"].encode())
    for position in (raw.index(b'\\"status\\":\\"valid') + 15, signature_at + 5, raw.index(b'"proof"') + 12):
        damaged = bytearray(raw)
        damaged[position] = ord("X") if damaged[position] != ord("X") else ord("Y")
        (tmp_path / "bad.json").write_bytes(bytes(damaged))
        result = CliRunner().invoke(cli, ["cert", "verify", str(tmp_path / "bad.json")])
        assert result.exit_code == 1, result.output
        assert "NOT VERIFIED" in result.output


def test_a_pending_applications_documents_are_its_applicants_and_the_operators_only(client, session_factory, parties):  # type: ignore[no-untyped-def]
    operator, provider, other = parties
    application_id, _ = _application(client, provider)
    response = client.post(f"/api/v1/registrations/{application_id}/documents", headers=provider,
                           files={"file": ("授权书.pdf", b"%PDF-1.4 authorization")})
    assert response.status_code == 201, response.text
    document_id = response.json()["id"]

    for headers in (other, {}):
        assert_error(client.get(f"/api/v1/registrations/{application_id}", headers=headers), 404, "not_found")
        assert client.get(f"/api/v1/registrations/documents/{document_id}", headers=headers).status_code in (401, 404)
        assert client.post(f"/api/v1/registrations/{application_id}/submit", headers=headers).status_code in (401, 404)
    mine = client.get(f"/api/v1/registrations/documents/{document_id}", headers=provider)
    assert mine.status_code == 200 and mine.content == b"%PDF-1.4 authorization"
    assert client.get(f"/api/v1/registrations/documents/{document_id}", headers=operator).status_code == 200

    assert client.post(f"/api/v1/registrations/{application_id}/submit", headers=provider).status_code == 200
    public = client.get(f"/api/v1/registrations/{application_id}", headers=other).json()
    assert public["status"] == "publicity" and "documents" not in public and "objections" not in public
    assert [a["id"] for a in client.get("/api/v1/registrations/publicity").json()] == [application_id]
    assert_error(client.get(f"/api/v1/registrations/documents/{document_id}", headers=other), 404)

    objection = client.post(f"/api/v1/registrations/{application_id}/objections", json={
        "objector_name": "王五", "contact": "wang@example.cn", "reason": "我方为该数据的采集方"})
    assert objection.status_code == 201, objection.text
    mine = client.get(f"/api/v1/registrations/{application_id}", headers=provider).json()
    assert [(o["reason"], o["contact"]) for o in mine["objections"]] == [("我方为该数据的采集方", "")]
    seen_by_operator = client.get(f"/api/v1/registrations/{application_id}", headers=operator).json()
    assert seen_by_operator["objections"][0]["contact"] == "wang@example.cn"


def test_bad_input_is_a_clear_4xx(client, session_factory, parties):  # type: ignore[no-untyped-def]
    operator, provider, other = parties
    number = _certificate(client, session_factory, operator, provider)
    checked = numbers.parse(number)
    assert checked is not None
    wrong_check = number[:-1] + ("0" if number[-1] != "0" else "1")
    assert_error(client.get(f"/api/v1/certificates/{wrong_check}"), 404, "not_found")
    assert_error(client.get("/api/v1/certificates/NOT-A-NUMBER-AT-ALL"), 404)
    assert_error(client.post(f"/api/v1/certificates/{number}/revoke", headers=other, json={"reason": "不是我的"}),
                 403, "permission_denied")
    assert_error(client.post(f"/api/v1/certificates/{number}/pledge", headers=provider, json={
        "pledgee": {"member_id": 1}, "contract_ref": "X1", "secured_amount_fen": 1.5}), 422)
    assert_error(client.post(f"/api/v1/certificates/{number}/transfer", headers=provider,
                             json={"to": {"member_id": 10**15}}), 422, "unknown_member")
    assert_error(client.post("/api/v1/registrations", headers=provider, json={
        "subject_type": "dataset", "subject_id": 1, "title": "x y", "rights": [], "source": "self_collected"}), 422)
    assert_error(client.post("/api/v1/registrations", headers=provider, json={
        "subject_type": "dataset", "subject_id": 1, "title": "来源", "rights": ["holding"],
        "source": "purchased"}), 422)
    assert client.get(f"/api/v1/certificates/{number}").json()["status"] == "valid"  # nothing changed


def test_the_certificate_pdf_carries_its_number_and_a_qr_code_to_the_verification_page(
        client, session_factory, parties, settings):  # type: ignore[no-untyped-def]
    import pypdfium2
    import zxingcpp

    operator, provider, _ = parties
    number = _certificate(client, session_factory, operator, provider)
    response = client.get(f"/api/v1/certificates/{number}/pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    pdf = pypdfium2.PdfDocument(response.content)
    assert len(pdf) == 1
    page = pdf[0]
    assert number in page.get_textpage().get_text_range()
    image = page.render(scale=150 / 72).to_pil().convert("RGB")
    decoded = [code.text for code in zxingcpp.read_barcodes(image)]
    assert f"{settings.registry.public_base_url}/verify/{number}" in decoded


# A certificate is public (anyone verifies it), so a stranger's action is forbidden (403), not hidden.
FOREIGN_CERTIFICATE_ACTIONS = [
    ("POST", "/api/v1/certificates/{number}/change", {"title": "偷改标题", "reason": "偷改"}),
    ("POST", "/api/v1/certificates/{number}/transfer", {"to": {"member_id": 1}}),
    ("POST", "/api/v1/certificates/{number}/pledge", {"pledgee": {"member_id": 1}, "contract_ref": "X1",
                                                      "secured_amount_fen": 1}),
    ("POST", "/api/v1/certificates/{number}/revoke", {"reason": "恶意撤销"}),
    ("POST", "/api/v1/certificates/{number}/respond", {"accept": True}),
    ("POST", "/api/v1/certificates/{number}/cancel", None),
    ("POST", "/api/v1/certificates/{number}/release", None),
]


def test_only_the_holder_counterparty_or_pledgee_acts_on_a_public_certificate(client, session_factory, parties):  # type: ignore[no-untyped-def]
    operator, provider, other = parties
    number = _certificate(client, session_factory, operator, provider)
    before = client.get("/api/v1/audit/events", params={"limit": 1000}, headers=operator).json()
    for method, path, body in FOREIGN_CERTIFICATE_ACTIONS:
        assert_error(client.request(method, path.format(number=number), headers=other, json=body), 403)
    assert_error(client.post(f"/api/v1/certificates/{number}/revoke", headers=other,
                             json={"reason": "冒充运营方", "basis": "operator"}), 403)
    assert client.get("/api/v1/audit/events", params={"limit": 1000}, headers=operator).json() == before


def test_the_counterparty_is_named_by_id_or_credit_code_never_both(client, session_factory, parties):  # type: ignore[no-untyped-def]
    operator, provider, other = parties
    number = _certificate(client, session_factory, operator, provider)
    other_member = client.get("/api/v1/members/me", headers=other).json()["member"]
    assert_error(client.post(f"/api/v1/certificates/{number}/transfer", headers=provider, json={"to": {}}), 422)
    assert_error(client.post(f"/api/v1/certificates/{number}/transfer", headers=provider, json={
        "to": {"member_id": other_member["id"], "credit_code": other_member["credit_code"]}}), 422)
    response = client.post(f"/api/v1/certificates/{number}/transfer", headers=provider,
                           json={"to": {"credit_code": other_member["credit_code"]}})
    assert response.status_code == 200, response.text
    assert response.json()["pending_member_name"] == other_member["name"]


def test_the_operator_decides_many_applications_at_once_all_or_none(client, session_factory, parties):  # type: ignore[no-untyped-def]
    operator, provider, other = parties
    ids = []
    for _ in range(3):
        application_id, _ = _application(client, provider)
        assert client.post(f"/api/v1/registrations/{application_id}/submit", headers=provider).status_code == 200
        end_publicity(session_factory, application_id)
        ids.append(application_id)
    draft_id, _ = _application(client, provider)  # not submitted: cannot be decided
    assert_error(client.post("/api/v1/registrations/decisions", headers=other,
                             json={"application_ids": ids, "decision": "approve"}), 403)
    assert_error(client.post("/api/v1/registrations/decisions", headers=operator,
                             json={"application_ids": [*ids, draft_id], "decision": "approve"}), 409, "bad_state")
    assert [a["status"] for a in client.get("/api/v1/registrations/mine", headers=provider).json()] == [
        "draft", "publicity", "publicity", "publicity"]  # nothing changed
    assert_error(client.post("/api/v1/registrations/decisions", headers=operator,
                             json={"application_ids": [], "decision": "approve"}), 422)
    response = client.post("/api/v1/registrations/decisions", headers=operator,
                           json={"application_ids": ids, "decision": "approve"})
    assert response.status_code == 200, response.text
    assert [a["status"] for a in response.json()] == ["approved"] * 3
    assert len(client.get("/api/v1/certificates/mine", headers=provider).json()) == 3


def test_a_malformed_bundle_is_refused_with_a_reason_never_a_crash(client, session_factory, parties):  # type: ignore[no-untyped-def]
    operator, provider, _ = parties
    number = _certificate(client, session_factory, operator, provider)
    bundle = client.get(f"/api/v1/certificates/{number}/bundle").json()
    keys = client.get("/api/v1/keys").json()
    statement = json.loads(bundle["statement"])
    odd_values = [None, 0, 1.5, True, "", "x", [], {}, [1], {"a": 1}]
    variants = [dict(bundle, **{field: value}) for field in bundle for value in odd_values]
    variants += [dict(bundle, log=dict(bundle["log"], **{field: value}))
                 for field in bundle["log"] for value in odd_values]
    variants += [dict(bundle, statement=json.dumps(dict(statement, **{field: value}), ensure_ascii=False,
                                                   sort_keys=True, separators=(",", ":")))
                 for field in ("seq", "valid_until", "status") for value in odd_values]
    variants += [dict(bundle, keys={"keys": [dict(k, public_pem="not a key") for k in keys["keys"]]}),
                 dict(bundle, keys={"keys": [{"id": bundle["key_id"]}]}), [], "bundle", 7]
    for variant in variants:
        for pinned in (None, keys):
            check = verify_bundle(variant, pinned)  # never raises
            only_keys_differ = (isinstance(variant, dict) and variant.keys() == bundle.keys()
                                and all(variant[k] == bundle[k] for k in bundle if k != "keys"))
            assert check.ok == (only_keys_differ and pinned is keys), (variant, check.problems)
            assert check.ok or check.problems

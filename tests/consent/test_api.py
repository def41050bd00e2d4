"""Personal data authorization over the API, on SQLite and PostgreSQL: persons log in with a phone
code, consent per scenario with a signed receipt, see every use and revoke; downloads and sandbox
jobs keep only consenting persons' records, and the log shows grants, revocations and exclusions."""

from __future__ import annotations

import base64
import io
import json

import pyarrow.csv as pacsv
import pytest

from shujiao.crypto.signing import load_verifier
from tests.api import assert_error, headers_of
from tests.consent.helpers import (
    SCENARIO, csv_bytes, download_rows, paid_order, people_table, person_key, person_login, personal_product, phone,
)
from tests.factories import make_member
from tests.sandbox.test_api import SANDBOX_OFFER, parquet_bytes, run_worker


def _verify(client, signed_json: str, signature_b64: str, key_id: str) -> bool:  # type: ignore[no-untyped-def]
    key = next(k for k in client.get("/api/v1/keys").json()["keys"] if k["id"] == key_id)
    return load_verifier(key["algorithm"], key["public_pem"]).verify(base64.b64decode(signature_b64),
                                                                      signed_json.encode())


def _events(client, op, action):  # type: ignore[no-untyped-def]
    return client.get("/api/v1/audit/events", params={"action": action, "limit": 1000}, headers=op).json()


def test_a_person_grants_sees_the_use_and_revokes_and_the_next_download_leaves_them_out(client, session_factory):
    table = people_table(client, people=5)  # 10 rows; persons 0 and 1 will consent
    world = personal_product(client, session_factory, csv_bytes(table))
    market = world.market
    order_id = paid_order(client, market, world.product_id)
    alice, bob = person_login(client, phone(0)), person_login(client, phone(1))

    # Persons see which products' scenarios want their data.
    open_ = client.get("/api/v1/consent/scenarios").json()
    assert [s["id"] for s in open_] == [world.scenario["id"]] and open_[0]["live_consents"] is None
    assert open_[0]["purpose_zh"] == "信用评估" and open_[0]["data_items"] == ["age", "amount"]

    granted = client.post(f"/api/v1/consent/scenarios/{world.scenario['id']}/consents", json={"days": 30},
                          headers=alice)
    assert granted.status_code == 201, granted.text
    receipt = granted.json()
    assert receipt["status"] == "live" and receipt["receipt"]["version"] == "KI-CR-v1.1.0"
    assert receipt["receipt"]["piiPrincipalId"] == person_key(client, phone(0))
    assert receipt["receipt"]["services"][0]["purposes"][0]["purposeCategory"] == ["credit_assessment"]
    assert receipt["receipt"]["piiControllers"][0]["piiController"]
    assert _verify(client, receipt["receipt_json"], receipt["signature"], receipt["key_id"])
    assert client.post(f"/api/v1/consent/scenarios/{world.scenario['id']}/consents", headers=bob).status_code == 201
    assert_error(client.post(f"/api/v1/consent/scenarios/{world.scenario['id']}/consents", headers=bob), 409,
                 "already_consented")

    # The first download holds only the consenting persons' rows.
    first = download_rows(client, market, order_id)
    assert first.status_code == 200, first.text
    rows = pacsv.read_csv(io.BytesIO(first.content))
    assert rows.num_rows == 4
    assert set(rows.column("person_key").to_pylist()) == {person_key(client, phone(0)), person_key(client, phone(1))}

    # Alice sees the use.
    seen = client.get(f"/api/v1/consents/{receipt['id']}", headers=alice).json()
    assert [(u["channel"], u["rows"], u["order_id"]) for u in seen["use_log"]] == [("download", 2, order_id)]
    assert seen["use_log"][0]["buyer_name"]
    assert client.get("/api/v1/consents", headers=alice).json()[0]["uses"] == 1

    # She revokes; the revocation is signed too, and the next download leaves her out.
    revoked = client.post(f"/api/v1/consents/{receipt['id']}/revoke", headers=alice)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert _verify(client, revoked.json()["revocation_json"], revoked.json()["revocation_signature"],
                   revoked.json()["key_id"])
    assert json.loads(revoked.json()["revocation_json"])["consentReceiptID"] == receipt["receipt_id"]
    assert_error(client.post(f"/api/v1/consents/{receipt['id']}/revoke", headers=alice), 409, "already_revoked")
    second = download_rows(client, market, order_id)
    after = pacsv.read_csv(io.BytesIO(second.content))
    assert after.num_rows == 2 and set(after.column("person_key").to_pylist()) == {person_key(client, phone(1))}
    assert len(client.get(f"/api/v1/consents/{receipt['id']}", headers=alice).json()["use_log"]) == 1

    # The log shows both, and how many records each delivery left out.
    grants = _events(client, market.op, "consent.grant")
    revocations = _events(client, market.op, "consent.revoke")
    assert [e["change"]["event"] for e in grants + revocations] == ["grant", "grant", "revoke"]
    assert receipt["receipt_id"] in {e["subject_id"] for e in revocations}
    uses = [e["change"]["use"] for e in _events(client, market.op, "delivery.download")
            if e["subject_type"] == "consent_scenario"]
    assert [(u["rows_in"], u["rows_kept"], u["rows_excluded"], u["persons"]) for u in uses] == [
        (10, 4, 6, 2), (10, 2, 8, 1)]
    # The public log names persons by id and receipts by hash, never a person key.
    assert person_key(client, phone(0)) not in json.dumps(grants + revocations)
    # The provider sees how many consents are live, never whose.
    mine = client.get(f"/api/v1/products/{world.product_id}/consent-scenarios", headers=market.seller).json()
    assert mine[0]["live_consents"] == 1
    assert client.get(f"/api/v1/products/{world.product_id}/consent-scenarios",
                      headers=market.buyer).json()[0]["live_consents"] is None


def test_a_product_that_refuses_is_not_delivered_and_the_refusal_is_recorded(client, session_factory):
    table = people_table(client, people=3)
    world = personal_product(client, session_factory, csv_bytes(table), on_missing="refuse")
    order_id = paid_order(client, world.market, world.product_id)
    alice = person_login(client, phone(0))
    client.post(f"/api/v1/consent/scenarios/{world.scenario['id']}/consents", headers=alice)
    body = assert_error(download_rows(client, world.market, order_id), 409, "consent_missing")
    assert body["details"]["rows_excluded"] == 4
    assert client.get(f"/api/v1/orders/{order_id}", headers=world.market.buyer).json()["status"] == "paid"
    refused = _events(client, world.market.op, "consent.use.refused")
    assert [e["change"]["use"]["rows_excluded"] for e in refused] == [4]
    assert _events(client, world.market.op, "delivery.download") == []
    # Once everyone consented, the product is delivered whole.
    for i in (1, 2):
        client.post(f"/api/v1/consent/scenarios/{world.scenario['id']}/consents", headers=person_login(client, phone(i)))
    delivered = download_rows(client, world.market, order_id)
    assert delivered.status_code == 200 and pacsv.read_csv(io.BytesIO(delivered.content)).num_rows == 6


SANDBOX_POLICY = {"min_group_size": 10, "columns": [
    {"name": "district", "use": "group"}, {"name": "amount", "use": "aggregate", "lower": "0", "upper": "5000"}]}


def test_after_a_revocation_the_next_sandbox_job_counts_fewer_rows(client, session_factory):
    """The prepared sandbox copy is cached by the set of live consents: a revocation makes a new one."""
    table = people_table(client, people=20)  # 40 rows; persons 0–5 consent (12 rows)
    world = personal_product(client, session_factory, parquet_bytes(table), filename="people.parquet",
                             offer=SANDBOX_OFFER)
    market = world.market
    put = client.put(f"/api/v1/products/{world.product_id}/sandbox-policy", json=SANDBOX_POLICY,
                     headers=market.seller)
    assert put.status_code == 200, put.text
    order_id = paid_order(client, market, world.product_id)
    people = [person_login(client, phone(i)) for i in range(6)]
    consents = [client.post(f"/api/v1/consent/scenarios/{world.scenario['id']}/consents", headers=h).json()
                for h in people]
    sql = "SELECT district, COUNT(*) AS n FROM data GROUP BY district"

    def run() -> dict:  # type: ignore[type-arg]
        response = client.post(f"/api/v1/contracts/{order_id}/sandbox-jobs", json={"sql": sql}, headers=market.buyer)
        assert response.status_code == 202, response.text
        run_worker(client)
        return client.get(f"/api/v1/sandbox-jobs/{response.json()['id']}", headers=market.buyer).json()

    first = run()
    assert first["status"] == "released", first
    assert first["result"]["rows"] == [["南明区", 12]]
    assert run()["result"]["rows"] == [["南明区", 12]]  # the cached copy, same consents
    client.post(f"/api/v1/consents/{consents[0]['id']}/revoke", headers=people[0])
    assert run()["result"]["rows"] == [["南明区", 10]]
    uses = client.get(f"/api/v1/consents/{consents[0]['id']}", headers=people[0]).json()["use_log"]
    assert [(u["channel"], u["rows"]) for u in uses] == [("sandbox", 2), ("sandbox", 2)]
    assert len(client.get(f"/api/v1/consents/{consents[1]['id']}", headers=people[1]).json()["use_log"]) == 3
    recorded = [e["change"]["use"] for e in _events(client, market.op, "sandbox.job.finish")
                if e["subject_type"] == "consent_scenario"]
    assert [(u["rows_excluded"], u["persons"]) for u in recorded] == [(28, 6), (28, 6), (30, 5)]
    # Below k the group is withheld: a refusal-mode product fails the job as consent_missing instead.


def test_a_refusing_sandbox_product_fails_the_job_and_records_it(client, session_factory):
    table = people_table(client, people=10)
    world = personal_product(client, session_factory, parquet_bytes(table), filename="people.parquet",
                             offer=SANDBOX_OFFER, on_missing="refuse")
    client.put(f"/api/v1/products/{world.product_id}/sandbox-policy", json=SANDBOX_POLICY, headers=world.market.seller)
    order_id = paid_order(client, world.market, world.product_id)
    response = client.post(f"/api/v1/contracts/{order_id}/sandbox-jobs",
                           json={"sql": "SELECT district, COUNT(*) AS n FROM data GROUP BY district"},
                           headers=world.market.buyer)
    run_worker(client)
    job = client.get(f"/api/v1/sandbox-jobs/{response.json()['id']}", headers=world.market.buyer).json()
    assert (job["status"], job["rule"]) == ("failed", "consent_missing"), job
    recorded = [e["change"]["use"] for e in _events(client, world.market.op, "sandbox.job.finish")
                if e["subject_type"] == "consent_scenario"]
    assert [(u["refused"], u["rows_excluded"]) for u in recorded] == [(True, 20)]


# --- bad input and limits ------------------------------------------------------------------------

@pytest.mark.parametrize("number", ["12345", "23800000000", "1380000000a", ""])
def test_a_malformed_phone_is_refused(client, number):  # type: ignore[no-untyped-def]
    assert_error(client.post("/api/v1/persons/challenges", json={"phone": number}), 422)


def test_codes_expire_after_too_many_wrong_attempts_and_are_used_once(client):  # type: ignore[no-untyped-def]
    started = client.post("/api/v1/persons/challenges", json={"phone": "+86 138-0000-0001"}).json()
    for _ in range(5):
        assert_error(client.post("/api/v1/persons/token", json={"challenge_id": started["challenge_id"],
                                                                "code": "not-it"}), 401, "bad_code")
    # The sixth try is refused even with the right code: the attempts were counted (and committed).
    assert_error(client.post("/api/v1/persons/token", json={"challenge_id": started["challenge_id"],
                                                            "code": started["dev_code"]}), 401, "too_many_attempts")
    again = client.post("/api/v1/persons/challenges", json={"phone": "13800000001"}).json()
    ok = client.post("/api/v1/persons/token", json={"challenge_id": again["challenge_id"], "code": again["dev_code"]})
    assert ok.status_code == 200 and ok.json()["access_token"].startswith("p.")
    assert_error(client.post("/api/v1/persons/token", json={"challenge_id": again["challenge_id"],
                                                            "code": again["dev_code"]}), 401, "bad_code")
    assert_error(client.post("/api/v1/persons/token", json={"challenge_id": 2**40, "code": "1"}), 401)
    me = client.get("/api/v1/persons/me", headers={"Authorization": f"Bearer {ok.json()['access_token']}"}).json()
    assert me["keys"] == [{"kind": "phone", "person_key": person_key(client, "13800000001")}]
    # The same phone logs in to the same person.
    assert person_login(client, "13800000001") and client.get(
        "/api/v1/persons/me", headers=person_login(client, "13800000001")).json()["person_id"] == me["person_id"]
    for _ in range(3):
        client.post("/api/v1/persons/challenges", json={"phone": "13800000009"})
    assert_error(client.post("/api/v1/persons/challenges", json={"phone": "13800000009"}), 429, "too_many_codes")


def test_a_person_is_not_a_member_and_logs_out(client):  # type: ignore[no-untyped-def]
    alice = person_login(client, phone(0))
    assert_error(client.get("/api/v1/members/me", headers=alice), 401)
    assert_error(client.get("/api/v1/orders", headers=alice), 401)
    assert client.post("/api/v1/persons/logout", headers=alice).status_code == 204
    assert_error(client.get("/api/v1/persons/me", headers=alice), 401, "invalid_token")
    assert_error(client.get("/api/v1/consents"), 401)


def test_bad_scenarios_and_periods_are_refused(client, session_factory):  # type: ignore[no-untyped-def]
    table = people_table(client, people=2)
    world = personal_product(client, session_factory, csv_bytes(table))
    url = f"/api/v1/products/{world.product_id}/consent-scenarios"
    seller = world.market.seller
    assert_error(client.post(url, json=SCENARIO, headers=seller), 409, "scenario_exists")
    from tests.api import list_product
    bare = list_product(client, seller, world.market.op, content=csv_bytes(table), title="另一产品")
    bare_url = f"/api/v1/products/{bare}/consent-scenarios"
    assert_error(client.post(bare_url, json={**SCENARIO, "key_column": "nope"}, headers=seller), 422, "unknown_columns")
    assert_error(client.post(bare_url, json={**SCENARIO, "purpose": "anything"}, headers=seller), 422)
    assert_error(client.post(bare_url, json={**SCENARIO, "max_days": 2000}, headers=seller), 422, "period_too_long")
    assert_error(client.post(bare_url, json={**SCENARIO, "data_items": ["age", "age"]}, headers=seller), 422)
    assert_error(client.post(bare_url, json=SCENARIO, headers=world.market.buyer), 404)
    alice = person_login(client, phone(0))
    grant_url = f"/api/v1/consent/scenarios/{world.scenario['id']}/consents"
    assert_error(client.post(grant_url, json={"days": 366}, headers=alice), 422, "period_too_long")
    assert_error(client.post(grant_url, json={"days": 0}, headers=alice), 422)
    assert_error(client.post(grant_url, headers=world.market.buyer), 401)
    assert_error(client.post("/api/v1/consent/scenarios/999999/consents", headers=alice), 404)


# --- tenancy ------------------------------------------------------------------------------------

FOREIGN = [  # another member gets 404
    ("POST", "/api/v1/products/{product_id}/consent-scenarios", SCENARIO),
]
FOREIGN_PERSON = [  # another person (and any member) gets 404
    ("GET", "/api/v1/consents/{consent_id}", None),
    ("POST", "/api/v1/consents/{consent_id}/revoke", None),
]


def test_persons_and_members_never_see_another_persons_consents(client, session_factory):
    table = people_table(client, people=2)
    world = personal_product(client, session_factory, csv_bytes(table))
    alice, bob = person_login(client, phone(0)), person_login(client, phone(1))
    consent = client.post(f"/api/v1/consent/scenarios/{world.scenario['id']}/consents", headers=alice).json()
    ids = {"consent_id": consent["id"], "product_id": world.product_id}
    outsider = headers_of(client, make_member(session_factory, world.market.operator))
    for method, path, body in FOREIGN_PERSON:
        assert_error(client.request(method, path.format(**ids), headers=bob, json=body), 404)
        for member in (world.market.seller, world.market.buyer, outsider):
            # A member is no person: 404 for a read, 401 for a person's command.
            assert_error(client.request(method, path.format(**ids), headers=member, json=body),
                         404 if method == "GET" else 401)
    for method, path, body in FOREIGN:
        assert_error(client.request(method, path.format(**ids), headers=outsider, json=body), 404)
    assert client.get("/api/v1/consents", headers=bob).json() == []
    mine = client.get(f"/api/v1/consents/{consent['id']}", headers=alice).json()
    assert mine["status"] == "live" and mine["revoked_at"] is None

from __future__ import annotations

from tests.api import assert_error, headers_of
from tests.factories import make_member, make_operator


def test_deposit_withdrawal_statement_and_replay(client, session_factory):
    operator = make_operator(session_factory)
    op = headers_of(client, operator)
    buyer_handle = make_member(session_factory, operator, kind="buyer")
    buyer = headers_of(client, buyer_handle)
    url = f"/api/v1/accounts/{buyer_handle.member_id}"

    first = client.post(f"{url}/deposits", json={"amount_fen": 300_00, "reference": "ICBC-001"}, headers=op)
    again = client.post(f"{url}/deposits", json={"amount_fen": 300_00, "reference": "ICBC-001"}, headers=op)
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    assert_error(client.post(f"{url}/deposits", json={"amount_fen": 1, "reference": "ICBC-001"}, headers=op), 409,
                 "idempotency_conflict")
    assert_error(client.post(f"{url}/deposits", json={"amount_fen": 0, "reference": "x"}, headers=op), 422)
    assert_error(client.post(f"{url}/deposits", json={"amount_fen": 1.5, "reference": "x"}, headers=op), 422)
    assert_error(client.post(f"{url}/withdrawals", json={"amount_fen": 300_01, "reference": "W1"}, headers=op), 409,
                 "insufficient_funds")
    assert client.post(f"{url}/withdrawals", json={"amount_fen": 100_00, "reference": "W1"}, headers=op).status_code == 201

    assert client.get("/api/v1/accounts/me", headers=buyer).json()["balance_fen"] == 200_00
    statement = client.get("/api/v1/accounts/me/statement", headers=buyer).json()
    assert [(line["kind"], line["amount_fen"]) for line in statement] == [("withdrawal", -100_00), ("deposit", 300_00)]
    check = client.get("/api/v1/ledger/check", headers=op).json()
    assert check["balanced"] and check["deposits_fen"] == 300_00 and check["withdrawals_fen"] == 100_00

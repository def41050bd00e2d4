"""An API product holding personal data: each gateway call names its person (X-Person-Key) and is
refused (403 consent_missing, recorded as a call that was not forwarded) without live consent."""

from __future__ import annotations

from tests.api import assert_error
from tests.consent.helpers import person_key, person_login, phone
from tests.gateway.test_api import call


def test_a_call_needs_a_person_with_live_consent(client, api):  # type: ignore[no-untyped-def]
    market = api["market"]
    declared = client.post(f"/api/v1/products/{market.product_id}/consent-scenarios", headers=market.seller, json={
        "name": "个人信用查询", "purpose": "credit_assessment", "data_items": ["信用评分"], "key_column": "企业名称",
        "max_days": 30})
    assert declared.status_code == 201, declared.text
    gateway = client.app.state.gateway
    alice = person_key(client, phone(0))
    assert_error(call(client, api), 403, "consent_missing")
    refused = client.request("GET", f"/gateway/{api['order_id']}/items", headers={"X-Api-Key": api["key"],
                                                                                  "X-Person-Key": alice})
    assert_error(refused, 403, "consent_missing")
    headers = person_login(client, phone(0))
    consent = client.post(f"/api/v1/consent/scenarios/{declared.json()['id']}/consents", headers=headers).json()
    gateway._routes.clear()  # as the 2 s route cache would
    ok = client.request("GET", f"/gateway/{api['order_id']}/items", headers={"X-Api-Key": api["key"],
                                                                             "X-Person-Key": alice.upper()})
    assert ok.status_code == 200, ok.text
    client.post(f"/api/v1/consents/{consent['id']}/revoke", headers=headers)
    gateway._routes.clear()
    again = client.request("GET", f"/gateway/{api['order_id']}/items", headers={"X-Api-Key": api["key"],
                                                                                "X-Person-Key": alice})
    assert_error(again, 403, "consent_missing")
    gateway.flush_now()  # (the background loop may have written some of them already)
    usage = client.get(f"/api/v1/orders/{api['order_id']}/usage", headers=market.buyer).json()
    assert (usage["calls"], usage["billable_calls"], usage["statuses"]) == (4, 1, {"200": 1, "403": 3})

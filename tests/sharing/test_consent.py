"""Delta Sharing of a product holding personal data: the shared copy holds only consenting persons'
rows, a revocation makes the next query build a new copy, and every read is a use the person sees."""

from __future__ import annotations

import json

from tests.consent.helpers import csv_bytes, paid_order, people_table, person_login, personal_product, phone
from tests.sharing.test_api import SHARING_OFFER


def test_a_shared_copy_follows_the_live_consents(client, session_factory):  # type: ignore[no-untyped-def]
    world = personal_product(client, session_factory, csv_bytes(people_table(client, people=4)), offer=SHARING_OFFER)
    order_id = paid_order(client, world.market, world.product_id)
    people = [person_login(client, phone(i)) for i in range(2)]
    consents = [client.post(f"/api/v1/consent/scenarios/{world.scenario['id']}/consents", headers=h).json()
                for h in people]
    profile = client.get(f"/api/v1/contracts/{order_id}/delta-sharing-profile", headers=world.market.buyer).json()
    bearer = {"Authorization": f"Bearer {profile['bearerToken']}"}
    table = f"/delta-sharing/shares/contract-{order_id}/schemas/default/tables/product-{world.product_id}"

    def records() -> int:
        response = client.post(f"{table}/query", json={}, headers=bearer)
        assert response.status_code == 200, response.text
        return json.loads(json.loads(response.text.splitlines()[2])["file"]["stats"])["numRecords"]

    assert records() == 4 and records() == 4
    client.post(f"/api/v1/consents/{consents[0]['id']}/revoke", headers=people[0])
    assert records() == 2
    uses = client.get(f"/api/v1/consents/{consents[1]['id']}", headers=people[1]).json()["use_log"]
    assert [(u["channel"], u["rows"]) for u in uses] == [("sharing", 2)] * 3
    assert len(client.get(f"/api/v1/consents/{consents[0]['id']}", headers=people[0]).json()["use_log"]) == 2

"""Schema-driven fuzzing of the JSON API: whatever a client sends, the answer is never a 5xx.

Runs as the operator (who may call everything) against an exchange with one trade in it, on both
databases. Bad input must be a 4xx with the error body, and must not break the books.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from shujiao.commands import SYSTEM
from shujiao.crypto import service as keys
from shujiao.db import unit_of_work
from shujiao.ledger import service as ledger
from tests.api import market_with_one_product


@pytest.fixture
def seeded(app, client, session_factory, settings):  # type: ignore[no-untyped-def]
    with unit_of_work(session_factory) as session:  # a deployed exchange has its keys
        keys.init_keys(session, SYSTEM, settings=settings)
    market = market_with_one_product(client, session_factory)
    client.post(f"/api/v1/orders/{market.order(client)}/pay", headers=market.buyer)
    return {"operator": market.operator, "headers": market.op}


def test_no_input_makes_a_server_error(app, seeded, session_factory):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    seen_statuses: set[int] = set()

    for operation in operations:
        @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def call(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(headers=seeded["headers"])
            seen_statuses.add(response.status_code)
            assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:300]}"
            content_type = (response.headers.get("content-type") or [""])[0]
            if response.status_code >= 400 and content_type.startswith("application/json"):
                if case.formatted_path.startswith("/delta-sharing/"):  # the protocol's own error body
                    assert case.method == "HEAD" or set(response.json()) == {"errorCode", "message"}
                    return
                error = response.json()["error"]
                assert error["code"] and error["message"]

        call()

    assert any(400 <= s < 500 for s in seen_statuses) and any(s < 300 for s in seen_statuses)
    with unit_of_work(session_factory) as session:
        assert ledger.check(session, seeded["operator"].actor).balanced

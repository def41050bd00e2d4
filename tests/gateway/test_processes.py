"""Several gateway processes share one contract's quota through the database (leases), and give
back what they did not use."""

from __future__ import annotations

import asyncio

import pytest

from sqlalchemy import select

from shujiao.db import unit_of_work
from shujiao.gateway.asgi import Gateway
from shujiao.gateway.models import Call, Period
from tests.gateway.conftest import PLAN


async def _call(gateway: Gateway, order_id: int, key: str) -> int:
    scope = {"type": "http", "method": "GET", "path": f"/gateway/{order_id}/x", "root_path": "", "query_string": b"",
             "headers": [(b"x-api-key", key.encode())]}
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    await gateway(scope, receive, send)
    return sent[0]["status"]


def test_two_gateways_share_the_quota_exactly(client, api, settings, session_factory):
    order_id, key = api["order_id"], api["key"]

    async def run() -> list[int]:
        one, two = Gateway(settings, session_factory), Gateway(settings, session_factory)
        statuses = [await _call(g, order_id, key) for _ in range(5) for g in (one, two)]
        await one.stop()
        await two.stop()
        return statuses

    statuses = asyncio.run(run())
    assert statuses.count(200) == 5 and statuses.count(429) == 5  # quota 5, across both processes
    with unit_of_work(session_factory) as session:
        assert session.scalar(select(Period.claimed).where(Period.order_id == order_id)) == 5
        assert len(session.scalars(select(Call.id).where(Call.order_id == order_id)).all()) == 10


@pytest.mark.parametrize("plan", [{**PLAN, "quota_calls_per_period": 100_000}])
def test_unused_leases_are_given_back(client, api, settings, session_factory):
    order_id, key = api["order_id"], api["key"]

    async def run() -> int:
        gateway = Gateway(settings, session_factory)
        assert await _call(gateway, order_id, key) == 200
        with unit_of_work(session_factory) as session:
            leased = session.scalar(select(Period.claimed).where(Period.order_id == order_id))
        await gateway.stop()
        return leased

    assert asyncio.run(run()) == settings.gateway.lease_block_calls  # a block was claimed...
    with unit_of_work(session_factory) as session:  # ...and all but the one call given back
        assert session.scalar(select(Period.claimed).where(Period.order_id == order_id)) == 1

"""Overdue data requests (需求征集) counted per department as time moves, through the service."""

from __future__ import annotations

import datetime as dt

from shujiao.commands import ANONYMOUS
from shujiao.db import unit_of_work
from shujiao.public_data import service
from shujiao.public_data.schemas import RequestAnswer, RequestCreate, RequestRoute
from tests.factories import actor_of
from tests.public_data.conftest import World

T0 = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.timezone.utc)


def test_requests_past_the_deadline_count_as_overdue_until_answered(world: World, session_factory, settings) -> None:  # type: ignore[no-untyped-def]
    assert settings.public_data.answer_days == 15
    transport, market = world.departments
    with unit_of_work(session_factory) as session:
        authority = actor_of(session, world.authority.username)
        ids = []
        for n in range(3):
            request = service.submit_request(session, ANONYMOUS, now=T0, data=RequestCreate(
                authority_member_id=world.authority.member_id, title=f"需求{n}", reason="理由", scenario="场景",
                contact="citizen@example.cn"))
            ids.append(request.id)
        service.route_request(session, authority, settings=settings, request_id=ids[0],
                              data=RequestRoute(department_id=transport), now=T0)
        service.route_request(session, authority, settings=settings, request_id=ids[1],
                              data=RequestRoute(department_id=transport), now=T0 + dt.timedelta(days=10))
        service.route_request(session, authority, settings=settings, request_id=ids[2],
                              data=RequestRoute(department_id=market), now=T0)

    def counts(at: dt.datetime) -> dict[int, tuple[int, int, int, int]]:
        with unit_of_work(session_factory) as session:
            return {c.department_id: (c.routed, c.answered, c.overdue, c.answered_late)
                    for c in service.request_counts(session, authority_member_id=world.authority.member_id, now=at)}

    assert counts(T0 + dt.timedelta(days=15)) == {transport: (2, 0, 0, 0), market: (1, 0, 0, 0)}
    assert counts(T0 + dt.timedelta(days=15, seconds=1)) == {transport: (2, 0, 1, 0), market: (1, 0, 1, 0)}
    assert counts(T0 + dt.timedelta(days=26)) == {transport: (2, 0, 2, 0), market: (1, 0, 1, 0)}
    with unit_of_work(session_factory) as session:
        assert service.get_request(session, request_id=ids[0], now=T0 + dt.timedelta(days=16)).status == "overdue"
        authority = actor_of(session, world.authority.username)
        # Late, and one in time.
        service.answer_request(session, authority, request_id=ids[0], now=T0 + dt.timedelta(days=20),
                               data=RequestAnswer(outcome="answered", answer="已开放，见目录"))
        service.answer_request(session, authority, request_id=ids[2], now=T0 + dt.timedelta(days=3),
                               data=RequestAnswer(outcome="refused", answer="涉及商业秘密"))
    assert counts(T0 + dt.timedelta(days=26)) == {transport: (2, 1, 1, 1), market: (1, 0, 0, 0)}


def test_the_ledger_marks_resources_not_updated_as_declared(world: World, session_factory) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(session_factory) as session:
        authority = actor_of(session, world.authority.username)
        now = dt.datetime.now(dt.timezone.utc)
        fresh = service.department_ledger(session, authority, department_id=world.departments[0], now=now)
        later = service.department_ledger(session, authority, department_id=world.departments[0],
                                          now=now + dt.timedelta(days=40))
    assert (fresh.stale, later.stale) == (0, 2)  # both monthly: stale after 32 days without an upload
    assert all(r.newest_upload_at is not None for r in later.resources)

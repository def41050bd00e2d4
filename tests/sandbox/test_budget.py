"""The ε budget ledger under concurrent queries, on SQLite and PostgreSQL: of queries that each
fit the period's budget but not all together, only as many as fit are accepted, and the ledger's
lines add up to the budget's spent ε."""

from __future__ import annotations

import threading
from decimal import Decimal

from sqlalchemy import func, select

from shujiao.db import unit_of_work
from shujiao.sandbox import service
from shujiao.sandbox.models import Budget, BudgetEntry, Job
from tests.factories import actor_of
from tests.sandbox.test_api import DP_POLICY, World, make_table, run_worker


def test_concurrent_queries_never_overspend(client, session_factory) -> None:  # type: ignore[no-untyped-def]
    world = World(client, session_factory, make_table(2_000), DP_POLICY)  # ε 1.0 per period
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def submit(i: int) -> None:
        # Wait before the transaction opens: on SQLite BEGIN IMMEDIATE takes the write lock at once.
        barrier.wait(timeout=60)
        with unit_of_work(session_factory) as session:
            actor = actor_of(session, world.market.buyer_handle.username)
            job = service.submit_job(session, actor, order_id=world.order_id, epsilon=Decimal("0.3"),
                                     sql=f"SELECT COUNT(*) AS n{i} FROM data")
            outcomes.append(job.status if job.status == "queued" else job.rule)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == ["budget_exhausted", "queued", "queued", "queued"]  # 3 × 0.3 ≤ 1.0 < 4 × 0.3
    with unit_of_work(session_factory) as session:
        (budget,) = session.scalars(select(Budget).where(Budget.order_id == world.order_id)).all()
        lines = session.scalar(select(func.sum(BudgetEntry.delta_micro)).where(BudgetEntry.budget_id == budget.id))
        assert budget.spent_micro == lines == 900_000
        assert session.scalar(select(func.count()).select_from(Job).where(Job.status == "refused")) == 1


def test_a_failed_job_gives_its_epsilon_back(client, session_factory) -> None:  # type: ignore[no-untyped-def]
    world = World(client, session_factory, make_table(2_000), DP_POLICY)
    job = world.submit("SELECT COUNT(*) AS n FROM data", epsilon="0.5").json()
    # The prepared copy cannot be made: the dataset's file is gone (a storage fault).
    with unit_of_work(session_factory) as session:
        stored = session.get(Job, job["id"])
        assert stored is not None
        dataset_key = client.app.state.storage.local_path(
            session.execute(select(service.Dataset.storage_key).where(service.Dataset.id == stored.dataset_id))
            .scalar_one())
    dataset_key.unlink()
    run_worker(client)
    failed = client.get(f"/api/v1/sandbox-jobs/{job['id']}", headers=world.market.buyer).json()
    assert (failed["status"], failed["rule"]) == ("failed", "data_unavailable")
    budget = client.get(f"/api/v1/contracts/{world.order_id}/sandbox-budget", headers=world.market.buyer).json()
    assert Decimal(budget["spent"]) == 0
    with unit_of_work(session_factory) as session:
        reasons = [e.reason for e in session.scalars(select(BudgetEntry).order_by(BudgetEntry.id))]
        assert reasons == ["reserve", "return"]

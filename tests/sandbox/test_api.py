"""The sandbox end to end over the API, on SQLite and PostgreSQL: a provider's policy, a buyer's
contract, checked jobs run by the worker, output control, review, the ε budget, PSI, tenancy."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shujiao.sandbox import jobs as sandbox_jobs
from tests.api import assert_error, headers_of, list_product, market_with_one_product
from tests.factories import make_member

SANDBOX_OFFER = {"terms": {"delivery_modes": ["sandbox"]}}
DISTRICTS = ["南明区", "云岩区", "花溪区", "乌当区", "白云区", "观山湖区", "清镇市", "修文县"]


def make_table(rows: int, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    district = np.array(DISTRICTS)[rng.integers(0, len(DISTRICTS), rows)]
    year = rng.integers(2019, 2024, rows)
    # The victim of the differencing attack: the only record of 2018, in 南明区.
    year[0], district[0] = 2018, DISTRICTS[0]
    amount = np.round(rng.gamma(2.0, 150.0, rows), 2)
    amount[0] = 98765.43
    return pa.table({
        "person": [f"P{i:07d}" for i in range(rows)],  # unique: never to be seen
        "phone_hash": [f"h{i:07d}" for i in range(rows)],
        "district": district, "year": year.astype(np.int32), "amount": amount})


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


POLICY: dict[str, Any] = {
    "min_group_size": 10,
    "columns": [{"name": "district", "use": "group"}, {"name": "year", "use": "group"},
                {"name": "amount", "use": "aggregate", "lower": "0", "upper": "5000"}],
}


def run_worker(client: Any) -> list[int]:
    state = client.app.state
    return sandbox_jobs.run_pending(state.session_factory, state.settings, state.storage, limit=50)


class World:
    def __init__(self, client: Any, session_factory: Any, table: pa.Table, policy: dict[str, Any],
                 market: Any = None) -> None:
        """A sandbox product under ``policy`` and a paid contract on it (in ``market``'s exchange, or
        a new one)."""
        self.client, self.table = client, table
        self.market = market or market_with_one_product(client, session_factory, offer=SANDBOX_OFFER)
        m = self.market
        self.product_id = list_product(client, m.seller, m.op, title="贵阳消费数据", offer=SANDBOX_OFFER,
                                       content=parquet_bytes(table), filename="spend.parquet")
        response = client.put(f"/api/v1/products/{self.product_id}/sandbox-policy", json=policy, headers=m.seller)
        assert response.status_code == 200, response.text
        order = client.post("/api/v1/orders", json={"product_id": self.product_id}, headers=m.buyer)
        assert order.status_code == 201, order.text
        self.order_id = order.json()["id"]
        assert client.post(f"/api/v1/orders/{self.order_id}/pay", headers=m.buyer).status_code == 200

    def submit(self, sql: str, **extra: Any) -> Any:
        return self.client.post(f"/api/v1/contracts/{self.order_id}/sandbox-jobs", json={"sql": sql, **extra},
                                headers=self.market.buyer)

    def run(self, sql: str, **extra: Any) -> dict[str, Any]:
        response = self.submit(sql, **extra)
        assert response.status_code == 202, response.text
        run_worker(self.client)
        job = self.client.get(f"/api/v1/sandbox-jobs/{response.json()['id']}", headers=self.market.buyer)
        assert job.status_code == 200
        return job.json()

    def refused(self, sql: str, rule: str) -> dict[str, Any]:
        body = assert_error(self.submit(sql), 422, "query_refused")
        assert body["details"]["rule"] == rule, body
        return body


def true_answer(table: pa.Table, sql: str) -> list[tuple[Any, ...]]:
    connection = duckdb.connect()
    connection.register("data", table)
    return connection.execute(sql).fetchall()


@pytest.fixture
def world(client, session_factory) -> World:  # type: ignore[no-untyped-def]
    return World(client, session_factory, make_table(5_000), POLICY)


def test_a_buyer_gets_the_average_per_district_and_never_a_row(client, session_factory) -> None:  # type: ignore[no-untyped-def]
    table = make_table(1_000_000)
    world = World(client, session_factory, table, POLICY)
    job = world.run("SELECT district, AVG(amount) AS avg_amount, COUNT(*) AS n FROM data "
                    "GROUP BY district ORDER BY district")
    assert job["status"] == "released", job
    # The truth over the rows the sandbox keeps: cells (district, year) of at least k rows. The
    # victim's one-row cell (2018) is the only one under k here.
    expected = true_answer(table, "SELECT district, AVG(amount), COUNT(*) FROM data WHERE year <> 2018 "
                                  "GROUP BY district ORDER BY district")
    rows = job["result"]["rows"]
    assert job["result"]["columns"] == ["district", "avg_amount", "n"]
    assert [r[0] for r in rows] == [e[0] for e in expected]
    assert [r[2] for r in rows] == [e[2] for e in expected]
    assert all(abs(r[1] - e[1]) < 1e-6 for r, e in zip(rows, expected))
    assert sum(r[2] for r in rows) == 999_999  # every row but the victim's
    # Rows, one row at a time, or the unique column: all refused before anything runs.
    world.refused("SELECT * FROM data", "row_level_not_allowed")
    world.refused("SELECT amount FROM data ORDER BY amount DESC LIMIT 1", "aggregate_column_outside_aggregate")
    world.refused("SELECT person, SUM(amount) FROM data GROUP BY person", "column_not_open")


ATTACKS = [
    # (what it tries, SQL, the rule that blocks it)
    ("read a file", "SELECT * FROM read_csv('/etc/passwd')", "table_not_granted"),
    ("read a file in a subquery", "SELECT COUNT(*) FROM data WHERE district IN (SELECT * FROM read_text('/etc/passwd'))",
     "subquery_not_allowed"),
    ("read the dataset's own file", "SELECT COUNT(*) FROM read_parquet('/tmp/x.parquet')", "table_not_granted"),
    ("COPY out", "COPY data TO '/tmp/out.csv'", "one_select"),
    ("ATTACH", "ATTACH '/tmp/other.db' AS other", "one_select"),
    ("INSTALL", "INSTALL httpfs", "one_select"),
    ("LOAD", "LOAD httpfs", "one_select"),
    ("change a setting", "SET enable_external_access = true", "one_select"),
    ("PRAGMA", "PRAGMA database_list", "one_select"),
    ("two statements", "SELECT COUNT(*) FROM data; SELECT * FROM data", "one_select"),
    ("read an environment variable", "SELECT getenv('HOME'), COUNT(*) FROM data GROUP BY 1", "function_not_allowed"),
    ("read a setting", "SELECT current_setting('threads'), COUNT(*) FROM data GROUP BY 1", "function_not_allowed"),
    ("a never-touched column", "SELECT COUNT(*) FROM data WHERE person = 'P0000001'", "column_not_open"),
    ("a never-touched PSI key", "SELECT phone_hash, COUNT(*) FROM data GROUP BY phone_hash", "column_not_open"),
    ("rows of an aggregate column", "SELECT district, amount FROM data", "aggregate_column_outside_aggregate"),
    ("filter on an aggregate column", "SELECT SUM(amount) FROM data WHERE amount > 90000",
     "aggregate_column_outside_aggregate"),
    ("select by value inside an aggregate", "SELECT SUM(CASE WHEN amount > 90000 THEN amount END) FROM data",
     "aggregate_argument"),
    ("MIN/MAX of one row", "SELECT MAX(amount) FROM data", "min_max_not_allowed"),
    ("LIMIT 1 over rows", "SELECT district FROM data LIMIT 1", "row_level_not_allowed"),
    ("ORDER BY a hidden value", "SELECT district, COUNT(*) FROM data GROUP BY district ORDER BY MAX(amount)",
     "min_max_not_allowed"),
    ("a window over rows", "SELECT district, SUM(amount) OVER (PARTITION BY district) FROM data",
     "window_not_allowed"),
    ("a self-join", "SELECT COUNT(*) FROM data a JOIN data b ON a.district = b.district", "join_not_allowed"),
    ("a CTE", "WITH t AS (SELECT * FROM data) SELECT COUNT(*) FROM t", "subquery_not_allowed"),
    ("UNION", "SELECT COUNT(*) FROM data UNION ALL SELECT COUNT(*) FROM data", "subquery_not_allowed"),
    ("another schema", "SELECT COUNT(*) FROM information_schema.tables", "table_not_granted"),
    ("a sample", "SELECT COUNT(*) FROM data USING SAMPLE 1 ROWS", "syntax_not_allowed"),
    ("garbage", "SELECT FROM WHERE (", "syntax"),
]


@pytest.mark.parametrize("what,sql,rule", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_attacks_are_refused_and_recorded(world: World, what: str, sql: str, rule: str) -> None:
    body = world.refused(sql, rule)
    job_id = body["details"]["job_id"]
    job = world.client.get(f"/api/v1/sandbox-jobs/{job_id}", headers=world.market.buyer).json()
    assert (job["status"], job["rule"], job["result"]) == ("refused", rule, None)
    # The provider sees the refused attempt on its product too.
    provider_view = world.client.get(f"/api/v1/sandbox-jobs/{job_id}", headers=world.market.seller)
    assert provider_view.status_code == 200 and provider_view.json()["sql"] == sql


def test_grouping_on_a_unique_column_returns_nothing(client, session_factory) -> None:  # type: ignore[no-untyped-def]
    """Made harmless by suppression: even a provider that opens a unique column to grouping gives
    out nothing, as every value of it is a cell of one row (< k)."""
    policy = {"min_group_size": 5, "columns": [{"name": "person", "use": "group"},
                                               {"name": "amount", "use": "aggregate"}]}
    world = World(client, session_factory, make_table(2_000), policy)
    job = world.run("SELECT person, SUM(amount) AS s FROM data GROUP BY person")
    assert job["status"] == "released" and job["result"]["rows"] == []
    job = world.run("SELECT COUNT(*) AS n FROM data WHERE person = 'P0000042'")
    assert job["result"]["rows"] == []  # the one-row cell is not in the sandbox copy: the group is < k


def test_a_differencing_attack_learns_nothing_about_the_victim(world: World) -> None:
    """Made harmless by suppression: the victim is the only record of 2018 in 南明区. Two groups
    whose difference is the victim (南明区 all years, 南明区 without 2018) both pass k, but the
    victim's one-row cell is not in the sandbox copy, so the difference is 0, not 98765.43."""
    everything = world.run("SELECT SUM(amount) AS s, COUNT(*) AS n FROM data WHERE district = '南明区'")
    without = world.run("SELECT SUM(amount) AS s, COUNT(*) AS n FROM data WHERE district = '南明区' AND year <> 2018")
    (s1, n1), = everything["result"]["rows"]
    (s2, n2), = without["result"]["rows"]
    assert n1 >= 10 and n2 >= 10
    assert (n1 - n2, round(s1 - s2, 2)) == (0, 0)
    # Every difference between two such selections is a union of whole cells: here, the cell
    # 南明区/2019, at least k rows.
    a = world.run("SELECT COUNT(*) AS n FROM data WHERE district = '南明区'")["result"]["rows"][0][0]
    b = world.run("SELECT COUNT(*) AS n FROM data WHERE district = '南明区' AND year > 2019")["result"]["rows"][0][0]
    assert a - b >= 10


def test_small_groups_are_withheld(world: World) -> None:
    job = world.run("SELECT district, year, COUNT(*) AS n FROM data GROUP BY district, year HAVING COUNT(*) > 0")
    assert job["status"] == "released"
    assert all(row[2] >= 10 for row in job["result"]["rows"])
    assert 2018 not in {row[1] for row in job["result"]["rows"]}


def test_engine_errors_do_not_leak_values(world: World) -> None:
    job = world.run("SELECT CAST(district AS INTEGER) AS d, COUNT(*) AS n FROM data GROUP BY d")
    assert job["status"] == "failed" and job["rule"] == "error"
    text = job["message_zh"] + job["message_en"]
    assert not any(d in text for d in DISTRICTS), text
    assert job["result"] is None


def test_results_wait_for_the_provider_when_the_policy_says_so(client, session_factory) -> None:  # type: ignore[no-untyped-def]
    world = World(client, session_factory, make_table(3_000), {**POLICY, "review": True})
    job = world.run("SELECT district, COUNT(*) AS n FROM data GROUP BY district")
    assert (job["status"], job["result"]) == ("awaiting_approval", None)
    seller = world.market.seller
    seen = client.get(f"/api/v1/sandbox-jobs/{job['id']}", headers=seller).json()
    assert seen["result"] is not None and len(seen["result"]["rows"]) == len(DISTRICTS)
    assert_error(client.post(f"/api/v1/sandbox-jobs/{job['id']}/review", json={"approve": True},
                             headers=world.market.buyer), 403)
    approved = client.post(f"/api/v1/sandbox-jobs/{job['id']}/review", json={"approve": True, "note": "可以"},
                           headers=seller)
    assert approved.status_code == 200 and approved.json()["status"] == "released"
    assert client.get(f"/api/v1/sandbox-jobs/{job['id']}", headers=world.market.buyer).json()["result"]["rows"]
    assert_error(client.post(f"/api/v1/sandbox-jobs/{job['id']}/review", json={"approve": False},
                             headers=seller), 409, "bad_state")
    second = world.run("SELECT COUNT(*) AS n FROM data")
    refused = client.post(f"/api/v1/sandbox-jobs/{second['id']}/review", json={"approve": False, "note": "不宜发布"},
                          headers=seller).json()
    assert (refused["status"], refused["rule"]) == ("refused", "provider_refused")
    assert client.get(f"/api/v1/sandbox-jobs/{second['id']}", headers=world.market.buyer).json()["result"] is None


DP_POLICY = {**POLICY, "dp": {"epsilon_per_period": "1.0", "default_query_epsilon": "0.4", "period_days": 30}}


def test_dp_spends_the_budget_until_it_runs_out(client, session_factory) -> None:  # type: ignore[no-untyped-def]
    table = make_table(20_000)
    world = World(client, session_factory, table, DP_POLICY)
    sql = "SELECT district, COUNT(*) AS n, AVG(amount) AS avg_amount FROM data GROUP BY district ORDER BY district"
    first = world.run(sql)
    assert first["status"] == "released" and first["mode"] == "dp" and Decimal(first["epsilon"]) == Decimal("0.4")
    truth = dict((d, n) for d, n in true_answer(table, "SELECT district, COUNT(*) FROM data GROUP BY district"))
    bounds = first["error_bounds"]["bounds"]
    for district, n, _avg, *_ in first["result"]["rows"]:
        assert abs(n - truth[district]) <= 20 * bounds["n"]  # noisy, and near (the DP tests measure the bound)
    assert world.run(sql)["status"] == "released"
    budget = client.get(f"/api/v1/contracts/{world.order_id}/sandbox-budget", headers=world.market.buyer).json()
    assert (Decimal(budget["spent"]), Decimal(budget["remaining"])) == (Decimal("0.8"), Decimal("0.2"))
    body = assert_error(world.submit(sql), 422, "query_refused")
    assert body["details"]["rule"] == "budget_exhausted"
    smaller = world.run(sql, epsilon="0.2")
    assert smaller["status"] == "released"
    assert world.refused(sql.replace("n,", "n2,"), "budget_exhausted")
    budget = client.get(f"/api/v1/contracts/{world.order_id}/sandbox-budget", headers=world.market.buyer).json()
    assert Decimal(budget["remaining"]) == 0
    # DP mode refuses what it cannot make private.
    world.refused("SELECT district, COUNT(*) FROM data GROUP BY district HAVING COUNT(*) > 5", "dp_shape")
    world.refused("SELECT SUM(amount * 2) FROM data", "dp_shape")


def test_a_product_without_the_sandbox_mode_refuses_jobs(client, session_factory) -> None:  # type: ignore[no-untyped-def]
    market = market_with_one_product(client, session_factory)
    order_id = market.order(client)
    assert client.post(f"/api/v1/orders/{order_id}/pay", headers=market.buyer).status_code == 200
    response = client.post(f"/api/v1/contracts/{order_id}/sandbox-jobs", json={"sql": "SELECT COUNT(*) FROM data"},
                           headers=market.buyer)
    body = assert_error(response, 403, "usage_denied")
    assert body["details"]["rule"] == "mode_not_allowed"


def test_policy_is_checked_against_the_dataset(world: World) -> None:
    client, seller = world.client, world.market.seller
    url = f"/api/v1/products/{world.product_id}/sandbox-policy"
    assert_error(client.put(url, json={"columns": [{"name": "nope", "use": "group"}]}, headers=seller), 422,
                 "unknown_column")
    assert_error(client.put(url, json={"columns": [{"name": "district", "use": "aggregate"}]}, headers=seller), 422,
                 "not_numeric")
    assert_error(client.put(url, json={"columns": [{"name": "amount", "use": "aggregate"}], "dp": {}},
                            headers=seller), 422)
    assert_error(client.put(url, json={"min_group_size": 1}, headers=seller), 422)
    # Buyers (anyone) read the policy of a listed product before buying; only the provider sets it.
    public = client.get(url)
    assert public.status_code == 200 and public.json()["policy"]["min_group_size"] == 10
    assert any("10" in line for line in public.json()["description_zh"])
    assert_error(client.put(url, json=POLICY, headers=world.market.buyer), 404)


PSI_POLICY = {**DP_POLICY, "psi_key_column": "phone_hash", "psi_reveal": "intersection"}


def test_psi_then_aggregate_over_the_intersection(client, session_factory) -> None:  # type: ignore[no-untyped-def]
    table = make_table(6_000)
    world = World(client, session_factory, table, PSI_POLICY)
    theirs = [f"h{i:07d}" for i in range(0, 6_000, 2)]  # 3,000 of the provider's
    mine = theirs + [f"x{i}" for i in range(2_000)]
    response = client.post(f"/api/v1/contracts/{world.order_id}/psi-runs", json={"ids": mine},
                           headers=world.market.buyer)
    assert response.status_code == 202, response.text
    run_id = response.json()["id"]
    world_sql = "SELECT COUNT(*) AS n FROM data"
    body = assert_error(world.submit(world_sql, psi_run_id=run_id), 422, "query_refused")
    assert body["details"]["rule"] == "psi_not_ready"
    run_worker(client)
    run = client.get(f"/api/v1/psi-runs/{run_id}", headers=world.market.buyer).json()
    assert (run["status"], run["intersection_size"], run["buyer_count"]) == ("done", 3_000, 5_000)
    assert client.get(f"/api/v1/psi-runs/{run_id}", headers=world.market.seller).json()["intersection_size"] is None
    ids = client.get(f"/api/v1/psi-runs/{run_id}/intersection", headers=world.market.buyer).json()["ids"]
    assert sorted(ids) == sorted(theirs)
    assert_error(client.get(f"/api/v1/psi-runs/{run_id}/intersection", headers=world.market.seller), 404)
    job = world.run(world_sql, psi_run_id=run_id, epsilon="0.5")
    assert job["status"] == "released", job
    (noisy_n,) = job["result"]["rows"][0]
    assert abs(noisy_n - 3_000) <= 20 * job["error_bounds"]["bounds"]["n"]


def test_psi_size_only_and_bad_input(client, session_factory) -> None:  # type: ignore[no-untyped-def]
    world = World(client, session_factory, make_table(1_000), {**PSI_POLICY, "psi_reveal": "size"})
    url = f"/api/v1/contracts/{world.order_id}/psi-runs"
    for bad in ({"ids": []}, {"ids": ["a\nb"]}, {"ids": ["x" * 300]}, {"ids": [1, 2]}, {}):
        assert 400 <= client.post(url, json=bad, headers=world.market.buyer).status_code < 500
    run_id = client.post(url, json={"ids": ["h0000001", "h0000002", "zz"]}, headers=world.market.buyer).json()["id"]
    run_worker(client)
    assert client.get(f"/api/v1/psi-runs/{run_id}", headers=world.market.buyer).json()["intersection_size"] == 2
    assert_error(client.get(f"/api/v1/psi-runs/{run_id}/intersection", headers=world.market.buyer), 409, "size_only")
    # Exact mode cannot aggregate over an intersection (the intersection would be a row filter that
    # the k-cells do not cover).
    exact = World(client, session_factory, make_table(1_000, seed=3), {**POLICY, "psi_key_column": "phone_hash"},
                  market=world.market)
    response = client.post(f"/api/v1/contracts/{exact.order_id}/psi-runs", json={"ids": ["h0000001"]},
                           headers=exact.market.buyer)
    assert response.status_code == 202
    run_worker(client)
    body = assert_error(exact.submit("SELECT COUNT(*) AS n FROM data", psi_run_id=response.json()["id"]), 422)
    assert body["details"]["rule"] == "psi_requires_dp"


FOREIGN = [
    ("GET", "/api/v1/sandbox-jobs/{job_id}", None),
    ("POST", "/api/v1/sandbox-jobs/{job_id}/review", {"approve": True}),
    ("GET", "/api/v1/contracts/{order_id}/sandbox-jobs", None),
    ("POST", "/api/v1/contracts/{order_id}/sandbox-jobs", {"sql": "SELECT COUNT(*) AS n FROM data"}),
    ("GET", "/api/v1/contracts/{order_id}/sandbox-budget", None),
    ("POST", "/api/v1/contracts/{order_id}/psi-runs", {"ids": ["h0000001"]}),
    ("GET", "/api/v1/psi-runs/{run_id}", None),
    ("GET", "/api/v1/psi-runs/{run_id}/intersection", None),
    ("PUT", "/api/v1/products/{product_id}/sandbox-policy", POLICY),
]


@pytest.fixture
def walled(client, session_factory):  # type: ignore[no-untyped-def]
    world = World(client, session_factory, make_table(2_000), {**PSI_POLICY, "review": True})
    job = world.run("SELECT district, COUNT(*) AS n FROM data GROUP BY district")
    run_id = client.post(f"/api/v1/contracts/{world.order_id}/psi-runs", json={"ids": ["h0000001", "q"]},
                         headers=world.market.buyer).json()["id"]
    run_worker(client)
    outsider = headers_of(client, make_member(session_factory, world.market.operator, kind="buyer",
                                              deposit_fen=1_000_00))
    return world, {"job_id": job["id"], "order_id": world.order_id, "run_id": run_id,
                   "product_id": world.product_id}, outsider


@pytest.mark.parametrize("method,path,body", FOREIGN, ids=[f"{m} {p}" for m, p, _ in FOREIGN])
def test_another_member_gets_404_and_changes_nothing(client, walled, method, path, body) -> None:  # type: ignore[no-untyped-def]
    world, ids, outsider = walled
    before = client.get(f"/api/v1/contracts/{world.order_id}/sandbox-jobs", headers=world.market.buyer).json()
    assert_error(client.request(method, path.format(**ids), headers=outsider, json=body), 404)
    after = client.get(f"/api/v1/contracts/{world.order_id}/sandbox-jobs", headers=world.market.buyer).json()
    assert after == before and after[0]["status"] == "awaiting_approval"
    policy = client.get(f"/api/v1/products/{world.product_id}/sandbox-policy").json()["policy"]
    assert policy["review"] is True and policy["dp"] is not None
    assert client.get("/api/v1/sandbox-jobs", headers=outsider).json() == []
    # The parties still see theirs.
    assert [j["id"] for j in client.get("/api/v1/sandbox-jobs", headers=world.market.buyer).json()] == [ids["job_id"]]
    assert [j["id"] for j in client.get("/api/v1/sandbox-jobs?as_provider=true",
                                        headers=world.market.seller).json()] == [ids["job_id"]]


def test_a_product_on_the_spark_engine_answers_the_same(client, session_factory) -> None:  # type: ignore[no-untyped-def]
    """The engine is a setting per product: the same checked job and policy on Apache Spark."""
    table = make_table(4_000)
    duck = World(client, session_factory, table, POLICY)
    spark = World(client, session_factory, table, {**POLICY, "engine": "spark"}, market=duck.market)
    sql = "SELECT district, year, SUM(amount) AS s, COUNT(*) AS n FROM data GROUP BY district, year ORDER BY 1, 2"
    on_duckdb, on_spark = duck.run(sql), spark.run(sql)
    assert (on_spark["engine"], on_spark["status"]) == ("spark", "released"), on_spark
    assert on_spark["result"]["columns"] == on_duckdb["result"]["columns"]
    assert len(on_spark["result"]["rows"]) == len(on_duckdb["result"]["rows"]) > 0
    for a, b in zip(on_spark["result"]["rows"], on_duckdb["result"]["rows"]):
        assert (a[0], a[1], a[3]) == (b[0], b[1], b[3]) and abs(float(a[2]) - float(b[2])) < 1e-6
    spark.refused("SELECT * FROM parquet.`/etc/passwd`", "syntax")  # Spark's file query is not even DuckDB SQL

"""SparkEngine gives the same results, names and types as DuckDBEngine for checked queries, and is
locked down: no file queries, no other run's views, no JVM calls, bounded rows and time."""

from __future__ import annotations

import datetime as dt
import math
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("pyspark")

from shujiao.sandbox.engines import DuckDBEngine, EngineFailed, Limits  # noqa: E402
from shujiao.sandbox.spark_engine import SparkEngine, spark_session  # noqa: E402

ROWS = 50_000
LIMITS = Limits(time_limit_seconds=60, max_result_rows=10_000)


@pytest.fixture(scope="module")
def data_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(7)
    districts = np.array(["云岩区", "南明区", "观山湖区", "花溪区", "Baiyun", "Wudang"], dtype=object)
    district = districts[rng.integers(0, len(districts), ROWS)]
    district[rng.random(ROWS) < 0.02] = None  # COALESCE and grouping on NULL
    amount = pa.array(np.round(rng.gamma(2.0, 400.0, ROWS), 2))  # cents: many .50 ties for integer casts
    table = pa.table({
        "district": pa.array(district, pa.string()),
        "amount": amount,
        "price": amount.cast(pa.decimal128(12, 2)),
        "year": pa.array(rng.integers(2015, 2026, ROWS, dtype=np.int32)),
        "行业": pa.array(np.array(["软件", "制造", "金融"])[rng.integers(0, 3, ROWS)]),
        "signed": pa.array(np.datetime64("2019-01-01") + rng.integers(0, 2500, ROWS).astype("timedelta64[D]")),
    })
    path = tmp_path_factory.mktemp("spark") / "data.parquet"
    pq.write_table(table, path)
    return path


@pytest.fixture(scope="module")
def engine() -> SparkEngine:
    spark_session(LIMITS)  # started once for the module; every run below uses a fresh scope of it
    return SparkEngine()


# (query, key columns to sort by; None: the query's own ORDER BY must be kept)
CHECKED_QUERIES = [
    ("SELECT district, AVG(amount) AS avg_amount, COUNT(*) AS __n FROM data WHERE year >= 2020 GROUP BY district",
     ["district"]),
    ("SELECT district, SUM(amount) AS total, MIN(amount) AS low, MAX(amount) AS high, STDDEV_SAMP(amount) AS sd, "
     "VAR_SAMP(amount) AS var, MEDIAN(amount) AS med, COUNT(DISTINCT year) AS years, COUNT(*) AS __n "
     "FROM data GROUP BY district", ["district"]),
    ("SELECT CASE WHEN amount < 200 THEN 'small' WHEN amount < 1000 THEN 'medium' ELSE 'large' END AS size, "
     "COUNT(*) AS __n, AVG(year) AS avg_year FROM data WHERE year BETWEEN 2017 AND 2022 "
     "AND district IN ('云岩区', '南明区', 'Baiyun') GROUP BY 1", ["size"]),
    ("SELECT COALESCE(LOWER(district), 'unknown') AS d, UPPER(SUBSTRING(district, 1, 2)) AS prefix, COUNT(*) AS __n "
     "FROM data WHERE district LIKE '%区' OR district LIKE 'B%' OR district IS NULL GROUP BY 1, 2", ["d", "prefix"]),
    ("SELECT YEAR(signed) AS y, MONTH(signed) AS m, DATE_TRUNC('month', signed) AS month_start, "
     "SUM(amount) AS total, COUNT(*) AS __n FROM data GROUP BY 1, 2, 3", ["y", "m"]),
    ("SELECT FLOOR(amount / 500) AS band, ROUND(AVG(amount), 2) AS avg_amount, SUM(LEAST(amount, 1000)) AS capped, "
     "MAX(GREATEST(year, 2018)) AS late, SUM(CAST(amount AS INTEGER)) AS whole, "
     "SUM(CAST(price AS INTEGER)) AS whole_price, SUM(price) AS total_price, COUNT(*) AS __n "
     "FROM data GROUP BY 1", ["band"]),
    # Chinese identifiers (quoted for Spark) and unaliased expressions (DuckDB's names and types)
    ("SELECT 行业, COUNT(*), SUM(year), AVG(amount) FROM data GROUP BY 行业", ["行业"]),
    ("SELECT district, year, SUM(amount) AS total FROM data WHERE district IS NOT NULL GROUP BY district, year "
     "ORDER BY total DESC, district, year LIMIT 7", None),
]


def _same_value(spark_value: object, duckdb_value: object) -> bool:
    if isinstance(spark_value, float) and isinstance(duckdb_value, float):
        return math.isclose(spark_value, duckdb_value, rel_tol=1e-9, abs_tol=1e-9)
    return spark_value == duckdb_value


def _sorted(rows: list[dict], keys: list[str]) -> list[dict]:
    return sorted(rows, key=lambda row: [(row[k] is None, row[k] if row[k] is not None else "") for k in keys])


@pytest.mark.parametrize(("sql", "keys"), CHECKED_QUERIES, ids=[f"q{i}" for i in range(len(CHECKED_QUERIES))])
def test_results_equal_duckdb(engine: SparkEngine, data_path: Path, sql: str, keys: list[str] | None) -> None:
    tables = {"data": data_path}
    expected = DuckDBEngine().run(sql, tables=tables, limits=LIMITS)
    got = engine.run(sql, tables=tables, limits=LIMITS)

    assert got.schema == expected.schema
    assert got.num_rows == expected.num_rows > 0
    got_rows, expected_rows = got.to_pylist(), expected.to_pylist()
    if keys is not None:
        got_rows, expected_rows = _sorted(got_rows, keys), _sorted(expected_rows, keys)
    for got_row, expected_row in zip(got_rows, expected_rows, strict=True):
        assert all(_same_value(got_row[c], expected_row[c]) for c in expected.column_names), (got_row, expected_row)


def test_types_are_duckdbs(engine: SparkEngine, data_path: Path) -> None:
    result = engine.run("SELECT district, COUNT(*) AS __n, AVG(year) AS a, SUM(year) AS s, DATE_TRUNC('month', signed) "
                        "AS m FROM data GROUP BY district, m", tables={"data": data_path}, limits=LIMITS)
    assert result.schema.field("__n").type == pa.int64()
    assert result.schema.field("a").type == pa.float64()
    assert result.schema.field("s").type == pa.decimal128(38, 0)  # DuckDB's HUGEINT; Spark's own is BIGINT
    assert result.schema.field("district").type == pa.string()
    assert result.schema.field("m").type == pa.timestamp("us")  # Spark's own has tz=UTC
    assert result.schema.metadata is None  # no Spark field metadata leaks out
    assert isinstance(result.column("s")[0].as_py(), Decimal)


def test_file_queries_are_refused(engine: SparkEngine, data_path: Path) -> None:
    # The path exists and is Parquet: only spark.sql.runSQLOnFiles=false keeps Spark from reading it.
    with pytest.raises(EngineFailed) as failed:
        engine.run(f'SELECT COUNT(*) AS n FROM parquet."{data_path}"', tables={"data": data_path}, limits=LIMITS)
    assert failed.value.reason == "error"
    assert "TABLE_OR_VIEW_NOT_FOUND" in failed.value.detail


def test_unknown_tables_are_refused(engine: SparkEngine, data_path: Path) -> None:
    with pytest.raises(EngineFailed) as failed:
        engine.run("SELECT COUNT(*) AS n FROM other", tables={"data": data_path}, limits=LIMITS)
    assert failed.value.reason == "error"


def test_views_do_not_leak_between_runs(engine: SparkEngine, data_path: Path) -> None:
    first = engine.run("SELECT COUNT(*) AS n FROM first_buyer", tables={"first_buyer": data_path}, limits=LIMITS)
    assert first.column("n").to_pylist() == [ROWS]
    with pytest.raises(EngineFailed) as failed:
        engine.run("SELECT COUNT(*) AS n FROM first_buyer", tables={"data": data_path}, limits=LIMITS)
    assert failed.value.reason == "error"
    assert spark_session(LIMITS).catalog.listTables() == []


def test_jvm_functions_are_refused(engine: SparkEngine, data_path: Path) -> None:
    with pytest.raises(EngineFailed) as failed:
        engine.run("SELECT reflect('java.lang.System', 'getProperty', 'user.home') AS home FROM data LIMIT 1",
                   tables={"data": data_path}, limits=LIMITS)
    assert failed.value.reason == "error"
    assert "not allowed" in failed.value.detail


def test_too_many_rows(engine: SparkEngine, data_path: Path) -> None:
    limits = Limits(max_result_rows=100)
    tables = {"data": data_path}
    with pytest.raises(EngineFailed) as failed:
        engine.run("SELECT district, amount FROM data", tables=tables, limits=limits)
    assert failed.value.reason == "too_many_rows"
    assert engine.run("SELECT amount FROM data LIMIT 100", tables=tables, limits=limits).num_rows == 100


def test_runtime_errors_are_engine_failures(engine: SparkEngine, data_path: Path) -> None:
    with pytest.raises(EngineFailed) as failed:
        engine.run("SELECT CAST(district AS INTEGER) AS n FROM data", tables={"data": data_path}, limits=LIMITS)
    assert failed.value.reason == "error"


def test_timeout_cancels_the_query(engine: SparkEngine, data_path: Path) -> None:
    slow = "SELECT COUNT(*) AS n FROM data a CROSS JOIN data b WHERE a.amount * b.amount < -1"
    started = time.monotonic()
    with pytest.raises(EngineFailed) as failed:
        engine.run(slow, tables={"data": data_path}, limits=Limits(time_limit_seconds=2))
    assert failed.value.reason == "timeout"
    assert time.monotonic() - started < 8
    # The cancelled group is gone: the shared session runs the next query normally.
    after = engine.run("SELECT COUNT(*) AS n FROM data", tables={"data": data_path},
                       limits=Limits(time_limit_seconds=30))
    assert after.column("n").to_pylist() == [ROWS]

"""Sandbox engines compared: the same checked query on DuckDBEngine and on SparkEngine (local mode).

    PYTHONPATH=src .venv/bin/python bench/sandbox_spark.py                 # 1M rows, best of 3
    PYTHONPATH=src .venv/bin/python bench/sandbox_spark.py --rows 5000000 --repeats 5

The Parquet file (district, amount, year, 行业, signed) is generated from a fixed seed and cached as
var/bench/sandbox-spark-<rows>.parquet. Measured, per query, each engine's ``run`` as the sandbox
calls it (lockdown, views, the query, the Arrow result), best of --repeats:

  duckdb     DuckDBEngine: a fresh locked-down in-memory connection per run
  spark      SparkEngine on a warm session (started, and the query run once untimed, before): a
             fresh session scope per run, the query translated by sqlglot, the result aligned to
             DuckDB's names and types
  start      once: starting the process's SparkSession (the JVM), which the first query pays

Spark is not expected to win on one machine: it is the engine for data that does not fit one, and
this shows what its fixed costs are on data that does.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from shujiao.sandbox.engines import DuckDBEngine, Engine, Limits  # noqa: E402

CACHE = ROOT / "var" / "bench"
LIMITS = Limits(time_limit_seconds=600, threads=2, max_result_rows=10_000)
QUERIES = {
    "avg by district": "SELECT district, AVG(amount) AS avg_amount, COUNT(*) AS __n FROM data WHERE year >= 2020 "
                       "GROUP BY district",
    "spread by district": "SELECT district, STDDEV_SAMP(amount) AS sd, MEDIAN(amount) AS med, "
                          "COUNT(DISTINCT year) AS years, COUNT(*) AS __n FROM data GROUP BY district",
    "monthly by industry": "SELECT 行业, DATE_TRUNC('month', signed) AS month, SUM(amount) AS total, COUNT(*) AS __n "
                           "FROM data WHERE district IN ('云岩区', '南明区') GROUP BY 1, 2",
    "top bands": "SELECT FLOOR(amount / 100) AS band, COUNT(*) AS __n FROM data GROUP BY 1 ORDER BY __n DESC LIMIT 10",
}


def generate(path: Path, rows: int) -> None:
    rng = np.random.default_rng(2026)
    districts = np.array(["云岩区", "南明区", "观山湖区", "花溪区", "乌当区", "白云区", "清镇市", "修文县"])
    table = pa.table({
        "district": pa.array(districts[rng.integers(0, len(districts), rows)]),
        "amount": pa.array(np.round(rng.gamma(2.0, 400.0, rows), 2)),
        "year": pa.array(rng.integers(2015, 2026, rows, dtype=np.int32)),
        "行业": pa.array(np.array(["软件", "制造", "金融", "物流"])[rng.integers(0, 4, rows)]),
        "signed": pa.array(np.datetime64("2019-01-01") + rng.integers(0, 2500, rows).astype("timedelta64[D]")),
    })
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    pq.write_table(table, partial, compression="snappy")
    partial.rename(path)


def _best_seconds(engine: Engine, sql: str, tables: dict[str, Path], repeats: int) -> tuple[float, int]:
    best, rows = float("inf"), 0
    for _ in range(repeats):
        started = time.perf_counter()
        rows = engine.run(sql, tables=tables, limits=LIMITS).num_rows
        best = min(best, time.perf_counter() - started)
    return best, rows


def spark_rows(parquet_path: Path, sql: str, repeats: int = 3) -> list[dict]:
    """Timings of ``sql`` over ``parquet_path`` (as table ``data``): one row per engine, and one for
    the SparkSession start if this call started it (0 s when the session was already warm)."""
    from shujiao.sandbox import spark_engine

    tables = {"data": Path(parquet_path)}
    started = time.perf_counter()
    was_running = spark_engine._session is not None
    spark_engine.spark_session(LIMITS)
    start_seconds = 0.0 if was_running else time.perf_counter() - started

    spark = spark_engine.SparkEngine()
    spark.run(sql, tables=tables, limits=LIMITS)  # warm: JIT and codegen of this query's plan
    duckdb_seconds, duckdb_rows = _best_seconds(DuckDBEngine(), sql, tables, repeats)
    spark_seconds, spark_rows_returned = _best_seconds(spark, sql, tables, repeats)
    return [
        {"engine": "duckdb", "seconds": duckdb_seconds, "rows": duckdb_rows},
        {"engine": "spark", "seconds": spark_seconds, "rows": spark_rows_returned},
        {"engine": "spark session start", "seconds": start_seconds, "rows": 0},
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per engine and query; the best is kept")
    args = parser.parse_args()

    path = CACHE / f"sandbox-spark-{args.rows}.parquet"
    if not path.exists():
        print(f"generating {path} ({args.rows:,} rows) ...", flush=True)
        generate(path, args.rows)
    print(f"\nsandbox engines on {path.name}: {args.rows:,} rows, {path.stat().st_size / 2**20:,.1f} MiB, "
          f"{LIMITS.threads} threads, best of {args.repeats}")
    print(f"{'query':<22}{'result rows':>12}{'duckdb s':>10}{'spark s':>10}{'spark/duckdb':>14}")
    session_start = 0.0
    for label, sql in QUERIES.items():
        duckdb_row, spark_row, start_row = spark_rows(path, sql, args.repeats)
        session_start += start_row["seconds"]
        if duckdb_row["rows"] != spark_row["rows"]:
            raise SystemExit(f"{label}: DuckDB returned {duckdb_row['rows']} rows, Spark {spark_row['rows']}")
        print(f"{label:<22}{duckdb_row['rows']:>12,}{duckdb_row['seconds']:>10.3f}{spark_row['seconds']:>10.3f}"
              f"{spark_row['seconds'] / duckdb_row['seconds']:>13.1f}x")
    print(f"\nSparkSession start (once per process, paid by the first query): {session_start:.1f} s")


if __name__ == "__main__":
    main()

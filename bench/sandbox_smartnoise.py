"""smartnoise-sql as a baseline for the sandbox's DP mode: the same grouped query, timed.

    .venv/bin/python bench/sandbox_smartnoise.py                   # 10,000,000 rows
    .venv/bin/python bench/sandbox_smartnoise.py --rows 1000000 --engines pandas duckdb

The query, on a Parquet file of ``district`` (16 values) and ``amount`` (double in [0, 1000]):

    SELECT district, COUNT(*) AS n, AVG(amount) AS avg_amount FROM data GROUP BY district

with smartnoise-sql's metadata: amount bounded 0..1000, row privacy, max_ids 1, ε = 1.0,
δ = 1e-7 (its default censoring of small groups on). smartnoise-sql pins opendp < 0.15 and
pandas < 3, so it cannot share our venv: this script creates ``var/bench/smartnoise-venv`` (once;
``python3 -m venv`` and pip install smartnoise-sql, pyarrow, duckdb) and runs the query there in a
subprocess (``--worker``), which times itself. ``load_seconds`` is reading the Parquet file and
building the reader (PandasReader copies the frame into an in-memory SQLite database — its only
offline reader for a DataFrame); ``seconds`` is the best of ``--repeat`` ``reader.execute`` calls.

Engines (``engine`` in the output):

  pandas  snsql.from_df: smartnoise's own pandas reader, which runs the rewritten SQL in SQLite
  duckdb  snsql.from_connection(engine="sqlite") over a DuckDB connection holding the table (a
          small DB-API adapter; smartnoise's SQLite dialect is plain enough for DuckDB): the same
          engine our sandbox uses, so the comparison isolates smartnoise's own overhead

Note that smartnoise-sql charges ε per noisy column: its odometer reports ε = 3.0 for this query
at ε = 1.0 (COUNT, and the SUM and COUNT behind AVG), where our release spends 1.0 in total.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / "var" / "bench" / "smartnoise-venv"
VENV_PYTHON = VENV / "bin" / "python"
PACKAGES = ("smartnoise-sql", "pyarrow", "duckdb")
QUERY = "SELECT district, COUNT(*) AS n, AVG(amount) AS avg_amount FROM data GROUP BY district"
EPSILON, DELTA = 1.0, 1e-7
ENGINES = ("pandas", "duckdb")
DISTRICTS = ("南明区", "云岩区", "花溪区", "乌当区", "白云区", "观山湖区", "开阳县", "息烽县",
             "修文县", "清镇市", "红花岗区", "汇川区", "播州区", "钟山区", "西秀区", "碧江区")


def ensure_venv() -> Path:
    """The separate venv for smartnoise-sql, created and filled on first use."""
    if not VENV_PYTHON.exists():
        VENV.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["python3", "-m", "venv", str(VENV)], check=True)
    probe = "import snsql, pyarrow, duckdb"
    if subprocess.run([str(VENV_PYTHON), "-c", probe], capture_output=True).returncode != 0:
        subprocess.run([str(VENV_PYTHON), "-m", "pip", "install", "--quiet", *PACKAGES], check=True)
    return VENV_PYTHON


def generate(path: Path, rows: int, seed: int = 2026) -> Path:
    """A Parquet file of ``rows`` (district, amount) rows, written in chunks (10M rows ≈ 100 MB)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    districts = pa.array(DISTRICTS)
    schema = pa.schema([("district", pa.string()), ("amount", pa.float64())])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, rows, 1_000_000):
            size = min(1_000_000, rows - start)
            writer.write_table(pa.table({"district": districts.take(pa.array(rng.integers(0, len(DISTRICTS), size))),
                                         "amount": rng.uniform(0, 1000, size)}, schema=schema))
    return path


def smartnoise_rows(parquet_path: str, rows: int, *, engines: tuple[str, ...] = ENGINES,
                    repeat: int = 3) -> list[dict]:
    """One row per engine: the smartnoise-sql query on ``parquet_path`` (``rows`` rows), run in the
    separate venv; keys case, seconds (query), load_seconds, engine, note."""
    python = ensure_venv()
    results = []
    for engine in engines:
        completed = subprocess.run([str(python), str(Path(__file__).resolve()), "--worker", parquet_path,
                                    "--engine", engine, "--repeat", str(repeat)],
                                   capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            results.append({"case": f"smartnoise-sql {rows:,} rows", "seconds": float("nan"),
                            "load_seconds": float("nan"), "engine": engine,
                            "note": "failed: " + (completed.stderr.strip().splitlines() or ["no output"])[-1][:200]})
            continue
        measured = json.loads(completed.stdout.strip().splitlines()[-1])
        assert measured["rows"] == rows, (measured["rows"], rows)
        results.append({"case": f"smartnoise-sql {rows:,} rows", "seconds": measured["seconds"],
                        "load_seconds": measured["load_seconds"], "engine": measured["engine"],
                        "note": f"{measured['groups']} groups, odometer ε={measured['epsilon_spent']:g} "
                                f"δ={measured['delta_spent']:.1e}, snsql {measured['version']}"})
    return results


class _DuckCursor:
    """The part of a DB-API cursor smartnoise's SQLite reader uses, over DuckDB."""

    def __init__(self, connection) -> None:  # type: ignore[no-untyped-def]
        self._connection = connection
        self.description = None
        self._rows: list[tuple] = []

    def execute(self, sql: str) -> None:
        result = self._connection.execute(sql)
        self.description = result.description
        self._rows = result.fetchall() if result.description else []

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._rows)


class _DuckConnection:
    def __init__(self, connection) -> None:  # type: ignore[no-untyped-def]
        self._connection = connection

    def cursor(self) -> _DuckCursor:
        return _DuckCursor(self._connection)

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass


def worker(parquet_path: str, engine: str, repeat: int) -> dict:
    """Runs inside the smartnoise venv: load, then time ``reader.execute``."""
    import importlib.metadata

    import pyarrow.parquet as pq
    import snsql

    started = time.perf_counter()
    table = pq.read_table(parquet_path)
    rows = table.num_rows
    metadata = {"bench": {"": {"data": {
        "row_privacy": True, "max_ids": 1, "rows": rows,
        "district": {"type": "string"}, "amount": {"type": "float", "lower": 0, "upper": 1000}}}}}
    privacy = snsql.Privacy(epsilon=EPSILON, delta=DELTA)
    if engine == "pandas":
        reader = snsql.from_df(table.to_pandas(), privacy=privacy, metadata=metadata)
        engine_label = "pandas (PandasReader → in-memory SQLite)"
    elif engine == "duckdb":
        import duckdb

        connection = duckdb.connect()
        connection.register("loaded", table)
        connection.execute("CREATE TABLE data AS SELECT * FROM loaded")
        reader = snsql.from_connection(_DuckConnection(connection), engine="sqlite", privacy=privacy,
                                       metadata=metadata)
        engine_label = "duckdb (SQLite dialect over a DuckDB connection)"
    else:
        raise ValueError(f"unknown engine {engine}")
    load_seconds = time.perf_counter() - started
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        result = reader.execute(QUERY)
        best = min(best, time.perf_counter() - started)
    epsilon_spent, delta_spent = reader.get_privacy_cost([QUERY])
    return {"rows": rows, "seconds": best, "load_seconds": load_seconds, "engine": engine_label,
            "groups": len(result) - 1, "epsilon_spent": float(epsilon_spent), "delta_spent": float(delta_spent),
            "version": importlib.metadata.version("smartnoise-sql")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--worker", metavar="PARQUET", help=argparse.SUPPRESS)
    parser.add_argument("--engine", choices=ENGINES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.engine, args.repeat)))
        return
    path = REPO / "var" / "bench" / f"smartnoise-{args.rows}.parquet"
    if not path.exists():
        started = time.perf_counter()
        generate(path, args.rows)
        print(f"generated {path.relative_to(REPO)} ({path.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    ensure_venv()
    print(f"smartnoise venv ready in {time.perf_counter() - started:.1f} s ({VENV.relative_to(REPO)})")
    rows = smartnoise_rows(str(path), args.rows, engines=tuple(args.engines), repeat=args.repeat)
    print(f"{QUERY}\nε = {EPSILON}, δ = {DELTA}, best of {args.repeat} queries")
    print(f"{'case':<30} {'engine':<50} {'load s':>8} {'query s':>8}  note")
    for row in rows:
        print(f"{row['case']:<30} {row['engine']:<50} {row['load_seconds']:>8.2f} {row['seconds']:>8.3f}  {row['note']}")


if __name__ == "__main__":
    main()

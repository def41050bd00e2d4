"""Where a checked sandbox query runs (a ``typing.Protocol``; the engine is a setting per product).

The SQL an engine gets has already passed :mod:`shujiao.sandbox.checker`: one SELECT in DuckDB's
dialect over the table names in ``tables`` (each a Parquet file of the prepared sandbox copy). The
engines lock themselves down as well, so that a checker bug alone does not open the machine: the
DuckDB connection can read only those files, loads no extension and cannot be reconfigured."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import duckdb
import pyarrow as pa

FailureReason = Literal["timeout", "memory", "too_many_rows", "error", "data_unavailable", "consent_missing"]


@dataclass(frozen=True)
class Limits:
    time_limit_seconds: float = 120
    memory_limit_mb: int = 2048
    threads: int = 2
    max_result_rows: int = 10_000


class EngineFailed(Exception):
    """The query did not finish. ``reason`` is all a buyer is told: an engine's own message can
    quote the provider's values (a failed cast names the value) and is only logged."""

    def __init__(self, reason: FailureReason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}"[:2000])
        self.reason = reason
        self.detail = detail


class Engine(Protocol):
    name: str

    def run(self, sql: str, *, tables: Mapping[str, Path], limits: Limits) -> pa.Table:
        """The query's result; ``EngineFailed`` if it runs out of time or memory, returns more than
        ``limits.max_result_rows`` rows, or fails."""
        ...


# Settings that close DuckDB to untrusted SQL, in this order (see DEPENDENCIES.md): the readable
# paths are fixed while external access is still on, then access is closed and the configuration
# locked.
_LOCKDOWN = (
    "SET enable_external_access = false",
    "SET python_enable_replacements = false",
    "SET autoinstall_known_extensions = false",
    "SET autoload_known_extensions = false",
    "SET allow_community_extensions = false",
    "SET lock_configuration = true",
)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def locked_connection(tables: Mapping[str, Path], limits: Limits) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that sees each of ``tables`` as a view and nothing else on disk."""
    connection = duckdb.connect(config={"threads": limits.threads, "memory_limit": f"{limits.memory_limit_mb}MB",
                                        "temp_directory": ""})
    try:
        paths = [str(path) for path in tables.values()]
        connection.execute("SET allowed_paths = $paths", {"paths": paths})
        for name, path in tables.items():
            literal = "'" + str(path).replace("'", "''") + "'"
            connection.execute(f"CREATE VIEW {_quoted(name)} AS SELECT * FROM read_parquet({literal})")
        for statement in _LOCKDOWN:
            connection.execute(statement)
    except BaseException:
        connection.close()
        raise
    return connection


class DuckDBEngine:
    name = "duckdb"

    def run(self, sql: str, *, tables: Mapping[str, Path], limits: Limits) -> pa.Table:
        connection = locked_connection(tables, limits)
        timed_out = threading.Event()

        def interrupt() -> None:
            timed_out.set()
            connection.interrupt()

        timer = threading.Timer(limits.time_limit_seconds, interrupt)
        timer.daemon = True
        timer.start()
        try:
            reader = connection.sql(sql).to_arrow_reader(min(limits.max_result_rows + 1, 100_000))
            batches, rows = [], 0
            for batch in reader:
                rows += batch.num_rows
                if rows > limits.max_result_rows:
                    raise EngineFailed("too_many_rows", f"more than {limits.max_result_rows} rows")
                batches.append(batch)
            return pa.Table.from_batches(batches, schema=reader.schema)
        except EngineFailed:
            raise
        except duckdb.OutOfMemoryException as exc:
            raise EngineFailed("memory", str(exc)) from exc
        except (duckdb.Error, pa.ArrowException) as exc:
            if timed_out.is_set():
                raise EngineFailed("timeout", str(exc)) from exc
            raise EngineFailed("error", str(exc)) from exc
        finally:
            timer.cancel()
            connection.close()


def engine_for(name: str) -> Engine:
    if name == "spark":
        from shujiao.sandbox.spark_engine import SparkEngine  # pyspark is an optional extra

        return SparkEngine()
    return DuckDBEngine()

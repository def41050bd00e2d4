"""Running a checked query: the prepared sandbox copy, the engine, the output control. Pure of
the database, so the benchmark and the worker run the very same code.

The prepared copy (沙箱副本) is a Parquet file holding only the columns the policy opens. In exact
mode it also holds only rows whose combination of group-column values occurs at least k times
(local suppression; see :mod:`shujiao.sandbox.policy` for why this defeats differencing). It is
derived data, kept under ``<data_dir>/sandbox-cache`` (mode 0700) and named by the dataset's hash
and the policy's, so a changed policy or dataset makes a new one; safe to delete at any time."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from shujiao.consent import core as consent_core
from shujiao.sandbox import dp
from shujiao.sandbox.checker import COUNT_COLUMN, TABLE, CheckedQuery
from shujiao.sandbox.engines import Engine, Limits
from shujiao.sandbox.policy import SandboxPolicy


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def copy_columns(policy: SandboxPolicy) -> list[str]:
    """The columns the prepared copy holds: those the policy opens, and the PSI key in DP mode
    (where jobs may aggregate over an intersection; the checker never lets a query read it)."""
    columns = [c.name for c in policy.columns]
    if policy.dp is not None and policy.psi_key_column:
        columns.append(policy.psi_key_column)
    return columns


def policy_tag(policy: SandboxPolicy) -> str:
    """What of the policy shapes the prepared copy: its columns, k in exact mode, the clamping
    bounds in DP mode."""
    bounds = {c.name: [str(c.lower), str(c.upper)] for c in policy.columns if policy.dp is not None}
    shape = {"columns": copy_columns(policy), "k": None if policy.dp is not None else policy.min_group_size,
             "bounds": bounds}
    return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]


def _copy_expressions(policy: SandboxPolicy) -> list[str]:
    """Each column of the copy. In DP mode aggregate columns are stored already clamped into the
    policy's bounds, as DOUBLE: a clamp is per row, so doing it once here is the same as in every
    query (the checker's DP rewrite sums the stored values), and each query is cheaper."""
    expressions = []
    for name in copy_columns(policy):
        rule = policy.rule(name)
        if policy.dp is not None and rule is not None and rule.use == "aggregate":
            assert rule.lower is not None and rule.upper is not None  # the policy requires them in DP
            expressions.append(f"LEAST(GREATEST(CAST({_quoted(name)} AS DOUBLE), {rule.lower}), {rule.upper}) "
                               f"AS {_quoted(name)}")
        else:
            expressions.append(_quoted(name))
    return expressions


@dataclass(frozen=True)
class PreparedCopy:
    path: Path
    rows_in: int
    rows_kept: int
    # Personal data: the rows with live consent and the rows per consenting person (None: no scenario).
    screened: consent_core.Screened | None = None


def _stats_path(path: Path) -> Path:
    return path.with_suffix(".json")


def prepare_copy(*, source: Path, file_format: str, policy: SandboxPolicy, out: Path,
                 restriction: consent_core.Restriction | None = None) -> PreparedCopy:
    """Write the prepared copy of the plaintext file ``source`` to ``out`` (atomically). With a
    consent ``restriction`` only the rows of persons with live consent are kept, before k-suppression
    (the caller names ``out`` by the restriction's tag, so a consent change makes a new copy)."""
    out.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    reader = "read_csv" if file_format == "csv" else "read_parquet"
    selection = f"SELECT {', '.join(_copy_expressions(policy))} FROM {reader}({_literal(source)})"
    if restriction is not None:
        selection += f" WHERE {consent_core.match_expression(restriction.key_column)}"
    if policy.dp is None:
        groups = [_quoted(c) for c in policy.group_columns]
        window = f"PARTITION BY {', '.join(groups)}" if groups else ""
        selection += f" QUALIFY COUNT(*) OVER ({window}) >= {policy.min_group_size}"
    connection = duckdb.connect()
    screened = None
    try:
        if restriction is not None:
            connection.register("consent_allowed", restriction.allowed_table())
            screened = consent_core.count_used(connection, f"{reader}({_literal(source)})", restriction)
        rows_in = connection.execute(f"SELECT COUNT(*) FROM {reader}({_literal(source)})").fetchone()[0]  # type: ignore[index]
        with tempfile.NamedTemporaryFile(dir=out.parent, suffix=".partial", delete=False) as partial:
            partial_path = Path(partial.name)
        try:
            connection.execute(f"COPY ({selection}) TO {_literal(partial_path)} (FORMAT parquet)")
            rows_kept = connection.execute(f"SELECT COUNT(*) FROM read_parquet({_literal(partial_path)})").fetchone()[0]  # type: ignore[index]
            os.replace(partial_path, out)  # another worker building the same copy is harmless
        finally:
            partial_path.unlink(missing_ok=True)
    finally:
        connection.close()
    stats: dict[str, Any] = {"rows_in": rows_in, "rows_kept": rows_kept}
    if screened is not None:
        stats["consent"] = {"rows_in": screened.rows_in, "rows_kept": screened.rows_kept, "used": screened.used}
    _stats_path(out).write_text(json.dumps(stats))
    return PreparedCopy(out, int(rows_in), int(rows_kept), screened)


def cached_copy(path: Path) -> PreparedCopy | None:
    if not path.is_file():
        return None
    try:
        stats = json.loads(_stats_path(path).read_text())
    except (OSError, ValueError):
        return None
    consent = stats.get("consent")
    screened = None if consent is None else consent_core.Screened(
        rows_in=int(consent["rows_in"]), rows_kept=int(consent["rows_kept"]),
        used={str(k): int(n) for k, n in consent["used"].items()})
    return PreparedCopy(path, int(stats["rows_in"]), int(stats["rows_kept"]), screened)


def restrict_to_intersection(*, prepared: Path, key_column: str, intersection: Path, out: Path) -> Path:
    """The prepared copy's rows whose PSI key is in the intersection (a Parquet of one column ``id``)."""
    out.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if out.is_file():
        return out
    with tempfile.NamedTemporaryFile(dir=out.parent, suffix=".partial", delete=False) as partial:
        partial_path = Path(partial.name)
    connection = duckdb.connect()
    try:
        connection.execute(
            f"COPY (SELECT * FROM read_parquet({_literal(prepared)}) WHERE CAST({_quoted(key_column)} AS VARCHAR) IN "
            f"(SELECT id FROM read_parquet({_literal(intersection)}))) TO {_literal(partial_path)} (FORMAT parquet)")
        os.replace(partial_path, out)
    finally:
        connection.close()
        partial_path.unlink(missing_ok=True)
    return out


@dataclass(frozen=True)
class Outcome:
    columns: list[str]
    rows: list[list[Any]]
    error_bounds: dict[str, float]  # DP: output -> bound at the policy's confidence
    dropped_groups: int  # DP: groups withheld by the noisy threshold


def _plain(value: Any) -> Any:
    """A JSON-safe cell: Decimals and dates as strings, floats as they are."""
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def _rows(table: pa.Table) -> list[list[Any]]:
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return [[_plain(column[r]) for column in columns] for r in range(table.num_rows)]


def _ordered(table: pa.Table, order_by: Iterable[tuple[str, bool]], limit: int | None) -> pa.Table:
    keys = [(name, "descending" if descending else "ascending") for name, descending in order_by]
    if keys:
        table = table.take(pc.sort_indices(table, sort_keys=keys))
    return table.slice(0, limit) if limit is not None else table


def run(checked: CheckedQuery, *, policy: SandboxPolicy, data: Path, engine: Engine, limits: Limits,
        epsilon: Decimal | None = None,
        release: Callable[..., dp.Release] | None = None) -> Outcome:
    """Run ``checked`` over the prepared copy ``data`` and apply the output control. The engine's
    own limits and failures (``EngineFailed``) pass through."""
    table = engine.run(checked.sql, tables={TABLE: data}, limits=limits)
    if not checked.dp:
        return Outcome(columns=list(checked.outputs), rows=_rows(table.rename_columns(list(checked.outputs))),
                       error_bounds={}, dropped_groups=0)
    assert policy.dp is not None and epsilon is not None
    released = (release or dp.release)(
        table, group_columns=list(checked.group_outputs), measures=list(checked.measures), epsilon=epsilon,
        delta=policy.dp.delta, confidence=policy.dp.confidence, min_group_size=policy.min_group_size)
    noisy = released.table
    extra = [name for name in noisy.column_names if name not in checked.outputs]  # e.g. avg error columns
    noisy = _ordered(noisy.select(list(checked.outputs) + extra), checked.order_by, checked.limit)
    return Outcome(columns=noisy.column_names, rows=_rows(noisy), error_bounds=dict(released.error_bounds),
                   dropped_groups=released.dropped_groups)


__all__ = ["COUNT_COLUMN", "Outcome", "PreparedCopy", "cached_copy", "copy_columns", "policy_tag", "prepare_copy",
           "restrict_to_intersection", "run"]

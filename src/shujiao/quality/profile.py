"""The profile of a dataset file (数据剖析): per column type, nulls, distinct values, min/max and top
values; per rule how many values were checked (B) and passed (A) with failed examples; per dataset
duplicate rows, key uniqueness, cross-field rules and timeliness.

How it runs (bounded memory, few passes): DuckDB with a memory limit, a temporary directory to spill
to and two threads. The file is read once into a DuckDB table on disk (CSV as text, exactly as
written; Excel converted first with openpyxl in read-only mode, in chunks, to Parquet); the table's
``rowid`` is the data row's position. Then: one aggregate query computes every per-column count and
every rule's pass count at once; group-bys give exact duplicate rows and key uniqueness; one query
per rule fetches its first failed examples.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from shujiao.quality.rules import RuleSet

FileFormat = Literal["csv", "parquet", "xlsx"]
Progress = Callable[[str, int, int], None]  # (stage, done, total)
MAX_EXAMPLES = 10
TOP_VALUES = 5

# Rule kinds, and where each is counted (see scoring.py for the indicators they feed).
#   column rules:  required, type, validator, range, enum, regex, unique
#   dataset rules: record_complete, dirty_rows, duplicate_rows, key_unique, cross_equal, cross_field,
#                  time_order, timeliness_point, timeliness_period, readable_file, readable_rows
COLUMN_RULE_KINDS = ("required", "type", "validator", "range", "enum", "regex", "unique")
DATASET_RULE_KINDS = ("record_complete", "dirty_rows", "duplicate_rows", "key_unique", "cross_equal",
                      "cross_field", "time_order", "timeliness_point", "timeliness_period", "readable_file",
                      "readable_rows")


@dataclass(frozen=True)
class Example:
    """A failed value: its 1-based data row (the header is not a row) and the value as text."""

    row: int
    value: str | None


@dataclass(frozen=True)
class RuleResult:
    """One rule over the data: ``checked`` elements (B) of which ``passed`` (A) met it.

    ``detail`` says which rule in words a person reads (``id_card``, ``[0, 100]``, ``开始 <= 结束``).
    For rate-of-bad rules (duplicate_rows, dirty_rows) ``passed`` is still the number of good ones.
    """

    kind: str
    detail: str
    checked: int
    passed: int
    column: str | None = None
    examples: tuple[Example, ...] = ()

    @property
    def failed(self) -> int:
        return self.checked - self.passed


@dataclass(frozen=True)
class ColumnProfile:
    name: str
    type: str  # the declared rule type, else what DuckDB infers (VARCHAR, BIGINT, DATE, ...)
    nulls: int
    distinct: int  # approximate (HyperLogLog) unless the column has a uniqueness rule
    min: str | None
    max: str | None
    top_values: tuple[tuple[str, int], ...]  # (value, count), most frequent first
    rules: tuple[RuleResult, ...] = ()


@dataclass(frozen=True)
class WorstRow:
    row: int
    failed: int  # how many checks the row failed
    rules: tuple[str, ...]  # which (``column: kind``)


@dataclass(frozen=True)
class Profile:
    file_format: str
    rows: int
    columns: tuple[ColumnProfile, ...]
    dataset_rules: tuple[RuleResult, ...]
    worst_rows: tuple[WorstRow, ...] = ()
    profiled_at: str = ""  # ISO time the profile was taken (``now``)
    seconds: str = "0"  # wall time, as a decimal string
    notes: tuple[str, ...] = field(default=())

    def column(self, name: str) -> ColumnProfile:
        return next(c for c in self.columns if c.name == name)

    def column_rules(self, kind: str | None = None) -> list[RuleResult]:
        return [r for c in self.columns for r in c.rules if kind is None or r.kind == kind]

    def dataset_rule(self, kind: str) -> list[RuleResult]:
        return [r for r in self.dataset_rules if r.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: ints, strings, lists and dicts only."""
        data = asdict(self)
        for column in data["columns"]:
            column["top_values"] = [list(pair) for pair in column["top_values"]]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Profile":
        def rule(r: Mapping[str, Any]) -> RuleResult:
            return RuleResult(kind=r["kind"], detail=r["detail"], checked=int(r["checked"]),
                              passed=int(r["passed"]), column=r.get("column"),
                              examples=tuple(Example(int(e["row"]), e["value"]) for e in r.get("examples", ())))

        columns = tuple(ColumnProfile(
            name=c["name"], type=c["type"], nulls=int(c["nulls"]), distinct=int(c["distinct"]), min=c["min"],
            max=c["max"], top_values=tuple((str(v), int(n)) for v, n in c["top_values"]),
            rules=tuple(rule(r) for r in c["rules"])) for c in data["columns"])
        return cls(file_format=data["file_format"], rows=int(data["rows"]), columns=columns,
                   dataset_rules=tuple(rule(r) for r in data["dataset_rules"]),
                   worst_rows=tuple(WorstRow(int(w["row"]), int(w["failed"]), tuple(w["rules"]))
                                    for w in data.get("worst_rows", ())),
                   profiled_at=data.get("profiled_at", ""), seconds=str(data.get("seconds", "0")),
                   notes=tuple(data.get("notes", ())))


def profile_file(path: Path, *, file_format: FileFormat, rules: RuleSet, now: dt.datetime,
                 progress: Progress | None = None) -> Profile:
    """Profile ``path`` under ``rules`` as of ``now`` (timeliness is measured against it).

    Raises shujiao.errors.InvalidInput (code ``unreadable_file``) if the file cannot be read as
    ``file_format``, and (code ``bad_rules``) if the rules name a column the file does not have.
    """
    raise NotImplementedError  # filled in by the next commit

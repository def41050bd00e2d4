"""The profile of a dataset file (数据剖析): per column type, nulls, distinct values, min/max and top
values; per rule how many values were checked (B) and passed (A) with failed examples; per dataset
duplicate rows, key uniqueness, cross-field rules and timeliness.

How it runs (bounded memory, few passes, nothing copied): DuckDB with a memory limit, a temporary
directory to spill to and two threads, streaming over the file (CSV read as text exactly as
written; Excel converted first with openpyxl in read-only mode, in chunks, to a Parquet file):

1. one aggregate query: per column the non-null count, approximate distinct count (HyperLogLog),
   min and max; per check the values checked and failed and the positions of its first failures;
   the positions of the rows failing most checks; the newest record time. Every check is a SQL
   expression evaluated vectorized inside DuckDB (validators.py), never a Python callback.
2. one group-by query over GROUPING SETS: a 64-bit hash of the whole row, of the key, of each
   unique column (exact counts come in step 3), and the values of each column with at most
   TOP_VALUES_MAX_DISTINCT distinct values (exact top values).
3. one scan that keeps only the rows wanted: those at the positions found in step 1 (for the
   examples) and those whose hash repeats. Repeats are then counted on their values, so a hash
   collision never counts as one: uniqueness and duplicate rows are exact.
A CSV that does not parse strictly is read leniently instead: the rows DuckDB cannot parse are
skipped, counted (可访问性) and listed, and row numbers still name the file's data rows.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from shujiao.errors import InvalidInput
from shujiao.quality.rules import FieldRule, RuleSet
from shujiao.quality.validators import date_value_sql, quote_ident, quote_literal, validator_check

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
    distinct: int  # approximate (HyperLogLog); a uniqueness rule counts exactly
    min: str | None
    max: str | None
    top_values: tuple[tuple[str, int], ...]  # (value, exact count), most frequent first; empty for columns
    # with more than TOP_VALUES_MAX_DISTINCT distinct values (an identifier has no telling top values)
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


# --- running it ----------------------------------------------------------------------------------

MEMORY_LIMIT = "512MB"
THREADS = 2
XLSX_CHUNK_ROWS = 50_000
FLAG = "__shujiao_"  # prefix of the columns the profiler adds to the row stream
RN = FLAG + "row"  # 0-based position of the row among the rows parsed
STAGES = ("read", "aggregate", "repeats", "verify")
TOP_VALUES_MAX_DISTINCT = 100_000  # above this (approx.) distinct count a column's top values are not listed
UNANCHORED_ROWS_MAX = 100_000  # rows without a key that may be kept aside to find duplicate rows among them
ISO_DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d", "%Y%m%d"]
DECIMAL_SQL = "DECIMAL(38, 10)"
TYPE_SQL = {  # declared type → a strict check of the text (TRY_CAST alone accepts '1.0' as an integer)
    "string": "true",
    "integer": "regexp_full_match({v}, '[+-]?[0-9]+')",
    "decimal": "regexp_full_match({v}, '[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?')",
    "date": "({date} IS NOT NULL)",
    "datetime": "(TRY_CAST({v} AS TIMESTAMP) IS NOT NULL)",
    "boolean": "(lower({v}) IN ('true', 'false', 't', 'f', '1', '0', 'yes', 'no', 'y', 'n', '是', '否'))",
}
SQL_OP = {"<": "<", "<=": "<=", "==": "=", "!=": "<>", ">=": ">=", ">": ">"}


@dataclass(frozen=True)
class _Check:
    """One rule as SQL: which rows it checks, which of those fail, what to show of a failure."""

    kind: str
    detail: str
    column: str | None
    checked_sql: str
    fail_sql: str
    value_sql: str
    dirty: bool = False  # a failure makes the row dirty (脏数据)
    helpers: tuple[tuple[str, str], ...] = ()  # (alias, expression) computed in a projection below


def _unreadable(path: Path, file_format: str, exc: Exception) -> InvalidInput:
    return InvalidInput(f"无法按 {file_format} 读取文件 {path.name}：{exc}",
                        f"cannot read {path.name} as {file_format}: {exc}", code="unreadable_file")


def _excel_text(value: Any) -> str | None:
    """A cell as the text a CSV export would hold (dates ISO, whole numbers without '.0')."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def xlsx_to_parquet(source: Path, target: Path, *, progress: Progress | None = None) -> None:
    """The first sheet of ``source`` as a Parquet file of text columns, converted in chunks so that
    memory stays bounded (openpyxl read-only mode streams the sheet's XML)."""
    import openpyxl
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        book = openpyxl.load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds (zip, XML, key errors) on a bad file
        raise _unreadable(source, "xlsx", exc) from exc
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise _unreadable(source, "xlsx", ValueError("the first sheet is empty"))
        names = [str(h) if h not in (None, "") else f"column{i + 1}" for i, h in enumerate(header)]
        if len(set(names)) != len(names):
            raise _unreadable(source, "xlsx", ValueError(f"repeated column names in {names}"))
        schema = pa.schema([(n, pa.string()) for n in names])
        total = max((sheet.max_row or 1) - 1, 0)
        done = 0
        with pq.ParquetWriter(target, schema) as writer:
            chunk: list[list[str | None]] = [[] for _ in names]
            for row in rows:
                cells = list(row[:len(names)]) + [None] * (len(names) - len(row))
                for column, cell in zip(chunk, cells, strict=True):
                    column.append(_excel_text(cell))
                if len(chunk[0]) >= XLSX_CHUNK_ROWS:
                    writer.write_table(pa.table(chunk, schema=schema))
                    done += len(chunk[0])
                    chunk = [[] for _ in names]
                    if progress:
                        progress("convert", done, total)
            writer.write_table(pa.table(chunk, schema=schema))
    finally:
        book.close()


@dataclass(frozen=True)
class _RepeatSet:
    """A tuple of expressions whose repeats are counted exactly: whole rows, the key, a unique column."""

    name: str
    exprs: tuple[str, ...]
    where: str  # which rows take part (the key present)
    value_sql: str  # what an example shows


class _Run:
    """One profiling run: DuckDB streaming over the file (no copy of the data is kept), spilling to a
    temporary directory when a group-by outgrows the memory limit."""

    def __init__(self, workdir: Path, rules: RuleSet, now: dt.datetime, progress: Progress | None) -> None:
        import duckdb

        self.duckdb = duckdb
        (workdir / "spill").mkdir()
        self.con = duckdb.connect(":memory:", config={
            "memory_limit": MEMORY_LIMIT, "threads": THREADS, "temp_directory": str(workdir / "spill"),
            "preserve_insertion_order": True})
        self.con.execute("SET enable_progress_bar = false")
        self.workdir = workdir
        self.rules = rules
        self.now = now.replace(tzinfo=None)  # record times in a file are wall-clock times
        self._progress = progress
        self.rejected_rows: list[int] = []  # 1-based data rows the CSV reader could not parse
        self.types: dict[str, str] = {}
        self.lenient_source: str | None = None
        self.date_helpers: dict[str, tuple[str, str]] = {}  # column → (alias, TIMESTAMP expression)

    def stage(self, name: str) -> None:
        if self._progress:
            self._progress(name, STAGES.index(name), len(STAGES))

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        return self.con.execute(query).fetchall()

    # -- reading ---------------------------------------------------------------------------------

    def open_source(self, path: Path, file_format: str) -> None:
        """Find the file's columns and types (DuckDB's sniffer samples a CSV; Parquet has them)."""
        self.stage("read")
        source = quote_literal(str(path))
        try:
            if file_format == "csv":
                self.types = {name: kind for name, kind, *_ in self.sql(
                    f"DESCRIBE SELECT * FROM read_csv({source}, header = true)")}
                self.source = f"read_csv({source}, header = true, all_varchar = true)"
                # used only if the strict read fails: skips and records the rows it cannot parse
                self.lenient_source = (f"read_csv({source}, header = true, all_varchar = true, ignore_errors = true, "
                                       f"store_rejects = true, rejects_table = 'csv_rejects', "
                                       f"rejects_scan = 'csv_reject_scans')")
            else:
                if file_format == "xlsx":
                    converted = self.workdir / "sheet.parquet"
                    xlsx_to_parquet(path, converted, progress=self._progress)
                    source = quote_literal(str(converted))
                self.source = f"read_parquet({source})"
            described = {name: kind for name, kind, *_ in self.sql(
                f"DESCRIBE SELECT * FROM {self.lenient_source or self.source}")}
        except self.duckdb.Error as exc:
            raise _unreadable(path, file_format, exc) from exc
        self.columns = list(described)
        self.text_columns = {n for n, k in described.items() if k == "VARCHAR"}
        self.types = {n: self.types.get(n, k) for n, k in described.items()}
        missing = [c for c in self.rules.columns() if c not in described]
        if missing:
            raise InvalidInput(f"规则中的列在文件中不存在：{', '.join(missing)}（文件的列：{', '.join(described)}）",
                               f"the rules name columns the file does not have: {', '.join(missing)} "
                               f"(the file has: {', '.join(described)})", code="bad_rules", columns=missing)
        for rule in self.rules.fields:
            if rule.regex is not None:  # RE2 refuses some of what Python's re takes (look-arounds, ...)
                try:
                    self.sql(f"SELECT regexp_full_match('', {quote_literal(rule.regex)})")
                except self.duckdb.Error as exc:
                    raise InvalidInput(f"正则表达式无法执行（{rule.column}）：{exc}",
                                       f"the regex of column {rule.column} cannot run: {exc}", code="bad_rules") from exc
        self.path, self.file_format = path, file_format

    def stream(self, checks: list[_Check]) -> list[_Check]:
        """The row stream every pass reads: the row's position, the validators' helper columns (see
        ValidatorSQL), and each check as boolean columns (checked, failed). Returns the checks
        restated over those columns."""
        flags, helpers, stored = [], [], []
        for i, check in enumerate(checks):
            if check.kind == "dirty_rows":  # an OR of the other checks' failure columns, restated below
                continue
            failed = check.fail_sql
            helpers += [f"{expression} AS {quote_ident(alias)}" for alias, expression in check.helpers]
            checked = check.checked_sql
            if checked != "true":
                flags.append(f"coalesce({checked}, false) AS {quote_ident(f'{FLAG}checked_{i}')}")
                checked = quote_ident(f"{FLAG}checked_{i}")
            flags.append(f"coalesce({failed}, false) AS {quote_ident(f'{FLAG}failed_{i}')}")
            stored.append(_Check(check.kind, check.detail, check.column, checked,
                                 quote_ident(f"{FLAG}failed_{i}"), check.value_sql, check.dirty))
        dirty = [c.fail_sql for c in stored if c.dirty]
        for check in checks:
            if check.kind == "dirty_rows":
                stored.append(_Check(check.kind, check.detail, check.column, "true", "(" + " OR ".join(dirty) + ")",
                                     check.value_sql))
        self.flags, self.helpers = flags, helpers
        return stored

    def numbered(self, source: str | None = None) -> str:
        """The file's rows, each with its 0-based position (DuckDB keeps the file's order)."""
        return f"(SELECT row_number() OVER () - 1 AS {quote_ident(RN)}, * FROM {source or self.source})"

    def rows_sql(self, source: str | None = None, *, numbered: str | None = None) -> str:
        """The numbered rows with the helper and check columns."""
        numbered = numbered or self.numbered(source)
        helpers = self.helpers + [f"{expression} AS {quote_ident(alias)}"
                                  for alias, expression in self.date_helpers.values()]
        if helpers:
            numbered = f"(SELECT *, {', '.join(helpers)} FROM {numbered})"
        return f"(SELECT *{''.join(', ' + f for f in self.flags)} FROM {numbered})"

    def data_row(self, position: int) -> int:
        """The 1-based data row of the file of the row at ``position`` among the rows parsed."""
        row = position + 1
        for rejected in self.rejected_rows:
            if rejected <= row:
                row += 1
            else:
                break
        return row

    # -- expressions ---------------------------------------------------------------------------------

    def text(self, column: str) -> str:
        ident = quote_ident(column)
        return ident if column in self.text_columns else f"CAST({ident} AS VARCHAR)"

    def typed(self, column: str) -> str:
        """The column as what it holds, for min/max (a CSV's text cast to the type DuckDB inferred)."""
        kind = self.types[column]
        if column in self.text_columns and kind != "VARCHAR":
            return f"TRY_CAST({quote_ident(column)} AS {kind})"
        return quote_ident(column)

    def date_formats(self, column: str) -> list[str]:
        rule = self.rules.field(column)
        return rule.date_formats if rule and rule.validator == "date" else ISO_DATE_FORMATS

    def as_date(self, column: str) -> str:
        """The column's values as TIMESTAMP: a helper column of the stream, so that a date column
        used by a validator, a range, a date-order rule and timeliness is parsed once per row."""
        if column not in self.date_helpers:
            self.date_helpers[column] = (f"{FLAG}date_{len(self.date_helpers)}",
                                         date_value_sql(self.text(column), self.date_formats(column)))
        return quote_ident(self.date_helpers[column][0])

    def column_checks(self, rule: FieldRule) -> list[_Check]:
        v = self.text(rule.column)
        present = f"({v} IS NOT NULL)"
        checks = []

        def add(kind: str, detail: str, passes: str) -> None:
            checks.append(_Check(kind, detail, rule.column, present, f"({present} AND NOT {passes})", v, dirty=True))

        if rule.required:
            checks.append(_Check("required", "required 必填", rule.column, "true", f"({v} IS NULL)", "NULL"))
        if rule.type:
            add("type", rule.type, TYPE_SQL[rule.type].format(v=v, date=date_value_sql(v, ["%Y-%m-%d"])))
        if rule.validator == "date":
            add("validator", "date", f"({self.as_date(rule.column)} IS NOT NULL)")
        elif rule.validator:
            alias = f"{FLAG}helper_{self.rules.fields.index(rule)}"
            check = validator_check(rule.validator, v, date_formats=rule.date_formats, alias=alias)
            checks.append(_Check("validator", rule.validator, rule.column, present,
                                 f"({present} AND NOT coalesce({check.condition}, false))", v, dirty=True,
                                 helpers=check.columns))
        if rule.range:
            low, high = rule.range.min, rule.range.max
            if rule.range.is_date:
                value, bound = self.as_date(rule.column), (lambda b: f"TIMESTAMP {quote_literal(str(b))}")
            else:
                value, bound = f"TRY_CAST({v} AS {DECIMAL_SQL})", (lambda b: f"CAST({b} AS {DECIMAL_SQL})")
            tests = [f"{value} IS NOT NULL"]
            tests += [f"{value} >= {bound(low)}"] if low is not None else []
            tests += [f"{value} <= {bound(high)}"] if high is not None else []
            add("range", f"[{'' if low is None else low}, {'' if high is None else high}]",
                "(" + " AND ".join(tests) + ")")
        if rule.enum:
            add("enum", "{" + ", ".join(rule.enum) + "}",
                f"({v} IN ({', '.join(quote_literal(e) for e in rule.enum)}))")
        if rule.regex:
            add("regex", rule.regex, f"regexp_full_match({v}, {quote_literal(rule.regex)})")
        return checks

    def dataset_checks(self) -> list[_Check]:
        checks = []
        required = [r.column for r in self.rules.fields if r.required]
        if required:
            checks.append(_Check("record_complete", "all required present 必填项齐全", None, "true",
                                 "(" + " OR ".join(f"{quote_ident(c)} IS NULL" for c in required) + ")",
                                 self.row_text(required)))
        dirty_columns = [r.column for r in self.rules.fields
                         if r.type or r.validator or r.range or r.enum or r.regex]
        if dirty_columns:
            checks.append(_Check("dirty_rows", "no failed column rule 无校验失败", None, "true", "false",
                                 self.row_text(dirty_columns)))
        for rule in self.rules.cross_fields:
            if rule.compare_as == "number":
                left, right = (f"TRY_CAST({self.text(c)} AS {DECIMAL_SQL})" for c in (rule.left, rule.right))
            elif rule.compare_as == "date":
                left, right = self.as_date(rule.left), self.as_date(rule.right)
            else:
                left, right = self.text(rule.left), self.text(rule.right)
            kind = "time_order" if rule.is_time_order else ("cross_equal" if rule.op in ("==", "!=") else "cross_field")
            both = f"({left} IS NOT NULL AND {right} IS NOT NULL)"
            checks.append(_Check(kind, f"{rule.name}: {rule.left} {rule.op} {rule.right}", None, both,
                                 f"({both} AND NOT ({left} {SQL_OP[rule.op]} {right}))",
                                 self.row_text([rule.left, rule.right])))
        timeliness = self.rules.timeliness
        if timeliness and timeliness.max_age_days:
            ts = self.as_date(timeliness.column)
            oldest = self.now - dt.timedelta(days=timeliness.max_age_days)
            window = (f"({ts} >= TIMESTAMP {quote_literal(oldest.isoformat(sep=' '))} "
                      f"AND {ts} <= TIMESTAMP {quote_literal(self.now.isoformat(sep=' '))})")
            checks.append(_Check("timeliness_period", f"{timeliness.column} within {timeliness.max_age_days} days",
                                 timeliness.column, f"({ts} IS NOT NULL)", f"({ts} IS NOT NULL AND NOT {window})",
                                 self.text(timeliness.column)))
        return checks

    def row_text(self, columns: list[str]) -> str:
        """What to show of a failed row: the named columns as ``a=1; b=2``."""
        parts = [f"{quote_literal(c + '=')} || coalesce({self.text(c)}, 'NULL')" for c in columns]
        return " || '; ' || ".join(parts) if parts else "NULL"

    # -- pass 1: one aggregate ------------------------------------------------------------------------

    def aggregate(self, checks: list[_Check]) -> dict[str, Any]:
        """Every per-column count, every check's counts and the positions of its first failures, the
        positions of the worst rows, and the newest record time, in one scan. A CSV that does not
        parse strictly is read again leniently (and the rows it skips are recorded)."""
        self.stage("aggregate")
        rn = quote_ident(RN)
        select = ["count(*)"]
        for c in self.columns:
            ident = quote_ident(c)
            select += [f"count({ident})", f"approx_count_distinct({ident})", f"CAST(min({self.typed(c)}) AS VARCHAR)",
                       f"CAST(max({self.typed(c)}) AS VARCHAR)"]
        for check in checks:
            # the failing rows' positions, NULL elsewhere (min_by skips NULLs): cheaper than a FILTER
            # clause per check, which slices every column of the chunk (measured: aggregate pass -6 to -13%)
            failing = f"CASE WHEN {check.fail_sql} THEN {rn} END"
            select += [f"count_if({check.checked_sql})", f"count_if({check.fail_sql})",
                       f"min_by({failing}, {failing}, {MAX_EXAMPLES})"]
        row_checks = self.row_checks(checks)
        if row_checks:
            failed_count = " + ".join(f"CAST({c.fail_sql} AS BIGINT)" for c in row_checks)
            # most failures first, then the earliest row: failures · 2^40 − position
            select.append(f"max_by({rn}, ({failed_count}) * 1099511627776 - {rn}, {MAX_EXAMPLES}) "
                          f"FILTER (WHERE ({failed_count}) > 0)")
        if self.rules.timeliness:
            select.append(f"max({self.as_date(self.rules.timeliness.column)})")
        if self.rules.key:
            select.append(f"count_if({self.key_present()})")
        query = lambda source: f"SELECT {', '.join(select)} FROM {self.rows_sql(source)}"  # noqa: E731
        try:
            try:
                (row,) = self.sql(query(None))
            except self.duckdb.Error:
                if self.lenient_source is None:
                    raise
                (row,) = self.sql(query(self.lenient_source))
                self.source = self.lenient_source  # the later passes must see the same rows
                # line 1 is the header, so line n is data row n - 1
                self.rejected_rows = [line - 1 for (line,) in self.sql(
                    "SELECT DISTINCT line FROM csv_rejects ORDER BY line")]
        except self.duckdb.Error as exc:
            raise _unreadable(self.path, self.file_format, exc) from exc
        values = iter(row)
        result: dict[str, Any] = {"rows": next(values), "columns": {}, "checks": [], "worst": [], "newest": None}
        for c in self.columns:
            result["columns"][c] = tuple(next(values) for _ in range(4))
        for _ in checks:  # count_if over no rows is NULL
            result["checks"].append((next(values) or 0, next(values) or 0, sorted(next(values) or [])))
        if row_checks:
            result["worst"] = list(next(values) or [])
        if self.rules.timeliness:
            result["newest"] = next(values)
        if self.rules.key:
            result["key_present"] = next(values) or 0
        return result

    def key_present(self) -> str:
        return " AND ".join(f"{quote_ident(c)} IS NOT NULL" for c in self.rules.key)

    @staticmethod
    def row_checks(checks: list[_Check]) -> list[_Check]:
        """The checks a single row can fail (not the summaries over them)."""
        return [c for c in checks if c.kind not in ("dirty_rows", "record_complete")]

    # -- pass 2: hash group-by; pass 3: the rows wanted --------------------------------------------------

    def repeats(self, sets: list[_RepeatSet], top_columns: list[str]) -> tuple[list[str], dict[str, tuple]]:
        """Group by a 64-bit hash of each set (fixed width: fast, spills little) and by each
        low-cardinality column, in one scan. Returns the hash expressions of the sets and the top
        values of ``top_columns`` with exact counts; table repeat_groups keeps the repeated hashes."""
        self.stage("repeats")
        hashed = [f"CASE WHEN {s.where} THEN hash({', '.join(s.exprs)}) END" for s in sets]
        keys = [f"h{i}" for i in range(len(sets))] + [f"t{j}" for j in range(len(top_columns))]
        projected = [f"{h} AS h{i}" for i, h in enumerate(hashed)] + [
            f"{self.text(c)} AS t{j}" for j, c in enumerate(top_columns)]
        which = f"list_position([{', '.join(f'GROUPING({k})' for k in keys)}], 0) - 1"
        top_sets = ", ".join(str(len(sets) + j) for j in range(len(top_columns))) or "-1"
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE repeat_groups AS SELECT {which} AS s, {', '.join(keys)}, count(*) AS n "
            f"FROM (SELECT {', '.join(projected)} FROM {self.source}) "
            f"GROUP BY GROUPING SETS ({', '.join(f'({k})' for k in keys)}) "
            f"HAVING count(*) > 1 OR {which} IN ({top_sets})")
        top = {}
        for j, c in enumerate(top_columns):
            top[c] = tuple((value, n) for value, n in self.sql(
                f"SELECT t{j}, n FROM repeat_groups WHERE s = {len(sets) + j} AND t{j} IS NOT NULL "
                f"ORDER BY n DESC, t{j} LIMIT {TOP_VALUES}"))
        return hashed, top

    def pick(self, positions: set[int], hashed: list[str], also: str | None = None) -> None:
        """Table ``picked``: the rows at ``positions`` (examples, worst rows), the rows whose hash
        repeats in some set and those meeting ``also``, in one scan that computes no checks."""
        self.stage("verify")
        wanted = [f"({h}) IN (SELECT h{i} FROM repeat_groups WHERE s = {i} AND h{i} IS NOT NULL)"
                  for i, h in enumerate(hashed)]
        wanted += [also] if also else []
        if positions:
            self.con.execute("CREATE OR REPLACE TEMP TABLE wanted_positions (p BIGINT)")
            self.con.executemany("INSERT INTO wanted_positions VALUES (?)", [(p,) for p in sorted(positions)])
            wanted.append(f"{quote_ident(RN)} IN (SELECT p FROM wanted_positions)")
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE picked AS SELECT * FROM {self.numbered()} "
                         f"WHERE {' OR '.join(wanted) or 'false'}")

    def examples(self, check: _Check, positions: list[int]) -> tuple[Example, ...]:
        if not positions:
            return ()
        found = dict(self.sql(f"SELECT {quote_ident(RN)}, CAST({check.value_sql} AS VARCHAR) FROM picked "
                              f"WHERE {quote_ident(RN)} IN ({', '.join(map(str, positions))})"))
        return tuple(Example(self.data_row(p), found.get(p)) for p in positions)

    def worst_rows(self, checks: list[_Check], positions: list[int]) -> tuple[WorstRow, ...]:
        """The checks the rows at ``positions`` fail, computed again on just those rows."""
        row_checks = self.row_checks(checks)
        if not positions or not row_checks:
            return ()
        flags = ", ".join(c.fail_sql for c in row_checks)
        found = {r: flags for r, *flags in self.sql(
            f"SELECT {quote_ident(RN)}, {flags} FROM {self.rows_sql(numbered='picked')} "
            f"WHERE {quote_ident(RN)} IN ({', '.join(map(str, positions))})")}
        worst = []
        for p in positions:
            failed = [c for c, flag in zip(row_checks, found[p], strict=True) if flag]
            worst.append(WorstRow(self.data_row(p), len(failed),
                                  tuple(f"{c.column or c.detail}: {c.kind}" for c in failed)))
        return tuple(sorted(worst, key=lambda w: (-w.failed, w.row)))

    def exact_repeats(self, repeat_set: _RepeatSet, hashed: str | None, index: int) -> tuple[int, int, tuple[Example, ...]]:
        """(rows in repeated groups, rows repeating an earlier one, examples), grouping the picked rows
        whose hash repeats by their values, so a hash collision never counts as a repeat. With no
        ``hashed`` (the set was not grouped: see _duplicate_anchor) every picked row is a candidate."""
        rn = quote_ident(RN)
        candidates = (f"{repeat_set.where} AND ({hashed}) IN (SELECT h{index} FROM repeat_groups WHERE s = {index})"
                      if hashed is not None else repeat_set.where)
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE repeat_ranked AS SELECT {rn} AS r, {repeat_set.value_sql} AS shown, "
            f"count(*) OVER w AS n, min({rn}) OVER w AS first FROM picked "
            f"WHERE {candidates} "
            f"WINDOW w AS (PARTITION BY {', '.join(repeat_set.exprs)})")
        in_groups, repeating = self.sql(
            "SELECT count(*), coalesce(count_if(r > first), 0) FROM repeat_ranked WHERE n > 1")[0]
        examples = tuple(
            Example(self.data_row(r), f"{shown} (= row {self.data_row(first)})") for r, shown, first in self.sql(
                f"SELECT r, shown, first FROM repeat_ranked WHERE n > 1 AND r > first ORDER BY r LIMIT {MAX_EXAMPLES}"))
        return in_groups, repeating, examples


def _chunks(items: list[_Check], size: int) -> list[list[_Check]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _duplicate_anchor(sets: list[_RepeatSet], present: dict[str, int], rows: int) -> _RepeatSet | None:
    """The key or unique column set that can stand in for the whole row when finding duplicate rows,
    or None. Two equal rows have equal keys, so every duplicate row either has a repeated key or no
    key: grouping the key's hash (done anyway) and picking the rows without a key finds them all,
    without a group-by over a hash of every row (which holds one group per row: measured 45% of the
    group-by pass on the bench). Only if few rows lack the anchor, as those rows are all kept."""
    anchors = [s for s in sets if s.name != "duplicate_rows"]
    if not anchors:
        return None
    anchor = max(anchors, key=lambda s: present[s.name])
    return anchor if rows - present[anchor.name] <= UNANCHORED_ROWS_MAX else None


def profile_file(path: Path, *, file_format: FileFormat, rules: RuleSet, now: dt.datetime,
                 progress: Progress | None = None) -> Profile:
    """Profile ``path`` under ``rules`` as of ``now`` (timeliness is measured against it).

    Raises shujiao.errors.InvalidInput (code ``unreadable_file``) if the file cannot be read as
    ``file_format``, and (code ``bad_rules``) if the rules name a column the file does not have or
    hold a regular expression DuckDB cannot run.
    """
    if file_format not in ("csv", "parquet", "xlsx"):
        raise InvalidInput(f"不支持的文件格式 {file_format}", f"unsupported file format {file_format}",
                           code="unsupported_format")
    if not path.is_file():
        raise _unreadable(path, file_format, FileNotFoundError(str(path)))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="shujiao-quality-") as workdir:
        run = _Run(Path(workdir), rules, now, progress)
        try:
            return _profile(run, path, file_format, started)
        finally:
            run.con.close()


def _profile(run: _Run, path: Path, file_format: str, started: float) -> Profile:
    run.open_source(path, file_format)
    rules, columns = run.rules, run.columns
    column_checks = [check for rule in rules.fields for check in run.column_checks(rule)]
    checks = run.stream(column_checks + run.dataset_checks())
    counted = run.aggregate(checks)
    rows = counted["rows"]

    sets = [_RepeatSet("duplicate_rows", tuple(quote_ident(c) for c in columns), "true",
                       run.row_text(columns[:4]))]
    if rules.key:
        sets.append(_RepeatSet("key_unique", tuple(quote_ident(c) for c in rules.key), run.key_present(),
                               run.row_text(rules.key)))
    unique_columns = [r.column for r in rules.fields if r.unique]
    sets += [_RepeatSet(f"unique:{c}", (quote_ident(c),), f"{quote_ident(c)} IS NOT NULL", run.text(c))
             for c in unique_columns]
    top_columns = [c for c in columns if counted["columns"][c][1] <= TOP_VALUES_MAX_DISTINCT]
    present = {f"unique:{c}": counted["columns"][c][0] for c in unique_columns}
    if rules.key:
        present["key_unique"] = counted["key_present"]
    anchor = _duplicate_anchor(sets, present, rows)
    grouped = sets[1:] if anchor else sets
    hashed, top = run.repeats(grouped, top_columns)

    positions = {p for _, _, found in counted["checks"] for p in found} | set(counted["worst"])
    run.pick(positions, hashed, also=f"NOT ({anchor.where})" if anchor else None)
    results = [RuleResult(kind=check.kind, detail=check.detail, checked=checked, passed=checked - failed,
                          column=check.column, examples=run.examples(check, found))
               for check, (checked, failed, found) in zip(checks, counted["checks"], strict=True)]
    repeated = {s.name: run.exact_repeats(s, hashed[i], i) for i, s in enumerate(grouped)}
    if anchor:
        repeated["duplicate_rows"] = run.exact_repeats(sets[0], None, -1)

    in_groups, repeating, examples = repeated["duplicate_rows"]
    dataset = [r for r in results if r.column is None or r.kind == "timeliness_period"]
    dataset.append(RuleResult("duplicate_rows", "rows repeating an earlier row 重复行", rows, rows - repeating,
                              examples=examples))
    if rules.key:
        checked = counted["key_present"]
        in_groups, _, examples = repeated["key_unique"]
        dataset.append(RuleResult("key_unique", "key " + ", ".join(rules.key) + " unique 主键唯一", checked,
                                  checked - in_groups, examples=examples))
    timeliness = rules.timeliness
    if timeliness:
        newest = counted["newest"]
        fresh = newest is not None and run.now - newest <= dt.timedelta(days=timeliness.frequency_days)
        shown = newest.isoformat(sep=" ") if newest is not None else None
        dataset.append(RuleResult(
            "timeliness_point", f"newest {timeliness.column} within {timeliness.update_frequency} "
            f"({timeliness.frequency_days} days)", 1, int(fresh),
            column=timeliness.column, examples=() if fresh else (Example(0, shown),)))
    dataset.append(RuleResult("readable_file", "file opened and header parsed 文件可读", 1, 1))
    dataset.append(RuleResult("readable_rows", "data rows parsed 可解析行", rows + len(run.rejected_rows), rows,
                              examples=tuple(Example(r, None) for r in run.rejected_rows[:MAX_EXAMPLES])))

    profiles = []
    for c in columns:
        non_null, distinct, low, high = counted["columns"][c]
        own = [r for r, check in zip(results, checks, strict=True)
               if check.column == c and check.kind != "timeliness_period"]
        if c in unique_columns:
            in_groups, _, examples = repeated[f"unique:{c}"]
            own.append(RuleResult("unique", "unique 唯一", non_null, non_null - in_groups, column=c, examples=examples))
        rule = rules.field(c)
        profiles.append(ColumnProfile(name=c, type=(rule.type if rule and rule.type else run.types[c]),
                                      nulls=rows - non_null, distinct=distinct, min=low, max=high,
                                      top_values=top.get(c, ()), rules=tuple(own)))
    if run._progress:
        run._progress("done", len(STAGES), len(STAGES))
    notes = []
    if run.rejected_rows:
        notes.append(f"{len(run.rejected_rows)} rows could not be parsed and were left out "
                     f"({len(run.rejected_rows)} 行无法解析，未计入)")
    if len(top_columns) < len(columns):
        notes.append(f"top values are listed for columns with at most {TOP_VALUES_MAX_DISTINCT:,} distinct values "
                     f"(高频值仅列出取值不超过 {TOP_VALUES_MAX_DISTINCT:,} 种的列)")
    return Profile(file_format=file_format, rows=rows, columns=tuple(profiles), dataset_rules=tuple(dataset),
                   worst_rows=run.worst_rows(checks, counted["worst"]), profiled_at=run.now.isoformat(), notes=tuple(notes),
                   seconds=str(Decimal(time.perf_counter() - started).quantize(Decimal("0.001"))))

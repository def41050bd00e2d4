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
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from shujiao.errors import InvalidInput
from shujiao.quality.rules import FieldRule, RuleSet
from shujiao.quality.validators import date_value_sql, quote_ident, quote_literal, validator_sql

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


# --- running it ----------------------------------------------------------------------------------

MEMORY_LIMIT = "512MB"
THREADS = 2
XLSX_CHUNK_ROWS = 50_000
STAGES = ("read", "aggregate", "examples", "duplicates", "uniqueness", "top_values", "worst_rows")
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


class _Run:
    """One profiling run: a DuckDB database in a temporary directory, the data in table ``data``."""

    def __init__(self, workdir: Path, rules: RuleSet, now: dt.datetime, progress: Progress | None) -> None:
        import duckdb

        self.duckdb = duckdb
        (workdir / "spill").mkdir()
        self.con = duckdb.connect(str(workdir / "profile.duckdb"), config={
            "memory_limit": MEMORY_LIMIT, "threads": THREADS, "temp_directory": str(workdir / "spill"),
            "preserve_insertion_order": True})
        self.workdir = workdir
        self.rules = rules
        self.now = now.replace(tzinfo=None)  # record times in a file are wall-clock times
        self._progress = progress
        self.rejected_rows: list[int] = []  # 1-based data rows the CSV reader could not parse
        self.types: dict[str, str] = {}

    def stage(self, name: str) -> None:
        if self._progress:
            self._progress(name, STAGES.index(name), len(STAGES))

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        return self.con.execute(query).fetchall()

    # -- reading ---------------------------------------------------------------------------------

    def load(self, path: Path, file_format: str) -> None:
        self.stage("read")
        source = quote_literal(str(path))
        try:
            if file_format == "csv":
                self.types = {name: kind for name, kind, *_ in self.sql(
                    f"DESCRIBE SELECT * FROM read_csv({source}, header = true)")}
                self.con.execute(
                    f"CREATE TABLE data AS SELECT * FROM read_csv({source}, header = true, all_varchar = true, "
                    f"ignore_errors = true, store_rejects = true, rejects_table = 'csv_rejects', "
                    f"rejects_scan = 'csv_reject_scans')")
                # line 1 is the header, so line n is data row n - 1
                self.rejected_rows = [line - 1 for (line,) in self.sql(
                    "SELECT DISTINCT line FROM csv_rejects ORDER BY line")]
            else:
                if file_format == "xlsx":
                    converted = self.workdir / "sheet.parquet"
                    xlsx_to_parquet(path, converted, progress=self._progress)
                    source = quote_literal(str(converted))
                self.con.execute(f"CREATE TABLE data AS SELECT * FROM read_parquet({source})")
        except self.duckdb.Error as exc:
            raise _unreadable(path, file_format, exc) from exc
        described = {name: kind for name, kind, *_ in self.sql("DESCRIBE data")}
        self.text_columns = {n for n, k in described.items() if k == "VARCHAR"}
        self.types = {n: self.types.get(n, k) for n, k in described.items()}
        missing = [c for c in self.rules.columns() if c not in described]
        if missing:
            raise InvalidInput(f"规则中的列在文件中不存在：{', '.join(missing)}（文件的列：{', '.join(described)}）",
                               f"the rules name columns the file does not have: {', '.join(missing)} "
                               f"(the file has: {', '.join(described)})", code="bad_rules", columns=missing)

    def data_row(self, rowid: int) -> int:
        """The 1-based data row of the file that table row ``rowid`` came from (skipping rejected rows)."""
        row = rowid + 1
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
        return date_value_sql(self.text(column), self.date_formats(column))

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
        if rule.validator:
            add("validator", rule.validator, validator_sql(rule.validator, v, date_formats=rule.date_formats))
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

    def dataset_checks(self, column_checks: list[_Check]) -> list[_Check]:
        checks = []
        required = [r.column for r in self.rules.fields if r.required]
        if required:
            checks.append(_Check("record_complete", "all required present 必填项齐全", None, "true",
                                 "(" + " OR ".join(f"{quote_ident(c)} IS NULL" for c in required) + ")",
                                 self._row_text(required)))
        dirty = [c for c in column_checks if c.dirty]
        if dirty:
            checks.append(_Check("dirty_rows", "no failed column rule 无校验失败", None, "true",
                                 "(" + " OR ".join(c.fail_sql for c in dirty) + ")",
                                 self._row_text(list(dict.fromkeys(c.column for c in dirty if c.column)))))
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
                                 self._row_text([rule.left, rule.right])))
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

    def _row_text(self, columns: list[str]) -> str:
        """What to show of a failed row: the named columns as ``a=1; b=2``."""
        parts = [f"{quote_literal(c + '=')} || coalesce({self.text(c)}, 'NULL')" for c in columns]
        return " || '; ' || ".join(parts) if parts else "NULL"

    # -- passes ---------------------------------------------------------------------------------------

    def aggregate(self, columns: list[str], checks: list[_Check]) -> tuple[int, dict[str, tuple], list[tuple[int, int]],
                                                                             Any]:
        self.stage("aggregate")
        select = ["count(*)"]
        for c in columns:
            ident = quote_ident(c)
            select += [f"count({ident})", f"approx_count_distinct({ident})", f"CAST(min({self.typed(c)}) AS VARCHAR)",
                       f"CAST(max({self.typed(c)}) AS VARCHAR)", f"approx_top_k({self.text(c)}, {TOP_VALUES})"]
        for check in checks:
            select += [f"count_if({check.checked_sql})", f"count_if({check.fail_sql})"]
        timeliness = self.rules.timeliness
        if timeliness:
            select.append(f"max({self.as_date(timeliness.column)})")
        try:
            row = self.sql("SELECT " + ", ".join(select) + " FROM data")[0]
        except self.duckdb.Error as exc:  # a regex DuckDB's RE2 does not take, say
            raise InvalidInput(f"规则无法执行：{exc}", f"a rule cannot run: {exc}", code="bad_rules") from exc
        rows, at = row[0], 1
        per_column = {}
        for c in columns:
            per_column[c] = row[at:at + 5]
            at += 5
        counts = [(row[at + 2 * i], row[at + 2 * i + 1]) for i in range(len(checks))]
        newest = row[-1] if timeliness else None
        return rows, per_column, counts, newest

    def repeated_groups(self, exprs: list[str], where: str, value_sql: str) -> tuple[int, int, tuple[Example, ...]]:
        """Exact repeats of the tuple ``exprs`` over rows ``where``: (rows in repeated groups, rows that
        repeat an earlier one, the first repeated rows as examples). A 64-bit hash groups first (fast,
        fixed-width); only rows whose hash repeats are then grouped by their values, so a hash
        collision cannot count as a repeat."""
        hashed = f"hash({', '.join(exprs)})"
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE repeated_hash AS SELECT {hashed} AS h FROM data "
                         f"WHERE {where} GROUP BY h HAVING count(*) > 1")
        (candidates,) = self.sql("SELECT count(*) FROM repeated_hash")[0]
        if not candidates:
            return 0, 0, ()
        keys = ", ".join(f"{e} AS k{i}" for i, e in enumerate(exprs))
        key_names = ", ".join(f"k{i}" for i in range(len(exprs)))
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE repeated_rows AS SELECT rowid AS r, {value_sql} AS shown, {keys} FROM data "
            f"WHERE {where} AND {hashed} IN (SELECT h FROM repeated_hash)")
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE repeated_rows_ranked AS SELECT r, shown, "
            f"count(*) OVER (PARTITION BY {key_names}) AS n, min(r) OVER (PARTITION BY {key_names}) AS first "
            f"FROM repeated_rows")
        in_groups, repeats = self.sql(
            "SELECT count(*), count_if(r > first) FROM repeated_rows_ranked WHERE n > 1")[0]
        examples = tuple(
            Example(self.data_row(r), f"{shown} (= row {self.data_row(first)})") for r, shown, first in self.sql(
                f"SELECT r, shown, first FROM repeated_rows_ranked WHERE n > 1 AND r > first "
                f"ORDER BY r LIMIT {MAX_EXAMPLES}"))
        return in_groups, repeats, examples

    def examples(self, check: _Check) -> tuple[Example, ...]:
        return tuple(Example(self.data_row(r), value) for r, value in self.sql(
            f"SELECT rowid, {check.value_sql} FROM data WHERE {check.fail_sql} ORDER BY rowid LIMIT {MAX_EXAMPLES}"))

    def top_values(self, columns: list[str], candidates: dict[str, list[str]]) -> dict[str, tuple[tuple[str, int], ...]]:
        """Exact counts of the values approx_top_k proposed, all columns in one scan."""
        self.stage("top_values")
        pairs = [(c, v) for c in columns for v in candidates[c] if v is not None]
        if not pairs:
            return {c: () for c in columns}
        counts = self.sql("SELECT " + ", ".join(f"count_if({self.text(c)} = {quote_literal(v)})" for c, v in pairs)
                          + " FROM data")[0]
        found: dict[str, list[tuple[str, int]]] = {c: [] for c in columns}
        for (c, v), n in zip(pairs, counts, strict=True):
            found[c].append((v, n))
        return {c: tuple(sorted(found[c], key=lambda p: (-p[1], p[0]))) for c in columns}

    def worst_rows(self, checks: list[_Check]) -> tuple[WorstRow, ...]:
        self.stage("worst_rows")
        row_checks = [c for c in checks if c.kind not in ("dirty_rows", "record_complete")]
        if not row_checks:
            return ()
        flags = ", ".join(f"coalesce({c.fail_sql}, false) AS f{i}" for i, c in enumerate(row_checks))
        total = " + ".join(f"CAST(f{i} AS INTEGER)" for i in range(len(row_checks)))
        found = self.sql(f"SELECT * FROM (SELECT rowid AS r, {flags} FROM data) WHERE ({total}) > 0 "
                         f"ORDER BY ({total}) DESC, r LIMIT {MAX_EXAMPLES}")
        worst = []
        for r, *flags_of_row in found:
            failed = [f"{c.column or c.detail}: {c.kind}" for c, flag in zip(row_checks, flags_of_row, strict=True)
                      if flag]
            worst.append(WorstRow(self.data_row(r), len(failed), tuple(failed)))
        return tuple(worst)


def profile_file(path: Path, *, file_format: FileFormat, rules: RuleSet, now: dt.datetime,
                 progress: Progress | None = None) -> Profile:
    """Profile ``path`` under ``rules`` as of ``now`` (timeliness is measured against it).

    Raises shujiao.errors.InvalidInput (code ``unreadable_file``) if the file cannot be read as
    ``file_format``, and (code ``bad_rules``) if the rules name a column the file does not have.
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
    run.load(path, file_format)
    rules = run.rules
    columns = list(run.types)
    column_checks = [check for rule in rules.fields for check in run.column_checks(rule)]
    dataset_checks = run.dataset_checks(column_checks)
    checks = column_checks + dataset_checks
    rows, per_column, counts, newest = run.aggregate(columns, checks)

    results: dict[int, RuleResult] = {}
    run.stage("examples")
    for i, (check, (checked, failed)) in enumerate(zip(checks, counts, strict=True)):
        results[i] = RuleResult(kind=check.kind, detail=check.detail, checked=checked, passed=checked - failed,
                                column=check.column, examples=run.examples(check) if failed else ())

    run.stage("duplicates")
    all_columns = [quote_ident(c) for c in columns]
    _, repeats, repeat_examples = run.repeated_groups(
        all_columns, "true", run._row_text(columns[:4]) if columns else "NULL")
    dataset = [RuleResult("duplicate_rows", "rows repeating an earlier row 重复行", rows, rows - repeats,
                          examples=repeat_examples)]

    run.stage("uniqueness")
    unique_results: dict[str, RuleResult] = {}
    if rules.key:
        present = " AND ".join(f"{quote_ident(c)} IS NOT NULL" for c in rules.key)
        (checked,) = run.sql(f"SELECT count(*) FROM data WHERE {present}")[0]
        in_groups, _, examples = run.repeated_groups([quote_ident(c) for c in rules.key], present,
                                                      run._row_text(rules.key))
        dataset.append(RuleResult("key_unique", "key " + ", ".join(rules.key) + " unique 主键唯一", checked,
                                  checked - in_groups, examples=examples))
    for rule in rules.fields:
        if rule.unique:
            ident = quote_ident(rule.column)
            checked = per_column[rule.column][0]
            in_groups, _, examples = run.repeated_groups([ident], f"{ident} IS NOT NULL", run.text(rule.column))
            unique_results[rule.column] = RuleResult("unique", "unique 唯一", checked, checked - in_groups,
                                                     column=rule.column, examples=examples)

    timeliness = rules.timeliness
    if timeliness:
        fresh = newest is not None and run.now - newest <= dt.timedelta(days=timeliness.frequency_days)
        shown = newest.isoformat(sep=" ") if newest is not None else None
        dataset.append(RuleResult(
            "timeliness_point", f"newest {timeliness.column} within {timeliness.update_frequency} "
            f"({timeliness.frequency_days} days)", 1, int(fresh),
            column=timeliness.column, examples=() if fresh else (Example(0, shown),)))
    dataset.append(RuleResult("readable_file", "file opened and header parsed 文件可读", 1, 1))
    dataset.append(RuleResult("readable_rows", "data rows parsed 可解析行", rows + len(run.rejected_rows), rows,
                              examples=tuple(Example(r, None) for r in run.rejected_rows[:MAX_EXAMPLES])))

    top = run.top_values(columns, {c: list(per_column[c][4] or []) for c in columns})
    profiles = []
    for c in columns:
        non_null, distinct, low, high, _ = per_column[c]
        own = [results[i] for i, check in enumerate(column_checks) if check.column == c]
        if c in unique_results:
            own.append(unique_results[c])
        rule = rules.field(c)
        profiles.append(ColumnProfile(name=c, type=(rule.type if rule and rule.type else run.types[c]),
                                      nulls=rows - non_null, distinct=distinct, min=low, max=high,
                                      top_values=top[c], rules=tuple(own)))
    dataset = [results[len(column_checks) + i] for i in range(len(dataset_checks))] + dataset
    worst = run.worst_rows(checks)
    if run._progress:
        run._progress("done", len(STAGES), len(STAGES))
    notes = ()
    if run.rejected_rows:
        notes = (f"{len(run.rejected_rows)} rows could not be parsed and were left out "
                 f"({len(run.rejected_rows)} 行无法解析，未计入)",)
    return Profile(file_format=file_format, rows=rows, columns=tuple(profiles), dataset_rules=tuple(dataset),
                   worst_rows=worst, profiled_at=run.now.isoformat(), notes=notes,
                   seconds=str(Decimal(time.perf_counter() - started).quantize(Decimal("0.001"))))

"""Quality rules (质量规则) declared per dataset in YAML or JSON, and what can be suggested from columns.

A rule file looks like::

    key: [订单号]                       # key columns: their value (tuple) must be unique
    fields:
      - column: 统一社会信用代码
        required: true
        validator: credit_code          # credit_code | id_card | mobile | admin_division | date
      - column: 金额
        type: decimal                   # string | integer | decimal | date | datetime | boolean
        range: {min: 0, max: 1000000}
      - column: 类别
        enum: [A, B, C]
      - column: 签约日期
        validator: date
        date_formats: ["%Y-%m-%d"]
    cross_fields:
      - {name: 签约早于交付, left: 签约日期, op: "<=", right: 交付日期, compare_as: date}
    timeliness: {column: 更新日期, update_frequency: monthly, max_age_days: 365}
    weights: {accuracy: "0.3"}          # optional, indicator codes (see scoring.py)
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shujiao.errors import InvalidInput

ValidatorName = Literal["credit_code", "id_card", "mobile", "admin_division", "date"]
ColumnType = Literal["string", "integer", "decimal", "date", "datetime", "boolean"]
CompareOp = Literal["<", "<=", "==", "!=", ">=", ">"]
UpdateFrequency = Literal["daily", "weekly", "monthly", "quarterly", "yearly"]

# How old the newest record may be for each declared update frequency (days; a month as its longest).
FREQUENCY_DAYS: dict[str, int] = {"daily": 1, "weekly": 7, "monthly": 31, "quarterly": 92, "yearly": 366}

# The date formats the ``date`` validator understands: strict, zero-padded, so that DuckDB's
# strptime and Python's agree on every string (see validators.DATE_FORMAT_PATTERNS).
DEFAULT_DATE_FORMATS = ["%Y-%m-%d"]
Bound = Decimal | str  # a number, or an ISO date for date/datetime columns


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(_Strict):
    min: Bound | None = None
    max: Bound | None = None

    @field_validator("min", "max", mode="before")
    @classmethod
    def _number_or_date(cls, value: Any) -> Any:
        """A number (YAML may give it as int, float or text) becomes a Decimal; else an ISO date."""
        if value is None or isinstance(value, Decimal):
            return value
        if isinstance(value, bool):
            raise ValueError("a range bound is a number or an ISO date")
        if isinstance(value, int | float):
            return Decimal(str(value))
        if isinstance(value, dt.date | dt.datetime):
            return value.isoformat()
        text = str(value).strip()
        try:
            number = Decimal(text)
        except ArithmeticError:
            pass
        else:
            if not number.is_finite():
                raise ValueError("a range bound must be finite")
            return number
        try:
            dt.date.fromisoformat(text[:10])
            dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"range bound {text!r} is neither a number nor an ISO date") from None
        return text

    @model_validator(mode="after")
    def _ordered(self) -> "Range":
        if self.min is None and self.max is None:
            raise ValueError("a range needs min or max")
        if self.min is not None and self.max is not None:
            if type(self.min) is not type(self.max):
                raise ValueError("range min and max must both be numbers or both dates")
            if self.min > self.max:  # type: ignore[operator]
                raise ValueError(f"range min {self.min} is above max {self.max}")
        return self

    @property
    def is_date(self) -> bool:
        return isinstance(self.min if self.min is not None else self.max, str)


class FieldRule(_Strict):
    """What one column must satisfy. Every check counts non-null values only; ``required`` counts nulls."""

    column: str = Field(min_length=1)
    type: ColumnType | None = None
    required: bool = False
    validator: ValidatorName | None = None
    date_formats: list[str] = Field(default_factory=lambda: list(DEFAULT_DATE_FORMATS))
    range: Range | None = None
    enum: list[str] | None = Field(None, min_length=1)
    regex: str | None = None
    unique: bool = False

    @field_validator("enum", mode="before")
    @classmethod
    def _enum_as_text(cls, value: Any) -> Any:
        # YAML reads `enum: [1, 2]` as numbers; values in a file are text, so compare as text.
        if isinstance(value, list):
            return [str(v) for v in value]
        return value

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from exc
        return value

    @field_validator("date_formats")
    @classmethod
    def _known_formats(cls, value: list[str]) -> list[str]:
        from shujiao.quality.validators import DATE_FORMAT_PATTERNS

        unknown = [f for f in value if f not in DATE_FORMAT_PATTERNS]
        if unknown or not value:
            raise ValueError(f"date formats must be among {sorted(DATE_FORMAT_PATTERNS)}; got {unknown or value}")
        return value


class CrossFieldRule(_Strict):
    """``left op right`` on every row where both sides are present (A ≤ B, dates in order, equality)."""

    name: str = Field(min_length=1)
    left: str = Field(min_length=1)
    op: CompareOp
    right: str = Field(min_length=1)
    compare_as: Literal["number", "date", "text"] = "number"

    @property
    def is_time_order(self) -> bool:
        """Dates in order (时序性) rather than a consistency relation between values."""
        return self.compare_as == "date" and self.op in ("<", "<=", ">", ">=")


class Timeliness(_Strict):
    """The record time column and how often the dataset is declared to be updated (更新频率)."""

    column: str = Field(min_length=1)
    update_frequency: UpdateFrequency
    max_age_days: int | None = Field(None, ge=1)  # records older than this are stale (过期记录)

    @property
    def frequency_days(self) -> int:
        return FREQUENCY_DAYS[self.update_frequency]


IndicatorWeight = Annotated[Decimal, Field(ge=0)]


class RuleSet(_Strict):
    key: list[str] = Field(default_factory=list)
    fields: list[FieldRule] = Field(default_factory=list)
    cross_fields: list[CrossFieldRule] = Field(default_factory=list)
    timeliness: Timeliness | None = None
    weights: dict[str, IndicatorWeight] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "RuleSet":
        seen: set[str] = set()
        for rule in self.fields:
            if rule.column in seen:
                raise ValueError(f"column {rule.column!r} has two field rules; merge them")
            seen.add(rule.column)
        if len(set(self.key)) != len(self.key):
            raise ValueError("key columns repeat")
        names = [c.name for c in self.cross_fields]
        if len(set(names)) != len(names):
            raise ValueError("cross-field rule names repeat")
        if self.weights is not None:
            from shujiao.quality.scoring import check_weights

            check_weights(self.weights)
        return self

    def field(self, column: str) -> FieldRule | None:
        return next((f for f in self.fields if f.column == column), None)

    def columns(self) -> list[str]:
        """Every column the rules name, in first-mention order."""
        named = [*self.key, *(f.column for f in self.fields)]
        for c in self.cross_fields:
            named += [c.left, c.right]
        if self.timeliness:
            named.append(self.timeliness.column)
        return list(dict.fromkeys(named))


def _location(loc: tuple[Any, ...], data: Any) -> str:
    """``fields[2].validator (column 身份证号)``: where in the file the error is, by path and column."""
    path = ""
    node = data
    column = None
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        if isinstance(node, dict | list):
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                node = None
            if isinstance(node, dict) and isinstance(node.get("column"), str):
                column = node["column"]
    return f"{path} (column {column})" if column else path or "(top level)"


def _line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """The line of the first key of ``loc`` found in the text: enough to point an editor at it."""
    for part in reversed(loc):
        if isinstance(part, str):
            for number, line in enumerate(text.splitlines(), start=1):
                if re.match(rf"\s*-?\s*\"?{re.escape(part)}\"?\s*:", line):
                    return number
    return None


def parse_rules(text: str) -> RuleSet:
    """Rules from YAML or JSON text (JSON is YAML); InvalidInput ``bad_rules`` names the place at fault."""
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        raise InvalidInput(f"规则文件不是合法的 YAML/JSON（{where}）", f"rules are not valid YAML/JSON at {where}: "
                           f"{getattr(exc, 'problem', exc)}", code="bad_rules", line=mark.line + 1 if mark else None) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidInput("规则文件顶层必须是映射（key/fields/...）", "the rules must be a mapping at the top level",
                           code="bad_rules")
    try:
        return RuleSet.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _location(tuple(first["loc"]), data)
        line = _line_of(text, tuple(first["loc"]))
        at = f"{where}, line {line}" if line else where
        message = first["msg"].removeprefix("Value error, ")
        raise InvalidInput(f"规则有误：{at}：{message}", f"bad rule at {at}: {message}", code="bad_rules",
                           field=where, line=line) from exc


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def dump_rules(rules: RuleSet) -> str:
    """YAML that parse_rules reads back to the same RuleSet (defaults left out, Chinese kept readable)."""
    data = _plain(rules.model_dump(mode="python", exclude_defaults=True))
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


# Column names (Chinese and English, lower-cased) that say which validator fits.
_SUGGEST_BY_NAME: list[tuple[str, ValidatorName]] = [
    ("统一社会信用代码", "credit_code"), ("信用代码", "credit_code"), ("credit_code", "credit_code"),
    ("uscc", "credit_code"),
    ("身份证", "id_card"), ("公民身份号码", "id_card"), ("id_card", "id_card"), ("idcard", "id_card"),
    ("手机", "mobile"), ("mobile", "mobile"), ("phone", "mobile"), ("电话", "mobile"),
    ("行政区划", "admin_division"), ("区划代码", "admin_division"), ("region_code", "admin_division"),
    ("admin_division", "admin_division"), ("division_code", "admin_division"),
    ("日期", "date"), ("date", "date"),
]
_TYPE_BY_DECLARED = {
    "int": "integer", "integer": "integer", "bigint": "integer", "smallint": "integer",
    "decimal": "decimal", "numeric": "decimal", "number": "decimal", "float": "decimal", "double": "decimal",
    "money": "decimal", "date": "date", "datetime": "datetime", "timestamp": "datetime", "bool": "boolean",
    "boolean": "boolean",
}


def suggest_rules(columns: list[dict[str, str]]) -> RuleSet:
    """Starting rules from a dataset's columns ``[{"name", "type"}]``: a validator where the name says
    which (身份证号 → id_card), a type where the declared type maps to one. Nothing is required or
    unique by default: that is for the person who knows the data to say."""
    fields = []
    for column in columns:
        name = column["name"]
        lowered = name.lower()
        validator = next((v for needle, v in _SUGGEST_BY_NAME if needle in lowered), None)
        column_type = _TYPE_BY_DECLARED.get((column.get("type") or "").strip().lower())
        if validator == "date" and column_type == "datetime":
            validator = None  # a timestamp column: the type check covers it
        if validator is None and column_type in (None, "string"):
            continue
        fields.append(FieldRule(column=name, validator=validator,
                                type=None if validator else column_type))
    return RuleSet(fields=fields)


def rules_json(rules: RuleSet) -> str:
    """The canonical JSON of a rule set (stored beside a profile so the run can be repeated)."""
    return json.dumps(_plain(rules.model_dump(mode="python")), ensure_ascii=False, sort_keys=True)

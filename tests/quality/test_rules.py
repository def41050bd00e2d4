"""Rules: YAML and JSON in, YAML out, and errors that say where."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from shujiao.errors import InvalidInput
from shujiao.quality.rules import RuleSet, dump_rules, parse_rules, suggest_rules

FULL = """\
key: [订单号]
fields:
  - column: 统一社会信用代码
    required: true
    validator: credit_code
  - {column: 金额, type: decimal, range: {min: 0, max: 1000000.5}}
  - {column: 签约日期, validator: date, date_formats: ["%Y-%m-%d", "%Y年%m月%d日"], range: {min: 2020-01-01}}
  - {column: 类别, enum: [A, B, 1]}
  - {column: 编号, regex: "[A-Z]{2}[0-9]+", unique: true}
cross_fields:
  - {name: 先签约后交付, left: 签约日期, op: "<=", right: 交付日期, compare_as: date}
timeliness: {column: 更新日期, update_frequency: monthly, max_age_days: 365}
weights: {accuracy: "0.3", completeness.record: 2}
"""


def test_yaml_round_trips_through_dump() -> None:
    rules = parse_rules(FULL)
    assert rules.key == ["订单号"]
    assert rules.field("类别").enum == ["A", "B", "1"]  # numbers in YAML are compared as text
    assert rules.field("金额").range.max == Decimal("1000000.5")
    assert rules.field("签约日期").range.min == "2020-01-01"
    assert rules.cross_fields[0].is_time_order
    assert rules.timeliness.frequency_days == 31
    assert rules.weights == {"accuracy": Decimal("0.3"), "completeness.record": Decimal(2)}
    dumped = dump_rules(rules)
    assert "统一社会信用代码" in dumped  # Chinese stays readable
    assert parse_rules(dumped) == rules


def test_json_is_accepted() -> None:
    rules = parse_rules(json.dumps({"fields": [{"column": "手机", "validator": "mobile"}]}))
    assert rules.fields[0].validator == "mobile"
    assert parse_rules("") == RuleSet()


@pytest.mark.parametrize(("text", "names"), [
    ("fields:\n  - column: 身份证号\n    validator: idcard\n", ["fields[0].validator", "身份证号", "line 3"]),
    ("fields:\n  - {column: a, colour: red}\n", ["fields[0].colour", "column a"]),
    ("key: [a\n", ["line"]),
    ("- a\n- b\n", ["mapping"]),
    ("fields:\n  - {column: a, range: {min: 5, max: 1}}\n", ["fields[0].range", "above max"]),
    ("fields:\n  - {column: a, range: {min: soon}}\n", ["neither a number nor an ISO date"]),
    ("fields:\n  - {column: a, regex: '(unclosed'}\n", ["fields[0].regex", "not a regular expression"]),
    ("fields:\n  - {column: a}\n  - {column: a, required: true}\n", ["two field rules"]),
    ("fields:\n  - {column: a, validator: date, date_formats: ['%d.%m.%Y']}\n", ["date formats"]),
    ("cross_fields:\n  - {name: x, left: a, op: '=<', right: b}\n", ["cross_fields[0].op"]),
    ("timeliness: {column: t, update_frequency: hourly}\n", ["timeliness.update_frequency"]),
    ("weights: {speed: 1}\n", ["unknown weight codes", "speed"]),
    ("weights: {accuracy: -1}\n", ["weights.accuracy"]),
])
def test_errors_name_the_place(text: str, names: list[str]) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_rules(text)
    error = caught.value
    assert error.code == "bad_rules"
    assert error.zh.startswith("规则")
    for name in names:
        assert name in error.en, error.en


def test_suggested_rules_from_column_names_and_types() -> None:
    rules = suggest_rules([{"name": "统一社会信用代码", "type": "string"}, {"name": "法人身份证号", "type": ""},
                           {"name": "联系手机", "type": "string"}, {"name": "行政区划代码", "type": "string"},
                           {"name": "成立日期", "type": "date"}, {"name": "注册资本", "type": "decimal"},
                           {"name": "备注", "type": "string"}, {"name": "updated_at", "type": "timestamp"}])
    by_column = {f.column: (f.validator, f.type) for f in rules.fields}
    assert by_column == {"统一社会信用代码": ("credit_code", None), "法人身份证号": ("id_card", None),
                         "联系手机": ("mobile", None), "行政区划代码": ("admin_division", None),
                         "成立日期": ("date", None), "注册资本": (None, "decimal"), "updated_at": (None, "datetime")}
    assert parse_rules(dump_rules(rules)) == rules

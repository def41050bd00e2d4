"""Scoring after GB/T 36344-2018 on hand-made profiles: formulas, weights, not-applicable parts, grades."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from shujiao.errors import InvalidInput
from shujiao.quality.profile import ColumnProfile, Example, Profile, RuleResult, WorstRow
from shujiao.quality.scoring import DEFAULT_WEIGHTS, INDICATORS, grade_of, score


def profile_of(column_rules: list[RuleResult], dataset_rules: list[RuleResult], rows: int = 100) -> Profile:
    column = ColumnProfile(name="c", type="VARCHAR", nulls=0, distinct=rows, min=None, max=None, top_values=(),
                           rules=tuple(column_rules))
    return Profile(file_format="csv", rows=rows, columns=(column,), dataset_rules=tuple(dataset_rules),
                   worst_rows=(WorstRow(7, 2, ("c: validator", "c: range")),))


def sub(result: dict, indicator: str, code: str) -> dict:
    found = next(i for i in result["indicators"] if i["code"] == indicator)
    return next(s for s in found["sub"] if s["code"] == code)


def test_default_weights_add_up_to_one_and_cover_six_indicators() -> None:
    assert sum(DEFAULT_WEIGHTS.values()) == Decimal(1)
    assert [i.name_zh for i in INDICATORS] == ["规范性", "完整性", "准确性", "一致性", "时效性", "可访问性"]


def test_rates_of_bad_use_one_minus_a_over_b() -> None:
    profile = profile_of([], [RuleResult("duplicate_rows", "", 200, 150), RuleResult("dirty_rows", "", 200, 190)])
    result = score(profile).to_dict()
    duplicates = sub(result, "accuracy", "duplicate_rate")
    assert (duplicates["A"], duplicates["B"], duplicates["formula"], duplicates["score"]) == (50, 200, "X = 1 − A/B",
                                                                                            "75.00")
    assert sub(result, "accuracy", "dirty_rate")["score"] == "95.00"
    # only accuracy applies: the overall is its score, the others are left out (not counted as 0 or 100)
    assert result["overall"] == "85.00" and result["grade"] == "B"
    assert [i["applicable"] for i in result["indicators"]] == [False, False, True, False, False, False]


def test_weighted_mean_of_sub_indicators_and_weighted_sum_of_indicators() -> None:
    profile = profile_of(
        [RuleResult("required", "", 100, 90, column="c"), RuleResult("validator", "id_card", 90, 60, column="c"),
         RuleResult("range", "[0, 1]", 90, 90, column="c")],
        [RuleResult("record_complete", "", 100, 80), RuleResult("readable_file", "", 1, 1),
         RuleResult("readable_rows", "", 100, 100)])
    result = score(profile)
    completeness = (Fraction(90) + Fraction(80)) / 2  # 数据元素完整性 90, 数据记录完整性 80
    accuracy = (Fraction(100) + Fraction(200, 3)) / 2  # 内容正确性 100, 格式合规性 60/90
    expected = (Fraction("0.20") * completeness + Fraction("0.25") * accuracy + Fraction("0.10") * 100) / Fraction(
        "0.55")
    assert result.overall_exact == expected
    assert result.to_dict()["overall"] == "86.97"  # 86.9696... rounded half-up

    weighted = score(profile, weights={"completeness": Decimal(1), "accuracy": Decimal(0), "accessibility": Decimal(0),
                                       "completeness.record": Decimal(3)})
    assert weighted.overall_exact == (Fraction(90) + 3 * Fraction(80)) / 4


def test_worst_fields_and_rows_carry_examples() -> None:
    profile = profile_of([RuleResult("validator", "mobile", 10, 7, column="c",
                                     examples=(Example(3, "123"), Example(5, "abc")))], [])
    result = score(profile).to_dict()
    assert result["worst_fields"] == [{"column": "c", "failed": 3, "checked": 10, "rules": [
        {"kind": "validator", "detail": "mobile", "failed": 3, "checked": 10,
         "examples": [{"row": 3, "value": "123"}, {"row": 5, "value": "abc"}]}]}]
    assert result["worst_rows"] == [{"row": 7, "failed": 2, "rules": ["c: validator", "c: range"]}]


@pytest.mark.parametrize(("overall", "grade"), [("100", "A"), ("90.00", "A"), ("89.99", "B"), ("80", "B"),
                                                ("79.99", "C"), ("60", "C"), ("59.99", "D"), ("0", "D")])
def test_grades(overall: str, grade: str) -> None:
    assert grade_of(Decimal(overall)) == grade


def test_bad_weights_are_refused() -> None:
    profile = profile_of([], [])
    with pytest.raises(InvalidInput) as caught:
        score(profile, weights={"beauty": Decimal(1)})
    assert caught.value.code == "bad_weights"
    with pytest.raises(InvalidInput):
        score(profile, weights={code: Decimal(0) for code in DEFAULT_WEIGHTS})


def test_nothing_measurable_scores_zero_not_a_crash() -> None:
    result = score(profile_of([], [])).to_dict()
    assert result["overall"] == "0.00" and result["grade"] == "D"

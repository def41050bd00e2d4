"""Quality scores after GB/T 36344-2018 信息技术 数据质量评价指标 (Information technology — Evaluation
indicators for data quality): the six indicators of its framework (数据质量评价指标框架) — 规范性,
完整性, 准确性, 一致性, 时效性, 可访问性 — each the weighted mean of its sub-indicators, each
sub-indicator X = A/B (or X = 1 − A/B for the rates of bad elements: 数据重复率, 脏数据出现率).

Where A and B come from in the profile (profile.py), sub-indicator by sub-indicator:

规范性 conformity
  数据模型 data model           A = non-null values of a typed column that parse as the declared type; B = such values
  业务规则 business rules       A = non-null values matching the column's regular expression; B = such values
  权威参考数据 reference data    A = non-null values in the column's enumeration (code list); B = such values
完整性 completeness
  数据元素完整性 element        A = non-null cells of required columns; B = cells of required columns (rows × columns)
  数据记录完整性 record         A = rows with every required column present; B = rows
准确性 accuracy
  数据内容正确性 content        A = non-null values inside the column's declared range; B = such values
  数据格式合规性 format         A = non-null values passing the column's validator (check digits included); B = such values
  数据重复率 duplicate rate     X = 1 − A/B; A = rows identical in every column to an earlier row; B = rows
  数据唯一性 uniqueness         A = rows whose key (key columns, and each column marked unique) occurs once; B = rows
                               with the key present (exact counts, not estimates)
  脏数据出现率 dirty rate       X = 1 − A/B; A = rows failing at least one column rule above; B = rows
一致性 consistency
  相同数据一致性 same data      A = rows where an equality cross-field rule (==, !=) holds; B = rows with both sides present
  关联数据一致性 related data   A = rows where a comparison cross-field rule (number or text) holds; B = likewise
时效性 timeliness
  基于时间点的及时性 point      A = 1 if the newest record is no older than the declared update frequency at the time
                               of profiling, else 0; B = 1
  基于时间段的正确性 period     A = rows whose record time lies within the declared maximum age (not stale, not in the
                               future); B = rows with a record time
  时序性 sequence               A = rows where a date-order cross-field rule holds; B = rows with both dates present
可访问性 accessibility
  可访问 accessible            A = 1 if the file was opened and its header parsed, B = 1 (a file that cannot be read
                               has no profile, so no score: the caller reports it)
  可用性 usable                A = data rows the reader parsed; B = data rows in the file (parsed + rejected)

A sub-indicator with B = 0 has nothing to measure: it is "not applicable", left out, and the weights
of the others are renormalized; likewise an indicator with no applicable sub-indicator. So the
overall score is Σ wᵢ·sᵢ / Σ wᵢ over the applicable indicators (= the weighted sum when all apply
and the weights add up to 1). Scores are exact fractions ×100, rounded half-up to 0.01 only when shown.

Default indicator weights (overridable per rule set or call, by indicator code; a sub-indicator's
weight by ``indicator.sub``, default equal): conformity 0.15, completeness 0.20, accuracy 0.25,
consistency 0.15, timeliness 0.15, accessibility 0.10.

Grades: A ≥ 90, B ≥ 80, C ≥ 60, D below 60 (on the overall score, rounded to 0.01).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from shujiao.errors import InvalidInput
from shujiao.quality.profile import Profile, RuleResult


@dataclass(frozen=True)
class SubIndicatorSpec:
    code: str
    name_zh: str
    name_en: str
    kinds: tuple[str, ...]  # profile rule kinds that count towards it
    rate_of_bad: bool = False


@dataclass(frozen=True)
class IndicatorSpec:
    code: str
    name_zh: str
    name_en: str
    default_weight: Decimal
    sub: tuple[SubIndicatorSpec, ...]


INDICATORS: tuple[IndicatorSpec, ...] = (
    IndicatorSpec("conformity", "规范性", "Conformity", Decimal("0.15"), (
        SubIndicatorSpec("data_model", "数据模型", "Data model", ("type",)),
        SubIndicatorSpec("business_rules", "业务规则", "Business rules", ("regex",)),
        SubIndicatorSpec("reference_data", "权威参考数据", "Authoritative reference data", ("enum",)),
    )),
    IndicatorSpec("completeness", "完整性", "Completeness", Decimal("0.20"), (
        SubIndicatorSpec("element", "数据元素完整性", "Data element completeness", ("required",)),
        SubIndicatorSpec("record", "数据记录完整性", "Data record completeness", ("record_complete",)),
    )),
    IndicatorSpec("accuracy", "准确性", "Accuracy", Decimal("0.25"), (
        SubIndicatorSpec("content", "数据内容正确性", "Data content correctness", ("range",)),
        SubIndicatorSpec("format", "数据格式合规性", "Data format compliance", ("validator",)),
        SubIndicatorSpec("duplicate_rate", "数据重复率", "Data duplication rate", ("duplicate_rows",), True),
        SubIndicatorSpec("uniqueness", "数据唯一性", "Data uniqueness", ("key_unique", "unique")),
        SubIndicatorSpec("dirty_rate", "脏数据出现率", "Dirty data rate", ("dirty_rows",), True),
    )),
    IndicatorSpec("consistency", "一致性", "Consistency", Decimal("0.15"), (
        SubIndicatorSpec("same_data", "相同数据一致性", "Consistency of the same data", ("cross_equal",)),
        SubIndicatorSpec("related_data", "关联数据一致性", "Consistency of related data", ("cross_field",)),
    )),
    IndicatorSpec("timeliness", "时效性", "Timeliness", Decimal("0.15"), (
        SubIndicatorSpec("point", "基于时间点的及时性", "Timeliness at a point in time", ("timeliness_point",)),
        SubIndicatorSpec("period", "基于时间段的正确性", "Correctness over a time period", ("timeliness_period",)),
        SubIndicatorSpec("sequence", "时序性", "Time sequence", ("time_order",)),
    )),
    IndicatorSpec("accessibility", "可访问性", "Accessibility", Decimal("0.10"), (
        SubIndicatorSpec("accessible", "可访问", "Accessible", ("readable_file",)),
        SubIndicatorSpec("usable", "可用性", "Usable", ("readable_rows",)),
    )),
)
DEFAULT_WEIGHTS: dict[str, Decimal] = {i.code: i.default_weight for i in INDICATORS}
WEIGHT_CODES = frozenset([i.code for i in INDICATORS] + [f"{i.code}.{s.code}" for i in INDICATORS for s in i.sub])
GRADES: tuple[tuple[Decimal, str], ...] = ((Decimal(90), "A"), (Decimal(80), "B"), (Decimal(60), "C"))
WORST = 10
CENT = Decimal("0.01")


def check_weights(weights: Mapping[str, Decimal]) -> None:
    unknown = sorted(set(weights) - WEIGHT_CODES)
    if unknown:
        raise ValueError(f"unknown weight codes {unknown}; known: {sorted(WEIGHT_CODES)}")
    if any(Decimal(w) < 0 for w in weights.values()):
        raise ValueError("weights cannot be negative")
    indicator_total = sum(Decimal(weights.get(i.code, i.default_weight)) for i in INDICATORS)
    if indicator_total <= 0:
        raise ValueError("the indicator weights add up to 0")


def shown(value: Fraction | None) -> str | None:
    """A score as people read it: a decimal string with two places, rounded half-up."""
    if value is None:
        return None
    return str((Decimal(value.numerator) / Decimal(value.denominator)).quantize(CENT, rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class SubScore:
    spec: SubIndicatorSpec
    weight: Decimal
    a: int
    b: int
    score: Fraction | None  # 0..100, None when B = 0 (not applicable)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.spec.code, "name_zh": self.spec.name_zh, "name_en": self.spec.name_en,
                "weight": str(self.weight), "A": self.a, "B": self.b,
                "formula": "X = 1 − A/B" if self.spec.rate_of_bad else "X = A/B",
                "applicable": self.score is not None, "score": shown(self.score)}


@dataclass(frozen=True)
class IndicatorScore:
    spec: IndicatorSpec
    weight: Decimal
    sub: tuple[SubScore, ...]
    score: Fraction | None

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.spec.code, "name_zh": self.spec.name_zh, "name_en": self.spec.name_en,
                "weight": str(self.weight), "applicable": self.score is not None, "score": shown(self.score),
                "sub": [s.to_dict() for s in self.sub]}


@dataclass(frozen=True)
class QualityScore:
    overall_exact: Fraction
    indicators: tuple[IndicatorScore, ...]
    worst_fields: tuple[dict[str, Any], ...]
    worst_rows: tuple[dict[str, Any], ...]

    @property
    def overall(self) -> Decimal:
        return Decimal(shown(self.overall_exact) or "0")

    @property
    def grade(self) -> str:
        return grade_of(self.overall)

    def indicator(self, code: str) -> IndicatorScore:
        return next(i for i in self.indicators if i.spec.code == code)

    def to_dict(self) -> dict[str, Any]:
        return {"overall": str(self.overall), "grade": self.grade,
                "indicators": [i.to_dict() for i in self.indicators],
                "worst_fields": list(self.worst_fields), "worst_rows": list(self.worst_rows)}


def grade_of(overall: Decimal) -> str:
    return next((grade for floor, grade in GRADES if overall >= floor), "D")


def _weighted_mean(pairs: list[tuple[Decimal, Fraction]]) -> Fraction | None:
    total = sum((Fraction(w) for w, _ in pairs), Fraction(0))
    if not pairs or total == 0:
        return None
    return sum((Fraction(w) * s for w, s in pairs), Fraction(0)) / total


def _sub_score(spec: SubIndicatorSpec, weight: Decimal, results: list[RuleResult]) -> SubScore:
    b = sum(r.checked for r in results)
    good = sum(r.passed for r in results)
    a = b - good if spec.rate_of_bad else good
    if b == 0:
        return SubScore(spec, weight, a, b, None)
    ratio = Fraction(a, b)
    return SubScore(spec, weight, a, b, 100 * (1 - ratio if spec.rate_of_bad else ratio))


def _worst_fields(profile: Profile) -> tuple[dict[str, Any], ...]:
    ranked = []
    for column in profile.columns:
        failing = [r for r in column.rules if r.failed]
        if failing:
            ranked.append({"column": column.name, "failed": sum(r.failed for r in failing),
                           "checked": sum(r.checked for r in column.rules),
                           "rules": [{"kind": r.kind, "detail": r.detail, "failed": r.failed, "checked": r.checked,
                                      "examples": [{"row": e.row, "value": e.value} for e in r.examples]}
                                     for r in failing]})
    ranked.sort(key=lambda f: (-f["failed"], f["column"]))
    return tuple(ranked[:WORST])


def score(profile: Profile, *, weights: Mapping[str, Decimal] | None = None) -> QualityScore:
    """The GB/T 36344-2018 scores of ``profile``; ``weights`` by indicator code (or ``indicator.sub``)."""
    weights = dict(weights or {})
    try:
        check_weights(weights)
    except ValueError as exc:
        raise InvalidInput(f"权重有误：{exc}", f"bad weights: {exc}", code="bad_weights") from exc
    results = [*profile.column_rules(), *profile.dataset_rules]
    indicators = []
    for spec in INDICATORS:
        subs = tuple(_sub_score(sub, Decimal(weights.get(f"{spec.code}.{sub.code}", Decimal(1))),
                                [r for r in results if r.kind in sub.kinds]) for sub in spec.sub)
        value = _weighted_mean([(s.weight, s.score) for s in subs if s.score is not None])
        indicators.append(IndicatorScore(spec, Decimal(weights.get(spec.code, spec.default_weight)), subs, value))
    overall = _weighted_mean([(i.weight, i.score) for i in indicators if i.score is not None])
    return QualityScore(overall_exact=overall if overall is not None else Fraction(0), indicators=tuple(indicators),
                        worst_fields=_worst_fields(profile),
                        worst_rows=tuple({"row": w.row, "failed": w.failed, "rules": list(w.rules)}
                                         for w in profile.worst_rows))

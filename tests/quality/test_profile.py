"""A dataset with planted defects, in CSV, Parquet and Excel: the profile counts exactly what was
planted, an independent pandas computation counts the same, and the scores follow exactly."""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from shujiao.errors import InvalidInput
from shujiao.members import credit_code as uscc
from shujiao.quality import validators as v
from shujiao.quality.profile import MAX_EXAMPLES, Profile, profile_file
from shujiao.quality.rules import parse_rules
from shujiao.quality.scoring import DEFAULT_WEIGHTS, score

NOW = dt.datetime(2026, 11, 23, 12, 0, 0)
BASE = 1000  # distinct rows; then COPIES copies of the first rows are appended
COPIES = 15
ROWS = BASE + COPIES

# Planted defects: (first base row index, how many). Ranges do not overlap and start after the rows
# that get copied, so every count below is exact by construction.
CREDIT_NULL = (20, 50)       # 统一社会信用代码 missing (required)
CREDIT_BAD = (70, 20)        # wrong check character
ID_BAD = (90, 30)            # wrong check digit
MOBILE_BAD = (120, 10)
REGION_BAD = (130, 8)        # province 99
AMOUNT_NEGATIVE = (140, 12)  # outside the range [0, 1000000]
CATEGORY_BAD = (160, 7)      # not in the enumeration
DATES_REVERSED = (170, 25)   # 交付日期 before 签约日期
STALE = (200, 40)            # 更新日期 older than max_age_days
REVIEW_DIFFERS = (250, 6)    # 复核金额 != 金额 (same-data consistency)
OVER_LIMIT = (260, 9)        # 金额 > 合同上限 (related-data consistency)
KEY_REPEATS = (300, 5)       # rows 300..304 carry the 订单号 of rows 400..404
DIRTY = CREDIT_BAD[1] + ID_BAD[1] + MOBILE_BAD[1] + REGION_BAD[1] + AMOUNT_NEGATIVE[1] + CATEGORY_BAD[1]

RULES = """
key: [订单号]
fields:
  - {column: 订单号, required: true}
  - {column: 统一社会信用代码, required: true, validator: credit_code}
  - {column: 身份证号, validator: id_card}
  - {column: 手机号, validator: mobile}
  - {column: 行政区划, validator: admin_division}
  - {column: 签约日期, validator: date}
  - {column: 金额, type: decimal, range: {min: 0, max: 1000000}}
  - {column: 类别, enum: [数据, 算力, 模型]}
cross_fields:
  - {name: 先签约后交付, left: 签约日期, op: "<=", right: 交付日期, compare_as: date}
  - {name: 复核一致, left: 金额, op: "==", right: 复核金额, compare_as: number}
  - {name: 不超上限, left: 金额, op: "<=", right: 合同上限, compare_as: number}
timeliness: {column: 更新日期, update_frequency: monthly, max_age_days: 365}
"""


def in_range(i: int, planted: tuple[int, int]) -> bool:
    return planted[0] <= i < planted[0] + planted[1]


def planted_frame() -> pd.DataFrame:
    rng = random.Random(36344)
    rows = []
    for i in range(BASE):
        body = "91" + valid_division(rng) + "".join(rng.choice(uscc.CHARSET) for _ in range(9))
        credit = body + uscc.check_character(body)
        if in_range(i, CREDIT_BAD):
            credit = body + next(c for c in uscc.CHARSET if c != uscc.check_character(body))
        birth = (dt.date(1950, 1, 1) + dt.timedelta(days=rng.randint(0, 20000))).strftime("%Y%m%d")
        id_body = valid_division(rng) + birth + f"{i % 1000:03d}"
        id_card = id_body + v.id_check_character(id_body)
        if in_range(i, ID_BAD):
            id_card = id_body + next(c for c in "0123456789X" if c != v.id_check_character(id_body))
        signed = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 600))
        delivered = signed + dt.timedelta(days=rng.randint(0, 60))
        if in_range(i, DATES_REVERSED):
            delivered = signed - dt.timedelta(days=rng.randint(1, 30))
        updated = NOW.date() - dt.timedelta(days=rng.randint(3, 300))
        if in_range(i, STALE):
            updated = NOW.date() - dt.timedelta(days=rng.randint(400, 2000))
        amount = f"{rng.randint(0, 900000)}.{rng.randint(0, 99):02d}"
        if in_range(i, AMOUNT_NEGATIVE):
            amount = "-" + amount
        rows.append({
            "订单号": f"DD{(400 + i - 300) if in_range(i, KEY_REPEATS) else i:06d}",
            "统一社会信用代码": None if in_range(i, CREDIT_NULL) else credit,
            "身份证号": id_card,
            "手机号": ("1280000" if in_range(i, MOBILE_BAD) else "1380000") + f"{i:04d}",
            "行政区划": "990101" if in_range(i, REGION_BAD) else valid_division(rng),
            "签约日期": signed.isoformat(),
            "交付日期": delivered.isoformat(),
            "金额": amount,
            "复核金额": f"{amount}1" if in_range(i, REVIEW_DIFFERS) else amount,
            "合同上限": "0.01" if in_range(i, OVER_LIMIT) else "1000000",
            "类别": "其他" if in_range(i, CATEGORY_BAD) else rng.choice(["数据", "算力", "模型"]),
            "更新日期": updated.isoformat(),
        })
    rows += [dict(rows[i]) for i in range(COPIES)]
    return pd.DataFrame(rows, dtype="string")


def valid_division(rng: random.Random) -> str:
    return rng.choice(["52", "11", "44", "65"]) + f"{rng.randint(1, 30):02d}{rng.randint(1, 20):02d}"


# --- the expected counts, twice: from the plan, and from pandas --------------------------------------

@dataclass(frozen=True)
class Counts:
    """(A, B) of every sub-indicator, as the scoring module defines them (A = bad ones for rates)."""

    data_model: tuple[int, int]
    reference_data: tuple[int, int]
    element: tuple[int, int]
    record: tuple[int, int]
    content: tuple[int, int]
    format: tuple[int, int]
    duplicate_rate: tuple[int, int]
    uniqueness: tuple[int, int]
    dirty_rate: tuple[int, int]
    same_data: tuple[int, int]
    related_data: tuple[int, int]
    point: tuple[int, int]
    period: tuple[int, int]
    sequence: tuple[int, int]
    accessible: tuple[int, int]
    usable: tuple[int, int]


def planned_counts() -> Counts:
    credit_present = ROWS - CREDIT_NULL[1]
    key_in_repeats = 2 * KEY_REPEATS[1] + 2 * COPIES  # both rows of each planted pair, and copies + originals
    return Counts(
        data_model=(ROWS, ROWS), reference_data=(ROWS - CATEGORY_BAD[1], ROWS),
        element=(2 * ROWS - CREDIT_NULL[1], 2 * ROWS), record=(ROWS - CREDIT_NULL[1], ROWS),
        content=(ROWS - AMOUNT_NEGATIVE[1], ROWS),
        format=(credit_present - CREDIT_BAD[1] + ROWS - ID_BAD[1] + ROWS - MOBILE_BAD[1] + ROWS - REGION_BAD[1] + ROWS,
                credit_present + 4 * ROWS),
        duplicate_rate=(COPIES, ROWS), uniqueness=(ROWS - key_in_repeats, ROWS), dirty_rate=(DIRTY, ROWS),
        same_data=(ROWS - REVIEW_DIFFERS[1], ROWS), related_data=(ROWS - OVER_LIMIT[1], ROWS),
        point=(1, 1), period=(ROWS - STALE[1], ROWS), sequence=(ROWS - DATES_REVERSED[1], ROWS),
        accessible=(1, 1), usable=(ROWS, ROWS))


def pandas_counts(df: pd.DataFrame) -> Counts:
    """The same numbers by another road: pandas operations and the pure-Python validators."""
    rows = len(df)
    present = df.notna()

    def passing(column: str, check) -> tuple[int, int]:  # type: ignore[no-untyped-def]
        values = df[column].dropna()
        return int(values.map(check).sum()), len(values)

    validator_results = [passing("统一社会信用代码", v.is_credit_code), passing("身份证号", v.is_id_card),
                         passing("手机号", v.is_mobile), passing("行政区划", v.is_admin_division),
                         passing("签约日期", lambda s: v.is_date(s, ["%Y-%m-%d"]))]
    amount = pd.to_numeric(df["金额"])
    bad = pd.DataFrame({
        "credit": df["统一社会信用代码"].notna() & ~df["统一社会信用代码"].fillna("").map(v.is_credit_code),
        "id": ~df["身份证号"].map(v.is_id_card), "mobile": ~df["手机号"].map(v.is_mobile),
        "region": ~df["行政区划"].map(v.is_admin_division),
        "amount": ~amount.between(0, 1_000_000), "category": ~df["类别"].isin(["数据", "算力", "模型"]),
    })
    updated = pd.to_datetime(df["更新日期"])
    newest = updated.max()
    required = present[["订单号", "统一社会信用代码"]]
    key_repeated = df["订单号"].duplicated(keep=False)
    return Counts(
        data_model=(int(df["金额"].str.fullmatch(r"[+-]?[0-9]+(\.[0-9]*)?").sum()), rows),
        reference_data=(int(df["类别"].isin(["数据", "算力", "模型"]).sum()), rows),
        element=(int(required.sum().sum()), required.size), record=(int(required.all(axis=1).sum()), rows),
        content=(int(amount.between(0, 1_000_000).sum()), rows),
        format=(sum(a for a, _ in validator_results), sum(b for _, b in validator_results)),
        duplicate_rate=(int(df.duplicated().sum()), rows), uniqueness=(int((~key_repeated).sum()), rows),
        dirty_rate=(int(bad.any(axis=1).sum()), rows),
        same_data=(int((amount == pd.to_numeric(df["复核金额"])).sum()), rows),
        related_data=(int((amount <= pd.to_numeric(df["合同上限"])).sum()), rows),
        point=(int(NOW - newest <= pd.Timedelta(days=31)), 1),
        period=(int(((updated >= NOW - pd.Timedelta(days=365)) & (updated <= NOW)).sum()), rows),
        sequence=(int((pd.to_datetime(df["签约日期"]) <= pd.to_datetime(df["交付日期"])).sum()), rows),
        accessible=(1, 1), usable=(rows, rows))


def expected_score(counts: Counts) -> tuple[dict[str, Fraction], Fraction]:
    """The GB/T 36344 arithmetic on the counts: X = A/B (1 − A/B for the two rates), equal
    sub-indicator weights, default indicator weights; business rules (no regex) does not apply."""
    rate_of_bad = {"duplicate_rate", "dirty_rate"}
    layout = {"conformity": ["data_model", "reference_data"], "completeness": ["element", "record"],
              "accuracy": ["content", "format", "duplicate_rate", "uniqueness", "dirty_rate"],
              "consistency": ["same_data", "related_data"], "timeliness": ["point", "period", "sequence"],
              "accessibility": ["accessible", "usable"]}

    def x(name: str) -> Fraction:
        a, b = getattr(counts, name)
        return 100 * (1 - Fraction(a, b) if name in rate_of_bad else Fraction(a, b))

    indicators = {code: sum((x(s) for s in subs), Fraction(0)) / len(subs) for code, subs in layout.items()}
    overall = sum((Fraction(DEFAULT_WEIGHTS[c]) * s for c, s in indicators.items()), Fraction(0)) / sum(
        Fraction(w) for w in DEFAULT_WEIGHTS.values())
    return indicators, overall


def two_places(value: Fraction) -> str:
    from decimal import ROUND_HALF_UP, Decimal

    return str((Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.01"), ROUND_HALF_UP))


# --- writing the frame in each format ------------------------------------------------------------------

def write(df: pd.DataFrame, directory: Path, file_format: str) -> Path:
    path = directory / f"planted.{file_format}"
    if file_format == "csv":
        df.to_csv(path, index=False)
    elif file_format == "parquet":
        df.to_parquet(path, index=False)
    else:
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet("数据")
        sheet.append(list(df.columns))
        for record in df.itertuples(index=False):
            sheet.append([None if pd.isna(value) else value for value in record])
        book.save(path)
    return path


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return planted_frame()


def sub_counts(profile: Profile) -> dict[str, tuple[int, int]]:
    result = score(profile).to_dict()
    return {s["code"]: (s["A"], s["B"]) for i in result["indicators"] for s in i["sub"]}


@pytest.mark.parametrize("file_format", ["csv", "parquet", "xlsx"])
def test_planted_defects_come_out_exactly(frame: pd.DataFrame, tmp_path: Path, file_format: str) -> None:
    stages: list[str] = []
    path = write(frame, tmp_path, file_format)
    profile = profile_file(path, file_format=file_format, rules=parse_rules(RULES), now=NOW,  # type: ignore[arg-type]
                           progress=lambda stage, done, total: stages.append(stage))
    planned = planned_counts()
    assert pandas_counts(frame) == planned  # the independent computation agrees with the plan
    counts = sub_counts(profile)
    assert counts.pop("business_rules") == (0, 0)  # no regex rule: not applicable
    assert counts == {name: getattr(planned, name) for name in Counts.__dataclass_fields__}

    indicators, overall = expected_score(planned)
    result = score(profile).to_dict()
    assert {i["code"]: i["score"] for i in result["indicators"]} == {c: two_places(s) for c, s in indicators.items()}
    assert result["overall"] == two_places(overall)
    assert score(profile).overall_exact == overall  # exact, not merely equal after rounding
    assert stages[0] == "read" and stages[-1] == "done"
    assert profile.rows == ROWS


def test_examples_name_data_rows_and_values(frame: pd.DataFrame, tmp_path: Path) -> None:
    profile = profile_file(write(frame, tmp_path, "csv"), file_format="csv", rules=parse_rules(RULES), now=NOW)
    (id_rule,) = profile.column("身份证号").rules
    first = ID_BAD[0]
    assert [e.row for e in id_rule.examples] == list(range(first + 1, first + 1 + MAX_EXAMPLES))
    assert [e.value for e in id_rule.examples] == list(frame["身份证号"][first:first + MAX_EXAMPLES])
    (duplicates,) = profile.dataset_rule("duplicate_rows")
    assert [e.row for e in duplicates.examples] == list(range(BASE + 1, BASE + 1 + MAX_EXAMPLES))
    assert duplicates.examples[0].value.endswith("(= row 1)")
    (key,) = profile.dataset_rule("key_unique")
    assert {e.row for e in key.examples} == {401, 402, 403, 404, 405} | set(range(BASE + 1, BASE + 6))
    amount = profile.column("金额")
    assert amount.nulls == 0 and amount.type == "decimal"
    category = profile.column("类别")
    assert {value for value, _ in category.top_values} >= {"数据", "算力", "模型"}
    counts = dict(category.top_values)
    assert counts["数据"] == int((frame["类别"] == "数据").sum())
    assert profile.column("统一社会信用代码").nulls == CREDIT_NULL[1]
    worst = profile.worst_rows
    assert len(worst) == MAX_EXAMPLES and all(w.failed >= 1 for w in worst)
    # a JSON round trip keeps everything, and holds no floats
    text = json.dumps(profile.to_dict(), ensure_ascii=False)
    assert Profile.from_dict(json.loads(text)) == profile
    assert not any(isinstance(x, float) for x in _leaves(json.loads(text)))


def _leaves(node):  # type: ignore[no-untyped-def]
    if isinstance(node, dict):
        for value in node.values():
            yield from _leaves(value)
    elif isinstance(node, list):
        for value in node:
            yield from _leaves(value)
    else:
        yield node


def test_a_stale_dataset_fails_the_point_in_time_check(frame: pd.DataFrame, tmp_path: Path) -> None:
    later = NOW + dt.timedelta(days=400)
    profile = profile_file(write(frame, tmp_path, "csv"), file_format="csv", rules=parse_rules(RULES), now=later)
    (point,) = profile.dataset_rule("timeliness_point")
    assert (point.checked, point.passed) == (1, 0)
    assert point.examples[0].value == str(pd.to_datetime(frame["更新日期"]).max())


def test_unparseable_csv_rows_are_counted_and_row_numbers_stay_true(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_text("手机号,类别\n13800000001,数据\n13800000002,数据,多余\n1380000000,算力\n13800000004,模型\n",
                    encoding="utf-8")
    profile = profile_file(path, file_format="csv", now=NOW,
                           rules=parse_rules("fields: [{column: 手机号, validator: mobile}]"))
    (usable,) = profile.dataset_rule("readable_rows")
    assert (usable.checked, usable.passed) == (4, 3)
    assert [e.row for e in usable.examples] == [2]
    (mobile,) = profile.column("手机号").rules
    assert [(e.row, e.value) for e in mobile.examples] == [(3, "1380000000")]  # data row 3 of the file
    assert profile.notes


def test_a_file_with_only_a_header(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("a,b\n", encoding="utf-8")
    profile = profile_file(path, file_format="csv", now=NOW,
                           rules=parse_rules("key: [a]\nfields: [{column: b, validator: mobile, required: true}]"))
    assert profile.rows == 0 and all(r.checked == 0 for r in profile.column_rules())
    assert score(profile).to_dict()["overall"] == "0.00"


def test_rules_naming_missing_columns_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        profile_file(path, file_format="csv", now=NOW, rules=parse_rules("key: [订单号]"))
    assert caught.value.code == "bad_rules" and "订单号" in caught.value.en


def test_unreadable_files_say_so(tmp_path: Path) -> None:
    path = tmp_path / "not.parquet"
    path.write_bytes(b"this is not parquet")
    for file_format in ("parquet", "xlsx"):
        with pytest.raises(InvalidInput) as caught:
            profile_file(path, file_format=file_format, now=NOW, rules=parse_rules(""))  # type: ignore[arg-type]
        assert caught.value.code == "unreadable_file"
    with pytest.raises(InvalidInput):
        profile_file(tmp_path / "missing.csv", file_format="csv", now=NOW, rules=parse_rules(""))


def test_a_regex_duckdb_cannot_run_is_a_rules_error(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("a\nx\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:  # a look-behind: Python's re has it, RE2 does not
        profile_file(path, file_format="csv", now=NOW, rules=parse_rules("fields: [{column: a, regex: '(?<=x)y'}]"))
    assert caught.value.code == "bad_rules"


@pytest.mark.parametrize("anchored", [True, False])
def test_duplicate_rows_are_exact_with_or_without_a_key_to_narrow_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, anchored: bool) -> None:
    """Duplicate rows are found through the key's repeats plus the rows without a key (anchored), or
    by grouping every row (when too many rows lack a key): both count what pandas counts."""
    from shujiao.quality import profile as profile_module

    if not anchored:
        monkeypatch.setattr(profile_module, "UNANCHORED_ROWS_MAX", -1)
    lines = [f"k{i},v{i % 7},{i % 3}" for i in range(60)]
    lines += ["k1,v1,1", "k1,v1,1", "k2,other,2"]  # two copies of row k1, and a repeated key with other values
    lines += [",v5,5", ",v5,5", ",v5,5", ",v6,5", ",v5,"]  # no key: two copies of one row, two others
    path = tmp_path / "dups.csv"
    path.write_text("k,v,n\n" + "\n".join(lines) + "\n", encoding="utf-8")
    frame = pd.read_csv(path, dtype=str, keep_default_na=True)
    profile = profile_file(path, file_format="csv", now=NOW, rules=parse_rules("key: [k]"))
    (duplicates,) = profile.dataset_rule("duplicate_rows")
    assert duplicates.failed == int(frame.duplicated().sum()) == 4
    assert [e.row for e in duplicates.examples] == [61, 62, 65, 66]
    (key,) = profile.dataset_rule("key_unique")
    assert key.checked == int(frame["k"].notna().sum())
    assert key.failed == int(frame["k"].dropna().duplicated(keep=False).sum()) == 5

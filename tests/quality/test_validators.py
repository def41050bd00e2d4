"""The SQL validators (run inside DuckDB) and the pure-Python ones say the same of every value, and
both catch every wrong check character."""

from __future__ import annotations

import random

import duckdb
import pytest
import stdnum.cn.ric
import stdnum.cn.uscc
from hypothesis import given, settings
from hypothesis import strategies as st

from shujiao.members import credit_code as uscc
from shujiao.quality import validators as v

FORMATS = list(v.DATE_FORMAT_PATTERNS)
NAMES = ["credit_code", "id_card", "mobile", "admin_division", "date"]


def sql_verdicts(name: str, values: list[str], formats: list[str] | None = None) -> list[bool]:
    """Both SQL forms: the one expression, and helper columns + condition (as the profiler runs them)."""
    formats = formats or ["%Y-%m-%d"]
    check = v.validator_check(name, "value", date_formats=formats, alias="helper")
    helpers = "".join(f", {expression} AS {v.quote_ident(alias)}" for alias, expression in check.columns)
    rows = duckdb.execute(
        f"SELECT i, one, coalesce({check.condition}, false) FROM ("
        f"  SELECT i, value, {v.validator_sql(name, 'value', date_formats=formats)} AS one{helpers}"
        f"  FROM (SELECT unnest(?) AS value, generate_subscripts(?, 1) AS i)) ORDER BY i", [values, values]).fetchall()
    assert all(one is both for _, one, both in rows)
    return [verdict for _, _, verdict in rows]


def python_verdicts(name: str, values: list[str], formats: list[str] | None = None) -> list[bool]:
    check = v.python_validator(name, date_formats=formats or ["%Y-%m-%d"])
    return [check(value) for value in values]


def assert_agree(name: str, values: list[str], formats: list[str] | None = None) -> list[bool]:
    in_sql = sql_verdicts(name, values, formats)
    in_python = python_verdicts(name, values, formats)
    disagreements = [(value, s, p) for value, s, p in zip(values, in_sql, in_python, strict=True) if s is not p]
    assert not disagreements, disagreements[:5]
    return in_python


# --- generators of near-valid values --------------------------------------------------------------

def valid_credit_code(rng: random.Random) -> str:
    body = (rng.choice(uscc.CHARSET) + rng.choice(uscc.CHARSET) + "".join(rng.choice("0123456789") for _ in range(6))
            + "".join(rng.choice(uscc.CHARSET) for _ in range(9)))
    return body + uscc.check_character(body)


def valid_division(rng: random.Random) -> str:
    province = rng.choice(sorted(v.PROVINCE_CODES))
    if rng.random() < 0.1:
        return province + "0000"
    return province + f"{rng.randint(1, 99):02d}{rng.randint(0, 99):02d}"


def valid_id_card(rng: random.Random) -> str:
    import datetime as dt

    birth = dt.date(1900, 1, 1) + dt.timedelta(days=rng.randint(0, 60000))
    body = valid_division(rng) + birth.strftime("%Y%m%d") + f"{rng.randint(0, 999):03d}"
    return body + v.id_check_character(body)


def mutations(value: str, alphabet: str, rng: random.Random) -> list[str]:
    """The value with one character replaced, one dropped, one added, and in lower case."""
    i = rng.randrange(len(value))
    return [value[:i] + rng.choice(alphabet) + value[i + 1:], value[:i] + value[i + 1:],
            value[:i] + rng.choice(alphabet) + value[i:], value.lower(), " " + value, value + " "]


seeds = st.integers(min_value=0, max_value=2**32)
junk = st.text(alphabet=st.sampled_from("0123456789X-/ 年月日:TABYxz１２"), max_size=22)


@settings(max_examples=60, deadline=None)
@given(seed=seeds, extra=st.lists(junk, max_size=20))
def test_credit_code_sql_agrees_with_python(seed: int, extra: list[str]) -> None:
    rng = random.Random(seed)
    good = [valid_credit_code(rng) for _ in range(20)]
    bodies = ["".join(rng.choice(uscc.CHARSET) for _ in range(17)) for _ in range(20)]  # digits 3-8 not all digits
    checked = [b + uscc.check_character(b) for b in bodies]
    values = good + checked + [m for g in good for m in mutations(g, uscc.CHARSET + "IOSVZ", rng)] + extra
    verdicts = assert_agree("credit_code", values)
    assert all(verdicts[:20])
    assert all(stdnum.cn.uscc.calc_check_digit(g[:17]) == g[17] for g in good)  # an independent check


@settings(max_examples=60, deadline=None)
@given(seed=seeds, extra=st.lists(junk, max_size=20))
def test_id_card_sql_agrees_with_python(seed: int, extra: list[str]) -> None:
    rng = random.Random(seed)
    good = [valid_id_card(rng) for _ in range(20)]
    bad_dates = [g[:10] + "0230" + g[14:17] for g in good[:5]] + [g[:10] + "1301" + g[14:17] for g in good[5:10]]
    bad_dates = [b + v.id_check_character(b) for b in bad_dates]  # right check digit, impossible birth date
    # right check digit on random bodies: the address and birth date checks decide
    bodies = ["".join(rng.choice("0123456789") for _ in range(17)) for _ in range(20)]
    bodies += [g[:6] + rng.choice(["18", "19", "20", "00", "99"]) + g[8:17] for g in good]
    checked = [b + v.id_check_character(b) for b in bodies]
    values = good + bad_dates + checked + [m for g in good for m in mutations(g, "0123456789X", rng)] + extra
    verdicts = assert_agree("id_card", values)
    assert all(verdicts[:20]) and not any(verdicts[20:30])
    assert all(stdnum.cn.ric.calc_check_digit(g) == g[17] for g in good)  # an independent check


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.one_of(st.from_regex(r"\A1[0-9]{10}\Z"), st.from_regex(r"\A[0-9]{10,12}\Z"), junk),
                       max_size=60))
def test_mobile_sql_agrees_with_python(values: list[str]) -> None:
    assert_agree("mobile", values)


@settings(max_examples=40, deadline=None)
@given(seed=seeds, values=st.lists(st.one_of(st.from_regex(r"\A[0-9]{6}\Z"), junk), max_size=60))
def test_admin_division_sql_agrees_with_python(seed: int, values: list[str]) -> None:
    rng = random.Random(seed)
    good = [valid_division(rng) for _ in range(20)]
    verdicts = assert_agree("admin_division", good + values)
    assert all(verdicts[:20])


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.one_of(
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z"), st.from_regex(r"\A[0-9]{4}/[0-9]{1,2}/[0-9]{2}\Z"),
    st.from_regex(r"\A[0-9]{8}\Z"), st.from_regex(r"\A[0-9]{4}年[0-9]{2}月[0-9]{2}日\Z"),
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}\Z"), st.dates().map(str), junk),
    max_size=60), formats=st.lists(st.sampled_from(FORMATS), min_size=1, max_size=3, unique=True))
def test_date_sql_agrees_with_python(values: list[str], formats: list[str]) -> None:
    assert_agree("date", values, formats)


def test_every_wrong_check_character_fails_in_both() -> None:
    rng = random.Random(5)
    for _ in range(40):
        code = valid_credit_code(rng)
        wrong = [code[:17] + c for c in uscc.CHARSET if c != code[17]]
        assert len(wrong) == 30
        assert not any(assert_agree("credit_code", wrong))
        card = valid_id_card(rng)
        wrong = [card[:17] + c for c in "0123456789X" if c != card[17]]
        assert len(wrong) == 10
        assert not any(assert_agree("id_card", wrong))


def with_id_check(body: str) -> str:
    return body + v.id_check_character(body)


@pytest.mark.parametrize(("name", "value", "ok"), [
    ("id_card", "11010519491231002X", True),    # the example of GB 11643
    ("id_card", "11010519491231002x", False),   # lower-case x is not the standard form
    ("id_card", "110105194912310021", False),   # wrong check digit
    ("id_card", "99010519491231002X", False),   # no province 99
    ("id_card", with_id_check("11010518991231002"), False),  # born before 1900
    ("id_card", with_id_check("11010519490230002"), False),  # 30 February
    ("id_card", with_id_check("11000119491231002"), False),  # prefecture 00 with a county
    ("credit_code", "91350100M000100Y43", True),
    ("credit_code", "91350100M000100Y44", False),
    ("credit_code", "91350100M00010OY43", False),  # O is not in the character set
    ("mobile", "13800138000", True), ("mobile", "12800138000", False), ("mobile", "1380013800", False),
    ("mobile", "+8613800138000", False),
    ("admin_division", "520102", True), ("admin_division", "520000", True), ("admin_division", "429004", True),
    ("admin_division", "520001", False), ("admin_division", "990101", False), ("admin_division", "52010", False),
    ("date", "2024-02-29", True), ("date", "2023-02-29", False), ("date", "2024-2-29", False),
    ("date", "0999-01-01", False),
])
def test_known_values(name: str, value: str, ok: bool) -> None:
    assert python_verdicts(name, [value]) == [ok]
    assert sql_verdicts(name, [value]) == [ok]


def test_province_list_is_the_34_provincial_codes() -> None:
    assert len(v.PROVINCE_CODES) == 34
    assert {"11", "52", "65", "71", "81", "82"} <= v.PROVINCE_CODES
    assert not {"00", "10", "20", "24", "39", "47", "55", "66", "72", "83", "99"} & v.PROVINCE_CODES

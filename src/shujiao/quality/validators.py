"""Built-in validators for Chinese formats (内置校验规则), each twice: a DuckDB SQL expression that runs
vectorized inside the profiling query, and a pure-Python function that says the same thing for one
value (used by the pages' rule editor and by the tests, which check the two agree).

Each SQL builder takes a SQL expression of type VARCHAR (never NULL where it is applied: the profiler
checks non-null values only) and returns a ValidatorSQL (helper columns + condition, what the
profiler runs) or one BOOLEAN expression that is never NULL (``validator_sql``). The checks are
strict about form: no surrounding spaces, no lower-case ``x``; a value that needs cleaning is not
format-compliant (格式合规), which is what the quality score measures.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from shujiao.members import credit_code as uscc

# --- SQL helpers -----------------------------------------------------------------------------------


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _weighted_sum(terms: list[str]) -> str:
    return "(" + " + ".join(terms) + ")"


def all_of(conditions: list[str]) -> str:
    return "(" + " AND ".join(f"({c})" for c in conditions) + ")"


@dataclass(frozen=True)
class ValidatorSQL:
    """A validator as SQL: helper ``columns`` (alias, expression) to compute in a projection below,
    and the BOOLEAN ``condition`` over them (NULL means false).

    Why helpers: the check digits need the 17 digits as one integer, used 17 times. DuckDB shares
    such a repeated subexpression when it stands in a projection of its own, but not inside the
    branches of AND or CASE, where it computes it 17 times over (measured: 3-5x slower)."""

    columns: tuple[tuple[str, str], ...]
    condition: str


# --- 统一社会信用代码 (GB 32100-2015) ------------------------------------------------------------------
# The character set, weights and check character come from shujiao.members.credit_code, which the
# member registration already uses: 18 characters of the 31-character set, registration authority
# code + organisation kind (2), the 6-digit administrative division of the registering authority,
# the 9-character organisation code, and a check character mod 31.

_USCC_CLASS = "[0-9A-HJ-NP-RTUW-Y]"  # CHARSET: digits and capitals without I, O, S, V, Z
assert re.fullmatch(_USCC_CLASS + "{31}", uscc.CHARSET)
_USCC_SHAPE = f"{_USCC_CLASS}{{2}}[0-9]{{6}}{_USCC_CLASS}{{10}}"


def _digits_weighted_sql(number: str, weights: tuple[int, ...]) -> str:
    """Σ digitᵢ·weightᵢ over the decimal digits of the integer expression ``number`` (most significant
    first, len(weights) digits): integer arithmetic, much faster in DuckDB than a substr per digit."""
    n = len(weights)
    return _weighted_sum([f"({number} // {10 ** (n - 1 - i)} % 10) * {w}" for i, w in enumerate(weights)])


def credit_check_character_sql(body: str, digits: str | None = None) -> str:
    """The check character of the 17 characters ``body`` as SQL (GB 32100: weighted sum mod 31).
    Characters 3-8 are digits (the division code) and are weighed as one integer, ``digits`` (by
    default computed here; see ValidatorSQL for why a caller computes it beforehand); the others
    are looked up in the character set one by one."""
    charset = quote_literal(uscc.CHARSET)
    letters = [f"(strpos({charset}, substr({body}, {i + 1}, 1)) - 1) * {w}"
               for i, w in enumerate(uscc.WEIGHTS) if not 2 <= i < 8]
    digits = digits or _credit_digits(body)
    total = _weighted_sum([*letters, _digits_weighted_sql(digits, uscc.WEIGHTS[2:8])])
    return f"substr({charset}, (31 - {total} % 31) % 31 + 1, 1)"


def _credit_digits(v: str) -> str:
    return f"TRY_CAST(substr({v}, 3, 6) AS INTEGER)"


def credit_code_check(v: str, alias: str) -> ValidatorSQL:
    return ValidatorSQL(((alias, _credit_digits(v)),), all_of([
        f"regexp_full_match({v}, '{_USCC_SHAPE}')",
        f"{credit_check_character_sql(v, quote_ident(alias))} = substr({v}, 18, 1)"]))


def is_credit_code(value: str) -> bool:
    return uscc.is_valid(value)


# --- 行政区划代码 (GB/T 2260) ---------------------------------------------------------------------------
# Checked: six ASCII digits; the first two are one of the 34 provincial-level codes (省级行政区,
# including 71 台湾, 81 香港, 82 澳门); the structure of the rest: 2-digit prefecture (地级, 00 = the
# province itself; 90 is used for 省直辖县级行政单位) and 2-digit county (县级), where a 00 prefecture
# must have a 00 county (a province has no county directly under "prefecture 00").
# NOT checked: that the prefecture or county code exists in the current edition of the list (codes are
# added and withdrawn every year; a dataset may rightly carry historical codes).

PROVINCE_CODES = frozenset({
    "11", "12", "13", "14", "15",              # 北京 天津 河北 山西 内蒙古
    "21", "22", "23",                          # 辽宁 吉林 黑龙江
    "31", "32", "33", "34", "35", "36", "37",  # 上海 江苏 浙江 安徽 福建 江西 山东
    "41", "42", "43", "44", "45", "46",        # 河南 湖北 湖南 广东 广西 海南
    "50", "51", "52", "53", "54",              # 重庆 四川 贵州 云南 西藏
    "61", "62", "63", "64", "65",              # 陕西 甘肃 青海 宁夏 新疆
    "71", "81", "82",                          # 台湾 香港 澳门
})
assert len(PROVINCE_CODES) == 34


# The same structure as one RE2 pattern: a province, then either 0000 or a prefecture other than 00
# with any county. One regexp_full_match per value is several times cheaper in DuckDB than the shape
# regex plus substr comparisons (an IN list of 34 codes even becomes a join; measured).
DIVISION_PATTERN = ("(?:" + "|".join(sorted(PROVINCE_CODES)) + ")"
                    "(?:0000|(?:0[1-9]|[1-9][0-9])[0-9]{2})")


def _division_ok(code: str) -> bool:
    return code[:2] in PROVINCE_CODES and (code[2:4] != "00" or code[4:6] == "00")


def admin_division_check(v: str, alias: str) -> ValidatorSQL:
    return ValidatorSQL((), f"regexp_full_match({v}, {quote_literal(DIVISION_PATTERN)})")


def is_admin_division(value: str) -> bool:
    return re.fullmatch("[0-9]{6}", value) is not None and _division_ok(value)


# --- 公民身份号码 (GB 11643-1999), 18 digits ---------------------------------------------------------------
# Checked: 17 digits + check character (0-9 or X), ISO 7064 MOD 11-2 check character; the birth date
# (digits 7-14) a real calendar date from 1900-01-01 on; the address code (digits 1-6) with the
# structure of an administrative division code above. Not checked: that the address code existed at
# the birth date, or that the birth date is not in the future (it depends on the day of the check).

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"  # check character by weighted sum mod 11
# Shape, address code structure and a birth year from 1900 (19xx or 2000-9999) in one pattern; the
# calendar check of the birth date and the check character follow.
ID_PATTERN = DIVISION_PATTERN + "(?:19[0-9]{2}|[2-9][0-9]{3})[0-9]{7}[0-9X]"


def id_check_character_sql(body: str, number: str | None = None) -> str:
    """The check character of the 17 digits ``body`` as SQL (ISO 7064 MOD 11-2); ``number`` is the
    17 digits as a BIGINT if the caller has computed it already."""
    total = _digits_weighted_sql(number or _id_number(body), ID_WEIGHTS)
    return f"substr('{ID_CHECK}', {total} % 11 + 1, 1)"


def _id_number(v: str) -> str:
    return f"TRY_CAST(substr({v}, 1, 17) AS BIGINT)"


def id_card_check(v: str, alias: str) -> ValidatorSQL:
    return ValidatorSQL(((alias, _id_number(v)),), all_of([
        f"regexp_full_match({v}, {quote_literal(ID_PATTERN)})",
        f"try_strptime(substr({v}, 7, 8), '%Y%m%d') IS NOT NULL",
        f"{id_check_character_sql(v, quote_ident(alias))} = substr({v}, 18, 1)"]))


def id_check_character(first17: str) -> str:
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def is_id_card(value: str) -> bool:
    if re.fullmatch("[0-9]{17}[0-9X]", value) is None or not _division_ok(value) or value[6:10] < "1900":
        return False
    try:
        dt.datetime.strptime(value[6:14], "%Y%m%d")
    except ValueError:
        return False
    return id_check_character(value[:17]) == value[17]


# --- 手机号码 -------------------------------------------------------------------------------------------
MOBILE_PATTERN = "1[3-9][0-9]{9}"


def mobile_check(v: str, alias: str) -> ValidatorSQL:
    return ValidatorSQL((), f"regexp_full_match({v}, '{MOBILE_PATTERN}')")


def is_mobile(value: str) -> bool:
    return re.fullmatch(MOBILE_PATTERN, value) is not None


# --- 日期 ----------------------------------------------------------------------------------------------
# Each accepted format with the exact shape it must have (zero-padded, years 1000-9999), checked
# before the calendar check, so DuckDB's strptime and Python's agree on every string.
DATE_FORMAT_PATTERNS: dict[str, str] = {
    "%Y-%m-%d": "[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}",
    "%Y/%m/%d": "[1-9][0-9]{3}/[0-9]{2}/[0-9]{2}",
    "%Y%m%d": "[1-9][0-9]{3}[0-9]{2}[0-9]{2}",
    "%Y.%m.%d": "[1-9][0-9]{3}\\.[0-9]{2}\\.[0-9]{2}",
    "%Y年%m月%d日": "[1-9][0-9]{3}年[0-9]{2}月[0-9]{2}日",
    "%Y-%m-%d %H:%M:%S": "[1-9][0-9]{3}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}",
    "%Y-%m-%dT%H:%M:%S": "[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}",
}


def date_value_sql(v: str, formats: list[str]) -> str:
    """The TIMESTAMP that ``v`` denotes in the first of ``formats`` it has the shape of, else NULL."""
    cases = " ".join(f"WHEN regexp_full_match({v}, {quote_literal(DATE_FORMAT_PATTERNS[f])}) "
                     f"THEN try_strptime({v}, {quote_literal(f)})" for f in formats)
    return f"(CASE {cases} ELSE NULL END)"


def date_sql(v: str, formats: list[str]) -> str:
    return f"({date_value_sql(v, formats)} IS NOT NULL)"


def parse_date(value: str, formats: list[str]) -> dt.datetime | None:
    for f in formats:
        if re.fullmatch(DATE_FORMAT_PATTERNS[f], value):
            try:
                return dt.datetime.strptime(value, f)
            except ValueError:
                return None
    return None


def is_date(value: str, formats: list[str]) -> bool:
    return parse_date(value, formats) is not None


# --- by name -----------------------------------------------------------------------------------------

def validator_check(name: str, v: str, *, date_formats: list[str], alias: str) -> ValidatorSQL:
    """The validator over the VARCHAR expression ``v``, its helper columns named from ``alias``."""
    if name == "date":
        return ValidatorSQL((), date_sql(v, date_formats))
    return {"credit_code": credit_code_check, "id_card": id_card_check, "mobile": mobile_check,
            "admin_division": admin_division_check}[name](v, alias)


def validator_sql(name: str, v: str, *, date_formats: list[str]) -> str:
    """The validator as one BOOLEAN expression (never NULL), helper columns written inline."""
    check = validator_check(name, v, date_formats=date_formats, alias="__helper")
    condition = check.condition
    for alias, expression in check.columns:
        condition = condition.replace(quote_ident(alias), f"({expression})")
    return f"coalesce({condition}, false)"


def python_validator(name: str, *, date_formats: list[str]) -> Callable[[str], bool]:
    if name == "date":
        return lambda value: is_date(value, date_formats)
    return {"credit_code": is_credit_code, "id_card": is_id_card, "mobile": is_mobile,
            "admin_division": is_admin_division}[name]

from __future__ import annotations

import pytest

from shujiao.members import credit_code


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000802100433B", "91520100MA6DX0012T"[:17] + credit_code.check_character("91520100MA6DX0012")])
def test_valid_codes(code):
    assert credit_code.is_valid(code)


@pytest.mark.parametrize("code,problem", [
    ("91350100M000100Y44", "check"),
    ("91350100M000100Y4", "length"),
    ("91350100M0001O0Y43", "charset"),  # the letter O is not used
    ("913501A0M000100Y43", "division"),
])
def test_invalid_codes_say_why(code, problem):
    assert credit_code.problem(code) == problem


def test_every_single_character_change_is_caught():
    good = "91350100M000100Y43"
    for position in range(18):
        for replacement in credit_code.CHARSET:
            if replacement == good[position]:
                continue
            changed = good[:position] + replacement + good[position + 1:]
            assert not credit_code.is_valid(changed), changed

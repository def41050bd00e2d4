"""Placeholder until the DP release lands: only the Measure the checker builds."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal


@dataclass(frozen=True)
class Measure:
    output: str
    kind: Literal["count", "sum", "avg"]
    count_column: str
    sum_column: str | None = None
    lower: Decimal | None = None
    upper: Decimal | None = None

"""The output policy (输出策略) a provider sets on a sandbox product: which columns a buyer's SQL
may group on or aggregate (the rest are never touched, like SCQL's column control list), the
minimum group size k, differential privacy with a per-buyer budget, and provider review.

Why "group" columns may also be filtered on and "aggregate" columns may not: in exact mode the
sandbox drops, before any query, the rows whose combination of group-column values occurs fewer
than k times. Every filter or grouping on group columns then selects a union of such cells, and so
does the difference of two such selections — a differencing (tracker) attack can at best isolate a
cell of at least k rows, never one row. A filter on an aggregate column (``amount > 999999``)
would select rows by value and break that, so aggregate columns appear only inside aggregates."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ColumnUse = Literal["group", "aggregate"]
EngineName = Literal["duckdb", "spark"]

USES: dict[str, tuple[str, str]] = {
    "group": ("可分组、可筛选", "may be grouped on and filtered on"),
    "aggregate": ("仅可聚合（求和、平均、计数）", "may only be aggregated (sum, average, count)"),
}


class ColumnRule(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=200)
    use: ColumnUse
    # Differential privacy clamps each value into [lower, upper] (its sensitivity); needed for an
    # aggregate column when the policy has a DP budget.
    lower: Decimal | None = Field(None, ge=Decimal(-(10**15)), le=Decimal(10**15), max_digits=24, decimal_places=8)
    upper: Decimal | None = Field(None, ge=Decimal(-(10**15)), le=Decimal(10**15), max_digits=24, decimal_places=8)

    @model_validator(mode="after")
    def _bounds(self) -> "ColumnRule":
        if (self.lower is None) != (self.upper is None):
            raise ValueError("give both lower and upper, or neither / 上下界须同时给出")
        if self.lower is not None and self.upper is not None and self.lower >= self.upper:
            raise ValueError("lower must be below upper / 下界须小于上界")
        return self


class DpPolicy(BaseModel):
    """Every result is released with calibrated noise (差分隐私); each query spends part of the
    buyer's ε for the current period of its contract, and a query that would overspend is refused."""

    model_config = ConfigDict(extra="forbid")
    epsilon_per_period: Decimal = Field(Decimal(1), gt=0, le=100, max_digits=12, decimal_places=6)
    period_days: int = Field(30, ge=1, le=366, strict=True)
    default_query_epsilon: Decimal = Field(Decimal("0.1"), gt=0, le=100, max_digits=12, decimal_places=6)
    # For choosing which groups exist (the groups themselves are private): (ε, δ)-DP.
    delta: Decimal = Field(Decimal("1e-7"), gt=0, lt=Decimal("0.001"))
    # The error bounds stated with each result hold with this probability.
    confidence: Decimal = Field(Decimal("0.95"), ge=Decimal("0.5"), lt=1)

    @model_validator(mode="after")
    def _default_fits(self) -> "DpPolicy":
        if self.default_query_epsilon > self.epsilon_per_period:
            raise ValueError("the default query ε exceeds the period's budget / 单次查询默认 ε 超过周期预算")
        return self


class SandboxPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_group_size: int = Field(10, ge=2, le=100_000, strict=True)  # k
    columns: list[ColumnRule] = Field(default_factory=list, max_length=500)
    # Row-level output of group columns (of the k-suppressed rows); never of aggregate columns.
    allow_row_level: bool = False
    # MIN/MAX return one row's value exactly; off unless the provider accepts that.
    allow_min_max: bool = False
    dp: DpPolicy | None = None
    review: bool = False  # each result waits for the provider's approval before release
    engine: EngineName = "duckdb"
    # Private set intersection on this column (e.g. hashed phone numbers); None: no PSI.
    psi_key_column: str | None = Field(None, min_length=1, max_length=200)
    psi_reveal: Literal["intersection", "size"] = "size"
    max_result_rows: int = Field(10_000, ge=1, le=1_000_000, strict=True)
    time_limit_seconds: int = Field(120, ge=1, le=3600, strict=True)

    @model_validator(mode="after")
    def _consistent(self) -> "SandboxPolicy":
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError("a column is listed twice / 列重复")
        if self.dp is not None:
            unbounded = [c.name for c in self.columns if c.use == "aggregate" and c.lower is None]
            if unbounded:
                raise ValueError(f"differential privacy needs lower/upper for {', '.join(unbounded)} / "
                                 "差分隐私须为聚合列给出上下界")
            if self.allow_row_level or self.allow_min_max:
                raise ValueError("row-level output and MIN/MAX cannot be differentially private / "
                                 "差分隐私模式不允许逐行输出或最值")
        if self.psi_key_column is not None and self.psi_key_column in names:
            raise ValueError("the PSI key column must not also be open to queries / 求交键列不能同时开放查询")
        return self

    def use_of(self, column: str) -> ColumnUse | None:
        for rule in self.columns:
            if rule.name == column:
                return rule.use
        return None

    def rule(self, column: str) -> ColumnRule | None:
        return next((c for c in self.columns if c.name == column), None)

    @property
    def group_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.use == "group"]

    @property
    def aggregate_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.use == "aggregate"]

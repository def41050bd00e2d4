"""The offer a provider makes with a product: a pricing plan and usage terms.

These models are the shared vocabulary of the delivery points (file download, API gateway, Delta
Sharing, the data sandbox); the ODRL rendering of them lives in :mod:`shujiao.usage.odrl`. Money is integer fen."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_FEN = 10**12

# The controlled list of purposes (用途) a contract may name; keys are stable identifiers.
PURPOSES: dict[str, tuple[str, str]] = {
    "research": ("科学研究", "scientific research"),
    "risk_control": ("风险控制", "risk control"),
    "credit_assessment": ("信用评估", "credit assessment"),
    "marketing": ("市场营销", "marketing"),
    "product_development": ("产品研发", "product development"),
    "model_training": ("模型训练", "AI model training"),
    "public_service": ("公共服务", "public service"),
    "internal_analysis": ("内部分析", "internal analysis"),
}
Purpose = Literal["research", "risk_control", "credit_assessment", "marketing", "product_development",
                  "model_training", "public_service", "internal_analysis"]
DeliveryMode = Literal["file", "api", "delta_sharing", "sandbox"]
PlanKind = Literal["one_off", "subscription", "per_call", "tiered"]


class Tier(BaseModel):
    """Calls up to ``up_to_calls`` in a period (cumulative; ``None`` = all further calls) cost
    ``price_per_1000_calls_fen`` per 1,000."""

    model_config = ConfigDict(extra="forbid")
    up_to_calls: int | None = Field(None, ge=1, strict=True)
    price_per_1000_calls_fen: int = Field(ge=0, le=MAX_FEN, strict=True)


class PricingPlan(BaseModel):
    """one_off: the product price, paid once at order. subscription: the product price per period,
    the first period paid at order. per_call / tiered: usage billed at each period end through the
    ledger (price per 1,000 calls, flat or by tier), with an optional quota per period."""

    model_config = ConfigDict(extra="forbid")
    kind: PlanKind = "one_off"
    period_days: int = Field(30, ge=1, le=366, strict=True)
    price_per_1000_calls_fen: int | None = Field(None, ge=0, le=MAX_FEN, strict=True)
    tiers: list[Tier] = Field(default_factory=list, max_length=10)
    quota_calls_per_period: int | None = Field(None, ge=1, le=10**12, strict=True)
    rate_limit_per_second: int | None = Field(None, ge=1, le=100_000, strict=True)

    @model_validator(mode="after")
    def _consistent(self) -> "PricingPlan":
        if self.kind == "per_call" and self.price_per_1000_calls_fen is None:
            raise ValueError("a per-call plan needs price_per_1000_calls_fen / 按次计费须给出每千次价格")
        if self.kind == "tiered":
            if not self.tiers or self.tiers[-1].up_to_calls is not None:
                raise ValueError("a tiered plan needs tiers, the last without up_to_calls / 阶梯计费须列出各档，最后一档不设上限")
            bounds = [t.up_to_calls for t in self.tiers[:-1]]
            if any(b is None for b in bounds) or bounds != sorted(set(bounds)):  # type: ignore[type-var]
                raise ValueError("tier bounds must increase / 阶梯上限须递增")
        return self

    @property
    def usage_billed(self) -> bool:
        return self.kind in ("per_call", "tiered")


class UsageTerms(BaseModel):
    """What the buyer may do (ODRL permissions, constraints and duties)."""

    model_config = ConfigDict(extra="forbid")
    delivery_modes: list[DeliveryMode] = Field(default_factory=lambda: ["file"], min_length=1)
    term_days: int | None = Field(365, ge=1, le=3660, strict=True)  # the dateTime window from payment
    max_downloads: int | None = Field(None, ge=1, le=1_000_000, strict=True)
    purposes: list[Purpose] = Field(default_factory=list)  # empty: any purpose on the controlled list
    allow_distribute: bool = False
    attribution: bool = True
    delete_after_expiry: bool = True


class Offer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan: PricingPlan = Field(default_factory=PricingPlan)
    terms: UsageTerms = Field(default_factory=UsageTerms)

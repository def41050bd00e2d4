"""The gateway's pure rules: periods, prices (tiers cumulative), claim sizes, billable calls."""

from __future__ import annotations

import datetime as dt

import pytest

from shujiao.gateway import core
from shujiao.usage.offer import PricingPlan, Tier

T0 = dt.datetime(2026, 1, 1, 8, tzinfo=dt.UTC)


def test_periods_run_back_to_back_from_the_start():
    assert core.period_of(T0, 30, T0) == (T0, T0 + dt.timedelta(days=30))
    assert core.period_of(T0, 30, T0 + dt.timedelta(days=30)) == (T0 + dt.timedelta(days=30), T0 + dt.timedelta(days=60))
    assert core.period_of(T0, 1, T0 + dt.timedelta(days=2, hours=3))[0] == T0 + dt.timedelta(days=2)
    assert core.period_of(T0, 30, T0 - dt.timedelta(seconds=1))[0] == T0  # clock skew: the first period


def test_per_call_price_is_exact_then_rounded_once():
    plan = PricingPlan(kind="per_call", price_per_1000_calls_fen=15)
    assert core.charge(plan, 0) == (0, [])
    assert core.charge(plan, 1)[0] == 0  # 0.015 fen
    assert core.charge(plan, 34)[0] == 1  # 0.51 fen rounds half up
    assert core.charge(plan, 1_000_000)[0] == 15_000


def test_tiers_are_cumulative():
    plan = PricingPlan(kind="tiered", tiers=[Tier(up_to_calls=1000, price_per_1000_calls_fen=1000),
                                             Tier(up_to_calls=10_000, price_per_1000_calls_fen=500),
                                             Tier(price_per_1000_calls_fen=100)])
    amount, lines = core.charge(plan, 25_000)
    # 1,000 at 10 fen/1000... 1,000 × 1000 + 9,000 × 500 + 15,000 × 100 = 1,000,000 + 4,500,000 + 1,500,000 millifen
    assert amount == 7_000
    assert [(line.from_call, line.to_call, line.calls) for line in lines] == [(1, 1000, 1000), (1001, 10_000, 9000),
                                                                              (10_001, None, 15_000)]
    assert core.charge(plan, 500)[0] == 500
    assert core.charge(PricingPlan(kind="subscription"), 10**6) == (0, [])


@pytest.mark.parametrize("status,forwarded,billed", [(200, True, True), (404, True, True), (500, True, False),
                                                     (502, False, False), (429, False, False)])
def test_which_calls_are_billed(status, forwarded, billed):
    assert core.billable(status, forwarded) is billed


def test_claims_never_pass_the_quota_and_share_its_end():
    assert core.claim_size(200, None, 10**9) == 200
    assert core.claim_size(200, 10_000, 0) == 200
    assert core.claim_size(200, 100, 0) == 25
    assert core.claim_size(200, 100, 99) == 1
    assert core.claim_size(200, 100, 100) == 0

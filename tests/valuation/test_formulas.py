"""Each method against a worked example computed by hand (the arithmetic is in the comments), to the
fen; no database."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from pydantic import ValidationError

from shujiao.valuation import formulas as f
from shujiao.valuation import report
from shujiao.valuation.schemas import ComparableInput, CostInputs, IncomeInputs, MarketInputs


def sensitivity_fen(built: dict) -> dict[tuple[str, str], int]:
    return {(row["input"], row["change_pct"]): row["value"]["fen"] for row in built["sensitivity"]}


# --- income method ----------------------------------------------------------------------------

def test_direct_income_three_years_at_ten_percent():
    # F = 100万/yr for 3 years, i = 10 %:
    #   1/1.1 = 0.909090…, 1/1.21 = 0.826446…, 1/1.331 = 0.751314…
    #   P = 1,000,000 × (1.21 + 1.1 + 1) / 1.331 = 3,310,000 / 1.331 = 2,486,851.990984… → ¥2,486,851.99
    built = report.income_report(IncomeInputs(income=["1000000"], discount_rate="0.10", remaining_life=3))
    assert built["value"]["fen"] == 248_685_199
    assert built["value"]["yuan"] == "2486851.99"
    years = built["intermediates"]["years"]
    assert [y["discount_factor"][:10] for y in years] == ["0.90909090", "0.82644628", "0.75131480"]
    assert [y["present_value"][:13] for y in years] == ["909090.909090", "826446.280991", "751314.800901"]
    assert built["value"]["exact"].startswith("2486851.990984222389")

    # Sensitivity, recomputed by hand:
    #   i = 8 %:  0.925926 + 0.857339 + 0.793832 = 2.577097 → ¥2,577,096.99
    #   i = 9 %:  0.917431 + 0.841680 + 0.772183 = 2.531295 → ¥2,531,294.67
    #   i = 11 %: 0.900901 + 0.811622 + 0.731191 = 2.443715 → ¥2,443,714.72
    #   i = 12 %: 0.892857 + 0.797194 + 0.711780 = 2.401831 → ¥2,401,831.27
    #   F × 0.8 = 1,989,481.5927… → ¥1,989,481.59; × 0.9 = 2,238,166.7918… → ¥2,238,166.79
    #   F × 1.1 = 2,735,537.1900… → ¥2,735,537.19; × 1.2 = 2,984,222.3891… → ¥2,984,222.39
    assert sensitivity_fen(built) == {
        ("discount_rate", "-20%"): 257_709_699, ("discount_rate", "-10%"): 253_129_467,
        ("discount_rate", "+10%"): 244_371_472, ("discount_rate", "+20%"): 240_183_127,
        ("income", "-20%"): 198_948_159, ("income", "-10%"): 223_816_679,
        ("income", "+10%"): 273_553_719, ("income", "+20%"): 298_422_239,
    }
    assert built["sensitivity"][0]["difference_fen"] == 257_709_699 - 248_685_199


def test_share_of_income():
    # R = 500万/yr, share rate K = 20 % → F = 1,000,000; n = 2, i = 10 %:
    #   P = 1,000,000 × (1/1.1 + 1/1.21) = 1,000,000 × 2.1 / 1.21 = 1,735,537.190082… → ¥1,735,537.19
    built = report.income_report(IncomeInputs(variant="share", income=["5000000"], share_rate="0.2",
                                              discount_rate="0.1", remaining_life=2))
    assert built["value"]["fen"] == 173_553_719
    assert [y["attributable"] for y in built["intermediates"]["years"]] == ["1000000", "1000000"]
    assert built["intermediates"]["years"][0]["deduction"] == "4000000"


def test_multi_period_excess_earnings():
    # R_1 = 3,000,000, R_2 = 3,300,000; contributory charges: working capital 200,000 / 220,000,
    # fixed assets 500,000 / 550,000, workforce 300,000 / 330,000 → Σ C = 1,000,000 / 1,100,000.
    #   F_1 = 2,000,000, F_2 = 2,200,000; i = 10 %:
    #   2,000,000 / 1.1 = 1,818,181.8181…; 2,200,000 / 1.21 = 1,818,181.8181…
    #   P = 3,636,363.6363… → ¥3,636,363.64
    built = report.income_report(IncomeInputs(
        variant="excess", income=["3000000", "3300000"], discount_rate="0.1", remaining_life=2,
        contributory_charges={"营运资金": ["200000", "220000"], "固定资产": ["500000", "550000"],
                              "人力资源": ["300000", "330000"]}))
    assert built["value"]["fen"] == 363_636_364
    assert [y["deduction"] for y in built["intermediates"]["years"]] == ["1000000", "1100000"]


def test_incremental_income_with_the_last_year_repeated_to_the_end_of_life():
    # With the data 800,000 then 900,000; without it 500,000 then 550,000 → F = 300,000, 350,000;
    # the remaining life is 4 years, so years 3 and 4 repeat year 2 (F = 350,000). i = 8 %:
    #   300,000 / 1.08     = 277,777.7778
    #   350,000 / 1.1664   = 300,068.5871
    #   350,000 / 1.259712 = 277,841.2844
    #   350,000 / 1.36049  = 257,260.4485
    #   P = 1,112,948.0977… → ¥1,112,948.10
    built = report.income_report(IncomeInputs(
        variant="incremental", income=["800000", "900000"], income_without=["500000", "550000"],
        discount_rate="0.08", remaining_life=4))
    assert built["value"]["fen"] == 111_294_810
    assert [y["attributable"] for y in built["intermediates"]["years"]] == ["300000", "350000", "350000", "350000"]


def test_mid_year_convention():
    # i = 21 % so that (1 + i)^½ = 1.1: F = 1,000,000 for 2 years, discounted at t − ½:
    #   1/1.1 + 1/1.1³ = 0.909090… + 0.751314… = 1.660405709992… → ¥1,660,405.71
    built = report.income_report(IncomeInputs(income=["1000000"], discount_rate="0.21", remaining_life=2,
                                              mid_year=True))
    assert built["value"]["fen"] == 166_040_571


@pytest.mark.parametrize("inputs", [
    {"variant": "share", "income": ["1"], "discount_rate": "0.1", "remaining_life": 1},  # no share rate
    {"income": ["1"], "share_rate": "0.2", "discount_rate": "0.1", "remaining_life": 1},  # share rate on direct
    {"income": ["1", "2", "3"], "discount_rate": "0.1", "remaining_life": 2},  # forecast longer than life
    {"income": ["1"], "discount_rate": "0", "remaining_life": 1},
    {"income": ["1"], "discount_rate": "0.1", "remaining_life": 0},
    {"income": ["1"], "discount_rate": "NaN", "remaining_life": 1},
    {"income": ["1.0000001"], "discount_rate": "0.1", "remaining_life": 1},  # more than 6 decimals of a yuan
    {"variant": "excess", "income": ["1"], "discount_rate": "0.1", "remaining_life": 1, "contributory_charges": {}},
])
def test_income_inputs_that_do_not_make_sense_are_refused(inputs):
    with pytest.raises(ValidationError):
        IncomeInputs(**inputs)


# --- cost method ------------------------------------------------------------------------------

COSTS = {"planning": "20000", "collection": "100000", "storage": "30000", "cleaning": "40000",
         "labelling": "60000", "integration": "20000", "security": "15000", "indirect": "10000",
         "opportunity": "5000"}


def test_cost_method_with_quality_depreciation_and_scenario_factor():
    # Σ C = 20,000 + 100,000 + 30,000 + 40,000 + 60,000 + 20,000 + 15,000 + 10,000 + 5,000 = 300,000
    # profit 10 % = 30,000; taxes 19,800 → TC = 349,800
    # k = (1 − 0.10) × 85/100 × 1.05 = 0.9 × 0.85 × 1.05 = 0.80325
    # P = 349,800 × 0.80325 = 279,840 + 1,136.85 = ¥280,976.85
    inputs = CostInputs(costs=COSTS, taxes="19800", profit_rate="0.10", depreciation_rate="0.10",
                        quality_score="85", other_factors={"应用场景": "1.05"})
    built = report.cost_report(inputs, quality_score=inputs.quality_score)
    middle = built["intermediates"]
    assert (middle["cost_before_profit"], middle["profit"], middle["replacement_cost"]) == ("300000", "30000", "349800")
    assert middle["adjustment_factor"] == "0.80325"
    assert built["value"]["fen"] == 28_097_685
    # k or TC × 0.8 = 224,781.48; × 0.9 = 252,879.165 → ¥252,879.17 (half up);
    # × 1.1 = 309,074.535 → ¥309,074.54; × 1.2 = 337,172.22
    expected = {"-20%": 22_478_148, "-10%": 25_287_917, "+10%": 30_907_454, "+20%": 33_717_222}
    assert sensitivity_fen(built) == {**{("adjustment_factor", k): v for k, v in expected.items()},
                                      **{("replacement_cost", k): v for k, v in expected.items()}}


def test_cost_method_needs_an_adjustment():
    with pytest.raises(ValidationError):
        CostInputs(costs={"collection": "1"})
    with pytest.raises(ValidationError):
        CostInputs(costs={"collection": "1"}, quality_score="80", quality_report_id=3)
    with pytest.raises(ValidationError):
        CostInputs(costs={"bribes": "1"}, quality_score="80")
    with pytest.raises(ValidationError):
        CostInputs(costs={"collection": "-1"}, quality_score="80")


def test_taxes_are_not_marked_up():
    # TC = 1,000 × (1 + 0.5) + 100 = 1,600; k = 0.5 → ¥800.00
    result = f.cost_value({"collection": D("1000")}, taxes=D("100"), profit_rate=D("0.5"), quality_score=D("50"))
    assert (result.replacement_cost, result.value) == (D("1600"), D("800.0"))


# --- market method ----------------------------------------------------------------------------

def test_market_method_mean_of_adjusted_outside_comparables():
    # A: 1,000 × q (90/80 = 1.125) × 1.1 × 0.95 × 1.2 = 1,000 × 1.41075 = 1,410.75
    # B: 1,500 × 0.9 × 1.0 × 1.0 × 0.8 × 1.05 = 1,500 × 0.756 = 1,134.00
    # P = (1,410.75 + 1,134.00) / 2 = 1,272.375 → ¥1,272.38 (half up)
    inputs = MarketInputs(quality_score="90", comparables=[
        ComparableInput(reference="案例A", price="1000", quality_score="80", supply_demand_factor="1.1",
                        date_factor="0.95", volume_factor="1.2"),
        ComparableInput(reference="案例B", price="1500", quality_factor="0.9", volume_factor="0.8",
                        other_factor="1.05"),
    ])
    built = report.market_report(inputs, quality_score=inputs.quality_score, trades={})
    rows = built["intermediates"]["comparables"]
    assert [(r["quality"], r["combined_factor"], r["adjusted_price"]) for r in rows] == [
        ("1.125", "1.41075", "1410.75"), ("0.9", "0.756", "1134")]
    assert built["value"]["fen"] == 127_238
    # Quality factors × 0.8: (1,128.60 + 907.20) / 2 = 1,017.90; × 0.9: 1,145.1375 → 1,145.14;
    # × 1.1: 1,399.6125 → 1,399.61; × 1.2: 1,526.85. The mean is linear in each factor, so the
    # supply-demand factor moves it the same way.
    expected = {"-20%": 101_790, "-10%": 114_514, "+10%": 139_961, "+20%": 152_685}
    assert sensitivity_fen(built) == {**{("quality", k): v for k, v in expected.items()},
                                      **{("supply_demand", k): v for k, v in expected.items()}}


def test_market_mean_keeps_the_division_exact_until_the_end():
    # (100 + 100 + 101) / 3 = 100.3333… → ¥100.33
    result = f.market_value([f.Comparable("a", D(100)), f.Comparable("b", D(100)), f.Comparable("c", D(101))])
    assert f.to_fen(result.value) == 10_033


def test_market_inputs_are_checked():
    with pytest.raises(ValidationError):  # neither an order nor a price
        ComparableInput(reference="x")
    with pytest.raises(ValidationError):  # both
        ComparableInput(order_id=1, price="1")
    with pytest.raises(ValidationError):  # an outside price without its source
        ComparableInput(price="1")
    with pytest.raises(ValidationError):  # a comparable's score without the subject's
        MarketInputs(comparables=[ComparableInput(reference="x", price="1", quality_score="80")])
    with pytest.raises(ValidationError):  # the same order twice
        MarketInputs(comparables=[ComparableInput(order_id=1), ComparableInput(order_id=1)])
    with pytest.raises(ValidationError):
        MarketInputs(comparables=[])


def test_rounding_is_half_up_to_the_fen():
    assert f.to_fen(D("0.005")) == 1
    assert f.to_fen(D("0.0049999")) == 0
    assert f.to_fen(D("-0.005")) == -1

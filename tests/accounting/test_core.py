"""The accounting arithmetic without a database: amortization to the fen and tables that add up."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings, strategies as st

from shujiao.accounting import core
from shujiao.accounting.core import Asset, Event, Month

D = dt.date


def test_straight_line_puts_the_remainder_on_the_last_month_and_starts_in_the_ready_month():
    asset = Asset(1, "intangible", "purchased", 3, D(2026, 1, 20), (Event(D(2026, 1, 5), "cost", 100_01),))
    schedule = core.amortization_schedule(asset)
    assert [(line.month, line.amount_fen) for line in schedule] == [
        (Month(2026, 1), 33_33), (Month(2026, 2), 33_33), (Month(2026, 3), 33_35)]
    assert schedule[-1].accumulated_fen == 100_01 and schedule[-1].carrying_fen == 0


def test_an_impairment_lowers_the_following_months_and_the_total_still_equals_cost():
    asset = Asset(1, "intangible", "purchased", 10, D(2026, 1, 1), (
        Event(D(2026, 1, 1), "cost", 1000_00), Event(D(2026, 3, 31), "impairment", 200_00)))
    schedule = core.amortization_schedule(asset)
    assert [line.amount_fen for line in schedule[:3]] == [100_00] * 3
    # 1000 − 300 amortized − 200 impaired = 500 over the 7 months left.
    assert [line.amount_fen for line in schedule[3:]] == [71_42] * 6 + [71_48]
    assert sum(line.amount_fen for line in schedule) + 200_00 == 1000_00


def test_no_amortization_in_the_month_of_disposal_and_the_disposal_clears_every_balance():
    asset = Asset(1, "intangible", "purchased", 12, D(2026, 1, 1), (
        Event(D(2026, 1, 1), "cost", 1200_00), Event(D(2026, 4, 15), "disposal", detail="disposal")))
    assert [line.month.month for line in core.amortization_schedule(asset)] == [1, 2, 3]
    table = core.disclosure_table([asset], "intangible", D(2026, 1, 1), D(2026, 12, 31))
    assert table.problems() == []
    assert table.section("cost").decreases["disposed"]["purchased"] == 1200_00
    assert table.section("amortization").decreases["disposed"]["purchased"] == 300_00
    assert table.carrying_closing["total"] == 0


def test_development_spending_waits_in_development_in_progress_until_ready_for_use():
    events = (Event(D(2026, 1, 10), "research", 50_00), Event(D(2026, 3, 10), "development", 240_00))
    developing = Asset(1, "intangible", "self_developed", 24, None, events)
    assert core.development_in_progress_fen(developing, D(2026, 12, 31)) == 240_00
    assert core.disclosure_table([developing], "intangible", D(2026, 1, 1), D(2026, 12, 31)).section(
        "cost").closing["total"] == 0
    ready = Asset(1, "intangible", "self_developed", 24, D(2026, 5, 1), events)
    table = core.disclosure_table([ready], "intangible", D(2026, 1, 1), D(2026, 12, 31))
    assert table.section("cost").increases["internal_rd"]["self_developed"] == 240_00
    assert table.section("amortization").closing["self_developed"] == 8 * 10_00
    summary = core.rnd_summary([ready], D(2026, 1, 1), D(2026, 12, 31))
    assert (summary.expensed_fen, summary.capitalised_fen, summary.in_progress_fen) == (50_00, 240_00, 0)


def test_inventory_sale_moves_cost_out_and_releases_its_write_down():
    asset = Asset(1, "inventory", "purchased", None, None, (
        Event(D(2026, 1, 1), "cost", 1000_00), Event(D(2026, 2, 1), "impairment", 100_00),
        Event(D(2026, 3, 1), "sale", 400_00)))
    table = core.disclosure_table([asset], "inventory", D(2026, 1, 1), D(2026, 12, 31))
    assert table.problems() == []
    assert table.section("cost").closing["purchased"] == 600_00
    assert table.section("impairment").decreases["written_off"]["purchased"] == 40_00
    assert table.carrying_closing["total"] == 540_00


def test_impossible_entries_are_named():
    over = Asset(1, "intangible", "purchased", 12, D(2026, 1, 1), (
        Event(D(2026, 1, 1), "cost", 100_00), Event(D(2026, 2, 1), "impairment", 200_00)))
    assert core.problems(over)
    reversed_intangible = Asset(1, "intangible", "purchased", 12, D(2026, 1, 1), (
        Event(D(2026, 1, 1), "cost", 100_00), Event(D(2026, 2, 1), "impairment", 10_00),
        Event(D(2026, 3, 1), "impairment_reversal", 10_00)))
    assert core.problems(reversed_intangible)
    after_disposal = Asset(1, "intangible", "purchased", 12, D(2026, 1, 1), (
        Event(D(2026, 1, 1), "cost", 100_00), Event(D(2026, 2, 1), "disposal", detail="expired"),
        Event(D(2026, 3, 1), "cost", 10_00)))
    assert core.problems(after_disposal)
    reversed_below_amortized = Asset(1, "intangible", "purchased", 12, D(2026, 1, 1), (
        Event(D(2026, 1, 1), "cost", 1200_00), Event(D(2026, 6, 1), "cost", -1000_00)))
    assert ("冲销后的成本低于已摊销金额", "after the reversal the cost is below what was already amortized") in \
        core.problems(reversed_below_amortized)
    reversed_within = Asset(1, "intangible", "purchased", 12, D(2026, 1, 1), (
        Event(D(2026, 1, 1), "cost", 1200_00), Event(D(2026, 6, 1), "cost", -600_00)))
    assert core.problems(reversed_within) == []
    schedule = core.amortization_schedule(reversed_within)
    assert sum(line.amount_fen for line in schedule) == 600_00 and schedule[4].accumulated_fen == 500_00


# --- properties -------------------------------------------------------------------------------

START = D(2024, 1, 1)
days = st.integers(min_value=0, max_value=3 * 366).map(lambda n: START + dt.timedelta(days=n))
amounts = st.integers(min_value=1, max_value=10**9)


@st.composite
def assets(draw: st.DrawFn, asset_id: int = 1) -> Asset:
    classification = draw(st.sampled_from(["intangible", "inventory"]))
    acquisition = draw(st.sampled_from(core.ACQUISITIONS))
    life = draw(st.one_of(st.none(), st.integers(1, 60))) if classification == "intangible" else None
    ready = draw(st.one_of(st.none(), days)) if classification == "intangible" else None
    events = [Event(draw(days), "cost", draw(amounts), "purchase_price") for _ in range(draw(st.integers(1, 4)))]
    if classification == "intangible":
        events += [Event(draw(days), draw(st.sampled_from(["research", "development"])), draw(amounts))
                    for _ in range(draw(st.integers(0, 3)))]
    if life and ready:  # costs within the life, as the service requires
        last = Month.at(Month.of(ready).index + life - 1).last_day
        events = [e if e.on <= last else Event(ready, e.type, e.amount_fen, e.detail) for e in events]
    candidate = Asset(asset_id, classification, acquisition, life, ready, tuple(events))
    # Impairments, sales and a disposal only where the service would accept them.
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["impairment", "sale", "impairment_reversal"] if classification == "inventory"
                                    else ["impairment"]))
        day = draw(days)
        left = core.carrying_fen(candidate, day)
        if left <= 0:
            continue
        trial = Asset(asset_id, classification, acquisition, life, ready,
                      (*candidate.events, Event(day, kind, draw(st.integers(1, left)))))
        if not core.problems(trial):
            candidate = trial
    # Reversing entries (红字冲销) of a cost, kept only where the service would accept them.
    for _ in range(draw(st.integers(0, 2))):
        costs = [e for e in candidate.events if e.type == "cost" and e.amount_fen > 0]
        original = draw(st.sampled_from(costs))
        trial = Asset(asset_id, classification, acquisition, life, ready,
                      (*candidate.events, Event(draw(days), "cost", -original.amount_fen, original.detail)))
        if not core.problems(trial):
            candidate = trial
    if draw(st.booleans()):
        trial = Asset(asset_id, classification, acquisition, life, ready,
                      (*candidate.events, Event(draw(days), "disposal",
                                                detail=draw(st.sampled_from(core.DISPOSAL_REASONS)))))
        if not core.problems(trial):
            candidate = trial
    return candidate


books = st.lists(st.integers(1, 10**6), min_size=1, max_size=5, unique=True).flatmap(
    lambda ids: st.tuples(*(assets(i) for i in ids)))
periods = st.tuples(days, days).map(sorted)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(books, periods)
def test_every_table_reconciles_for_any_books_and_any_period(book, period):
    start, end = period
    result = core.disclosure(list(book), start, end)
    for table in (result.intangible, result.inventory):
        assert table.problems() == []
        # The closing figures agree with each asset's own balances, computed independently of the table.
        expected = sum(core.carrying_fen(a, end) for a in book if a.classification == table.classification)
        assert table.carrying_closing["total"] == expected
        assert all(value >= 0 for section in table.sections for value in section.closing.values())
    for asset in book:
        assert all(line.amount_fen >= 0 for line in core.amortization_schedule(asset))


@settings(max_examples=200, deadline=None)
@given(amounts, st.integers(1, 240), days)
def test_amortization_adds_up_to_cost_exactly(cost, life, ready):
    asset = Asset(1, "intangible", "purchased", life, ready, (Event(ready, "cost", cost),))
    schedule = core.amortization_schedule(asset)
    assert len(schedule) == life
    assert sum(line.amount_fen for line in schedule) == cost
    assert len({line.amount_fen for line in schedule[:-1]}) <= 1  # straight line until the last month
    assert schedule[-1].amount_fen >= schedule[0].amount_fen


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(assets())
def test_after_the_life_the_asset_is_fully_amortized_or_impaired(asset):
    if asset.classification != "intangible" or not asset.useful_life_months or not asset.ready_for_use_on:
        return
    after = Month.at(Month.of(asset.ready_for_use_on).index + asset.useful_life_months).last_day
    if core.derecognized_on(asset) is None:
        assert core.carrying_fen(asset, after) == 0

"""The DP release, measured: stated error bounds hold at the stated confidence (and are not loose),
groups under the threshold are withheld, the ε passed is what the noise reflects, and a
differencing attack on one row fails. Pure: the engine's per-group table is built by hand."""

from __future__ import annotations

import math
import time
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from shujiao.sandbox import dp

LOWER, UPPER = Decimal(0), Decimal(1000)
DELTA = Decimal("1e-7")


def engine_table(sizes: list[int], *, seed: int = 7) -> pa.Table:
    """What the rewritten query returns: per district COUNT(*), the clamped SUM(amount) and
    COUNT(amount) (a few nulls per group)."""
    rng = np.random.default_rng(seed)
    n = np.array(sizes, dtype=np.int64)
    non_null = n - rng.integers(0, 4, len(n)).clip(max=n)
    sums = np.array([rng.uniform(0, 1000, c).sum() for c in non_null])
    return pa.table({"district": [f"区{i:02d}" for i in range(len(n))], "__n": n, "__s0": sums, "__c0": non_null})


MEASURES = [
    dp.Measure("n", "count", "__n"),
    dp.Measure("total_amount", "sum", "__c0", "__s0", LOWER, UPPER),
    dp.Measure("avg_amount", "avg", "__c0", "__s0", LOWER, UPPER),
]


def tolerance(p: float, trials: int) -> float:
    """Four binomial standard errors of an observed frequency: a correct release fails a one-sided
    check about 3 times in 100,000 runs, while a bound off by 10 % of its scale is caught."""
    return 4 * math.sqrt(p * (1 - p) / trials)


@pytest.mark.parametrize("confidence", [Decimal("0.9"), Decimal("0.95")])
def test_error_bounds_hold_at_the_stated_confidence_and_are_tight(confidence: Decimal) -> None:
    # 20 large groups (far above the threshold, so selection does not bias their noise) and 300
    # releases: 8,000 independent draws per measure. ε = 0.15 over three noisy columns makes the
    # count's discrete Laplace scale 20, where its lattice barely moves the coverage.
    raw = engine_table(list(range(3000, 5000, 100)))
    truth = {"n": raw["__n"].to_numpy(), "total_amount": raw["__s0"].to_numpy(),
             "avg_amount": raw["__s0"].to_numpy() / raw["__c0"].to_numpy()}
    releases = 400
    covered = {name: 0 for name in truth}
    draws = 0
    for _ in range(releases):
        result = dp.release(raw, group_columns=["district"], measures=MEASURES, epsilon=Decimal("0.15"),
                            delta=DELTA, confidence=confidence, min_group_size=10)
        assert result.released_groups == raw.num_rows and result.dropped_groups == 0
        assert result.table["district"].to_pylist() == raw["district"].to_pylist()
        draws += result.released_groups
        for name in ("n", "total_amount"):
            error = np.abs(result.table[name].to_numpy() - truth[name])
            covered[name] += int((error <= result.error_bounds[name]).sum())
        error = np.abs(result.table["avg_amount"].to_numpy() - truth["avg_amount"])
        covered["avg_amount"] += int((error <= result.table["avg_amount__error"].to_numpy()).sum())
    assert set(result.error_bounds) == {"n", "total_amount"}  # avg: per-group column instead

    target = float(confidence)
    alpha = 1 - target
    slack = tolerance(target, draws)
    coverage = {name: hits / draws for name, hits in covered.items()}
    for name, observed in coverage.items():
        assert observed >= target - slack, (name, observed, target, slack)
    # Tight, not merely safe: the sum's Laplace bound is exact; the count's integer bound can cover
    # up to α·(1 − e^(−1/scale)) more (one lattice point), scale = 1 / (ε/3).
    count_scale = 3 / 0.15
    assert coverage["total_amount"] <= target + slack, coverage
    assert coverage["n"] <= 1 - alpha * math.exp(-1 / count_scale) + slack, coverage
    # The average's bound is a conservative union bound: safe, and useful (well below [0, 1000]).
    assert float(np.median(result.table["avg_amount__error"].to_numpy())) < 50


def test_groups_below_the_threshold_are_dropped_and_counted() -> None:
    # ε = 1 on COUNT(*) alone: scale 1, so δ = 1e-7 needs a threshold of ~17; groups of 1–5 rows
    # would need noise of 12+ (probability ~e^-12 each) to pass.
    raw = engine_table([1, 4000, 2, 5, 2500, 3, 900])
    result = dp.release(raw, group_columns=["district"], measures=MEASURES[:1], epsilon=Decimal(1), delta=DELTA,
                        confidence=Decimal("0.95"), min_group_size=10)
    assert result.table["district"].to_pylist() == ["区01", "区04", "区06"]
    assert result.released_groups == 3 and result.dropped_groups == 4
    assert result.delta == DELTA


def test_min_group_size_is_a_floor_for_the_threshold() -> None:
    # A large ε would allow a threshold of ~2; min_group_size = 100 still withholds a group of 60.
    raw = engine_table([60, 200, 99, 101])
    result = dp.release(raw, group_columns=["district"], measures=MEASURES[:1], epsilon=Decimal(50), delta=DELTA,
                        confidence=Decimal("0.95"), min_group_size=100)
    assert result.table["district"].to_pylist() == ["区01", "区03"]
    assert result.dropped_groups == 2
    assert result.table["n"].type == pa.int64()


def test_released_groups_come_in_key_order_not_the_engines() -> None:
    # The engine's order could follow ORDER BY SUM(amount) DESC: passing it on would rank the
    # exact sums.
    raw = engine_table([3000, 1000, 2000]).take(pa.array([0, 2, 1]))
    raw = raw.set_column(0, "district", pa.array(["c", "a", "b"]))
    result = dp.release(raw, group_columns=["district"], measures=MEASURES, epsilon=Decimal(5), delta=DELTA,
                        confidence=Decimal("0.9"), min_group_size=10)
    assert result.table["district"].to_pylist() == ["a", "b", "c"]
    assert result.table["n"].to_pylist() == pytest.approx([2000, 1000, 3000], abs=30)


def test_a_global_aggregate_is_always_released_without_delta() -> None:
    raw = pa.table({"__n": [3], "__s0": [1200.0], "__c0": [2]})
    for _ in range(50):
        result = dp.release(raw, group_columns=[], measures=MEASURES, epsilon=Decimal(1), delta=DELTA,
                            confidence=Decimal("0.9"), min_group_size=10)
        assert result.released_groups == 1 and result.dropped_groups == 0
        assert result.delta == 0 and result.epsilon == Decimal(1)
        assert result.table["n"][0].as_py() >= 0
        assert 0 <= result.table["avg_amount"][0].as_py() <= 1000
        assert result.table.column_names == ["n", "total_amount", "avg_amount", "avg_amount__error"]
        assert result.table["total_amount"].type == pa.float64()


def test_the_noise_spends_the_epsilon_passed_split_evenly() -> None:
    """Release.epsilon is the ε passed, and the noise is what that ε buys: the mean absolute error
    of a Laplace draw is its scale, here len(shares)·Δ/ε (too little noise would mean overspending,
    too much a wasted budget)."""
    epsilon = Decimal("0.6")
    raw = engine_table(list(range(2000, 4000, 100)))
    shares = dp.budget_shares(grouped=True, measures=MEASURES)
    assert shares == ("__n", "__s0", "__c0")
    count_errors, sum_errors = [], []
    for _ in range(300):
        result = dp.release(raw, group_columns=["district"], measures=MEASURES, epsilon=epsilon, delta=DELTA,
                            confidence=Decimal("0.9"), min_group_size=10)
        assert result.epsilon == epsilon and result.delta == DELTA
        count_errors.append(result.table["n"].to_numpy() - raw["__n"].to_numpy())
        sum_errors.append(result.table["total_amount"].to_numpy() - raw["__s0"].to_numpy())
    share = float(epsilon) / len(shares)
    count_scale, sum_scale = 1 / share, float(UPPER) / share
    # Discrete Laplace with scale s: E|X| = 2e^(-1/s) / (1 - e^(-2/s)) (≈ s).
    expected_count_error = 2 * math.exp(-1 / count_scale) / (1 - math.exp(-2 / count_scale))
    # |X| is (near) exponential, its standard deviation ≈ its mean; X's is √2·scale. Four standard
    # errors of 6,000 draws are ~5 % of the scale: a share of ε/2 instead of ε/3 (scale −33 %) or
    # a 10 % overspend fails.
    draws = np.size(sum_errors)
    assert np.mean(np.abs(count_errors)) == pytest.approx(expected_count_error, rel=4 / math.sqrt(draws))
    assert np.mean(np.abs(sum_errors)) == pytest.approx(sum_scale, rel=4 / math.sqrt(draws))
    assert np.mean(sum_errors) == pytest.approx(0, abs=4 * math.sqrt(2) * sum_scale / math.sqrt(draws))  # unbiased


def test_a_differencing_attack_does_not_recover_one_row() -> None:
    """Tracker attack: SUM(amount) over all rows, and over all rows but the target's (a filter on a
    group column that the target alone fails). The exact difference would be the target's amount;
    the noisy difference is that plus two independent Laplace(Δ/ε) draws."""
    epsilon = Decimal(1)
    target_amount = 800.0
    rest = 1_234_567.0
    with_target = pa.table({"__n": [1501], "__s0": [rest + target_amount], "__c0": [1501]})
    without_target = pa.table({"__n": [1500], "__s0": [rest], "__c0": [1500]})
    measure = [dp.Measure("total", "sum", "__c0", "__s0", LOWER, UPPER)]
    trials = 500
    close = 0
    for _ in range(trials):
        answers = [dp.release(table, group_columns=[], measures=measure, epsilon=epsilon, delta=DELTA,
                              confidence=Decimal("0.9"), min_group_size=10).table["total"][0].as_py()
                   for table in (with_target, without_target)]
        estimate = answers[0] - answers[1]
        close += abs(estimate - target_amount) <= 0.1 * target_amount
    # D = X1 − X2 with X ~ Laplace(b): P(|D| ≤ t) = 1 − e^(−t/b)·(1 + t/(2b)); here ≈ 4%.
    b = float(UPPER) / float(epsilon)
    t = 0.1 * target_amount
    p_close = 1 - math.exp(-t / b) * (1 + t / (2 * b))
    assert p_close < 0.05
    assert close / trials <= p_close + tolerance(p_close, trials), (close, p_close)


def test_release_is_vectorised() -> None:
    # One OpenDP call per quantity, not per value: 1,000 groups in well under a second (a
    # per-value loop of OpenDP measurements takes several).
    raw = engine_table([500 + i for i in range(1000)])
    dp.release(raw, group_columns=["district"], measures=MEASURES, epsilon=Decimal(1), delta=DELTA,
               confidence=Decimal("0.95"), min_group_size=10)
    started = time.perf_counter()
    result = dp.release(raw, group_columns=["district"], measures=MEASURES, epsilon=Decimal(1), delta=DELTA,
                        confidence=Decimal("0.95"), min_group_size=10)
    assert time.perf_counter() - started < 0.5
    assert result.released_groups == 1000


@pytest.mark.parametrize(("change", "message"), [
    ({"epsilon": Decimal(0)}, "epsilon must be positive"),
    ({"epsilon": Decimal(-1)}, "epsilon must be positive"),
    ({"delta": Decimal(0)}, "needs 0 < delta < 1"),
    ({"confidence": Decimal(1)}, "confidence"),
    ({"group_columns": ["city"]}, "no column city"),
    ({"measures": [dp.Measure("s", "sum", "__c0", "__s0")]}, "needs lower and upper"),
    ({"measures": [dp.Measure("s", "avg", "__c0", None, LOWER, UPPER)]}, "needs its sum column"),
    ({"measures": [dp.Measure("s", "sum", "__c0", "__s0", UPPER, LOWER)]}, "lower must be below upper"),
    ({"measures": [dp.Measure("s", "sum", "__c9", "__s9", LOWER, UPPER)]}, "no column __c9, __s9"),
    ({"measures": [dp.Measure("district", "count", "__n")]}, "collide"),
])
def test_bad_input_is_refused(change: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"group_columns": ["district"], "measures": MEASURES, "epsilon": Decimal(1),
                                    "delta": DELTA, "confidence": Decimal("0.9"), "min_group_size": 10}
    arguments.update(change)
    with pytest.raises(ValueError, match=message):
        dp.release(engine_table([100, 200]), **arguments)  # type: ignore[arg-type]

"""Differentially private release of a sandbox query's per-group aggregates (差分隐私发布).

In DP mode the sandbox rewrites the buyer's SQL so that the engine returns, per group, the exact
``__n`` = COUNT(*), and for each SUM/AVG measure i the clamped sum ``__s{i}`` (each value clamped
into [lower, upper] in SQL, as DOUBLE) and the non-null count ``__c{i}``. :func:`release` turns that
exact table into the noisy result the buyer sees. Nothing here touches a database.

Privacy unit and sensitivities. Neighbouring datasets differ by one row, and each row lies in
exactly one group, so adding or removing it changes one group's ``__n`` and each ``__c{i}`` by at
most 1 and each ``__s{i}`` by at most max(|lower|, |upper|). The vector of a quantity over all
groups therefore has L1 sensitivity 1 (counts) or max(|lower|, |upper|) (sums): the groups compose
in parallel, and one vector-valued Laplace measurement per quantity covers every group at once.

Mechanisms (all OpenDP 0.16, ``contrib``):

* Which groups exist is itself private (a group ``district = 'X'`` with one row reveals that row).
  When the query has group columns, the COUNT(*) per group goes through
  ``make_laplace_threshold`` over a map group → count (metric ``L01InfDistance``, d_in =
  (1 group, 1, 1)): discrete Laplace noise on every count, and only groups whose noisy count
  reaches the threshold are released. That is (ε, δ)-DP; the threshold is the smallest one whose
  privacy map gives δ no larger than the caller's δ, and never below ``min_group_size``. The
  released noisy counts are the COUNT(*) values, so a COUNT(*) measure costs nothing extra. The map's
  keys are the row positions of the engine's table: a bijection with the group keys of this one
  table, cheaper to hand to OpenDP than tuples of typed values, and the mechanism treats keys as
  opaque labels either way.
  Without group columns (a global aggregate) the single group exists whatever the data, so it is
  always released and no δ is spent.
* Other counts (COUNT(x), the denominator of AVG(x)): discrete (integer) Laplace,
  ``make_laplace`` over a vector of i64.
* Clamped sums: Laplace over a vector of f64 (``nan=False``), with an explicit granularity
  2^k about 2^-40 of the scale (OpenDP's default, the smallest float, is 2–3 times slower and buys
  nothing: the privacy map, which accounts for rounding each value to the grid, then exceeds
  Δ/scale by about n·2^-40, 1e-8 for 10,000 groups, and the scale is raised to absorb even that).
  Sums are drawn only for released groups: given the released key set (the threshold's output),
  the vector of those groups' sums still has L1 sensitivity Δ, so this is adaptive sequential
  composition after the threshold.
* AVG(x) = noisy sum / noisy count, clamped into [lower, upper]: post-processing, no budget.
* Released groups come sorted by their keys, not in the engine's order, which could follow an
  ORDER BY on an exact aggregate.

Privacy accounting. The noisy quantities are the distinct engine columns used — ``__n`` when
grouped (the threshold) or when a COUNT(*) is asked, each count column, each sum column — listed by
:func:`budget_shares`. ε is split evenly among them (simple, and no measure is favoured without the
buyer saying so); each measurement's scale is calibrated so that OpenDP's own privacy map of it,
at the sensitivity above, is at most its share, and the release checks that the maps add up to no
more than ε (basic sequential composition, added up here: OpenDP's composition combinators want
one input domain, and these measurements take a map, a vector of i64 and a vector of f64; δ comes
from the threshold alone). A release therefore spends exactly the ε passed (``Release.epsilon``)
and, when grouped, the δ passed (the threshold's map certifies at most that). :func:`budget_shares`
takes the place of an ``epsilon_cost``, which could only have returned the ε it was given.
The engine's floating-point summation (DuckDB's SUM of DOUBLE) is taken as exact; OpenDP's own
float-sum transformations would add a rounding allowance, which for bounded sums over at most
millions of rows is far below the noise.

Error bounds. For each count and sum output, ``Release.error_bounds`` holds the absolute error that
each released value stays within with probability ``confidence``, from OpenDP's
``discrete_laplacian_scale_to_accuracy`` (floored: an integer error bound for integer counts) and
``laplacian_scale_to_accuracy``. (For a thresholded COUNT(*), the bound is for the noise; a group
barely above the threshold was more likely released when its noise was positive, so its conditional
error can be larger — the bound is honest for groups well above the threshold.) An average's error
depends on its own group's count, so it is a column ``{output}__error`` instead: the sum and the
count are each bounded at confidence 1 − α/2 (so both hold with probability ≥ 1 − α, the union
bound), and the error is the largest distance from the released average to any S/C with S and C in
those intervals (C ≥ 1) and within [lower, upper]. That is conservative by construction.

Speed. Each quantity is one OpenDP call on a vector (no per-value Python), and measurements are
built once per parameter set (cached). What remains is OpenDP's exact sampling in Rust, about
10 µs a value: ~1 ms for 16 groups, ~25 ms for 1,000, ~0.3 s for 10,000 groups with three noisy
quantities each.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Literal

import numpy as np
import opendp.prelude as dp
import pyarrow as pa

dp.enable_features("contrib")

COUNT_STAR = "__n"
# d_in for the threshold: one row changes one group's count (l0 = 1), by 1 (l1 = l∞ = 1).
_ONE_ROW_IN_ONE_GROUP = (1, 1, 1)
_COUNT_MAP_DOMAIN = dp.map_domain(dp.atom_domain(T=dp.i64), dp.atom_domain(T=dp.i64))
_COUNT_MAP_METRIC = dp.l01inf_distance(dp.absolute_distance(T=dp.i64))
_COUNT_VECTOR_DOMAIN = dp.vector_domain(dp.atom_domain(T=dp.i64))
# Granularity of float Laplace noise, relative to the scale (see the module docstring).
_FLOAT_GRANULARITY_BELOW_SCALE = 40


@dataclass(frozen=True)
class Measure:
    output: str                      # the result column name the buyer asked for (e.g. "avg_amount")
    kind: Literal["count", "sum", "avg"]
    count_column: str                # engine column with the count: "__n" for COUNT(*), "__c{i}" for COUNT(x)/AVG(x)
    sum_column: str | None = None    # engine column with the clamped sum (sum, avg)
    lower: Decimal | None = None     # clamping bounds (sum, avg)
    upper: Decimal | None = None

    @property
    def sensitivity(self) -> float:
        """How much one row can move the clamped sum."""
        assert self.lower is not None and self.upper is not None
        return float(max(abs(self.lower), abs(self.upper)))


@dataclass(frozen=True)
class Release:
    table: pa.Table                  # group columns + one column per measure output, noisy; only released groups
    error_bounds: dict[str, float]   # output -> absolute error bound holding with probability `confidence` per released value (count and sum); avg: column {output}__error
    released_groups: int
    dropped_groups: int              # groups withheld by the threshold (their existence is private)
    epsilon: Decimal                 # what this release spent
    delta: Decimal


def budget_shares(*, grouped: bool, measures: Sequence[Measure]) -> tuple[str, ...]:
    """The engine columns that get noise, each with an equal share ε / len(result) of the budget:
    ``__n`` first when grouped (it decides which groups are released), then each distinct column
    the measures release (a count's count, a sum's sum, an average's sum and count), in order."""
    columns: list[str] = [COUNT_STAR] if grouped else []
    for measure in measures:
        # A SUM's count column only serves the defensive re-clamp of its exact sum: not released.
        used = {"count": (measure.count_column,), "sum": (measure.sum_column,),
                "avg": (measure.sum_column, measure.count_column)}[measure.kind]
        for column in used:
            if column is not None and column not in columns:
                columns.append(column)
    return tuple(columns)


def release(raw: pa.Table, *, group_columns: Sequence[str], measures: Sequence[Measure], epsilon: Decimal,
            delta: Decimal, confidence: Decimal, min_group_size: int) -> Release:
    """The differentially private release of the engine's exact per-group table ``raw``."""
    group_columns = list(group_columns)
    grouped = bool(group_columns)
    _validate(raw, group_columns, measures, epsilon, delta, confidence, min_group_size)
    shares = budget_shares(grouped=grouped, measures=measures)
    epsilon_share = float(epsilon) / len(shares)
    alpha = 1 - float(confidence)
    spent: list[float] = []

    # Which groups are released, and their noisy COUNT(*) (the threshold's own output).
    noisy: dict[str, np.ndarray] = {}
    scales: dict[str, float] = {}
    if grouped:
        counts = _int_column(raw, COUNT_STAR)
        scale = _count_scale(epsilon_share)
        threshold = _threshold(scale, epsilon_share, float(delta), max(int(min_group_size), 1))
        measurement, (threshold_epsilon, threshold_delta) = _threshold_measurement(scale, threshold)
        assert threshold_epsilon <= epsilon_share and threshold_delta <= float(delta)
        spent.append(threshold_epsilon)
        passed = measurement(dict(zip(range(len(counts)), counts.tolist()))) if len(counts) else {}
        released = np.fromiter(passed.keys(), dtype=np.int64, count=len(passed))
        released.sort()
        noisy[COUNT_STAR] = np.array([passed[int(i)] for i in released], dtype=np.int64)
        scales[COUNT_STAR] = scale
    else:
        released = np.arange(raw.num_rows, dtype=np.int64)

    # Every other quantity, for the released groups only.
    summed_by = {m.sum_column: m for m in measures if m.kind != "count"}
    for column in shares:
        if column in noisy:
            continue
        if column in summed_by:
            measure = summed_by[column]
            sums = _clamped_sums(raw, measure)[released]
            noisy[column], scales[column], used = _laplace_floats(sums, measure.sensitivity, epsilon_share)
        else:
            values = _int_column(raw, column)[released]
            noisy[column], scales[column], used = _laplace_counts(values, epsilon_share)
        spent.append(used)
    # Basic composition: the measurements' own privacy maps add up to the budget (float rounding
    # of ε / len(shares) aside).
    assert math.fsum(spent) <= float(epsilon) * (1 + 1e-9), (spent, epsilon)

    take = pa.array(released, type=pa.int64())
    columns: dict[str, pa.Array] = {name: raw.column(name).take(take) for name in group_columns}
    error_bounds: dict[str, float] = {}
    for measure in measures:
        if measure.kind == "count":
            count = np.maximum(noisy[measure.count_column], 0)  # a count below 0 is impossible
            columns[measure.output] = pa.array(count, type=pa.int64())
            error_bounds[measure.output] = _count_accuracy(scales[measure.count_column], alpha)
        elif measure.kind == "sum":
            assert measure.sum_column is not None
            columns[measure.output] = pa.array(noisy[measure.sum_column], type=pa.float64())
            error_bounds[measure.output] = _sum_accuracy(scales[measure.sum_column], alpha)
        else:
            assert measure.sum_column is not None
            average, error = _average(noisy[measure.sum_column], noisy[measure.count_column], measure,
                                      sum_bound=_sum_accuracy(scales[measure.sum_column], alpha / 2),
                                      count_bound=_count_accuracy(scales[measure.count_column], alpha / 2))
            columns[measure.output] = pa.array(average, type=pa.float64())
            columns[f"{measure.output}__error"] = pa.array(error, type=pa.float64())
    return Release(table=_in_key_order(pa.table(columns), group_columns), error_bounds=error_bounds,
                   released_groups=len(released), dropped_groups=raw.num_rows - len(released),
                   epsilon=epsilon, delta=delta if grouped else Decimal(0))


def _in_key_order(table: pa.Table, group_columns: list[str]) -> pa.Table:
    """The released groups sorted by their keys. Not in the engine's order: that can follow an
    ORDER BY on an exact aggregate (``ORDER BY SUM(amount)``) and would leak its ranking; ordering
    by the noisy values is the caller's post-processing."""
    if not group_columns or table.num_rows < 2:
        return table
    try:
        return table.sort_by([(name, "ascending") for name in group_columns])
    except (pa.ArrowNotImplementedError, pa.ArrowTypeError):  # an unsortable key type: no order at all
        return table.take(pa.array(np.random.default_rng().permutation(table.num_rows)))


def _validate(raw: pa.Table, group_columns: list[str], measures: Sequence[Measure], epsilon: Decimal,
              delta: Decimal, confidence: Decimal, min_group_size: int) -> None:
    if not epsilon > 0:
        raise ValueError(f"epsilon must be positive, not {epsilon}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    if group_columns and not 0 < delta < 1:
        raise ValueError(f"a grouped release needs 0 < delta < 1 (its groups are private), not {delta}")
    if min_group_size < 0:
        raise ValueError(f"min_group_size must not be negative, not {min_group_size}")
    if not group_columns and not measures:
        raise ValueError("a release without group columns needs at least one measure")
    if not group_columns and raw.num_rows != 1:
        raise ValueError(f"a global aggregate is one row, not {raw.num_rows}")
    present = set(raw.column_names)
    missing = [c for c in group_columns if c not in present]
    if group_columns and COUNT_STAR not in present:
        missing.append(COUNT_STAR)
    outputs = list(group_columns)
    for measure in measures:
        if measure.kind not in ("count", "sum", "avg"):
            raise ValueError(f"{measure.output}: unknown kind {measure.kind!r}")
        missing += [c for c in (measure.count_column, measure.sum_column if measure.kind != "count" else None)
                    if c is not None and c not in present]
        if measure.kind != "count":
            if measure.sum_column is None:
                raise ValueError(f"{measure.output}: a {measure.kind} needs its sum column")
            if measure.lower is None or measure.upper is None:
                raise ValueError(f"{measure.output}: a {measure.kind} needs lower and upper clamping bounds")
            if not (measure.lower.is_finite() and measure.upper.is_finite()) or measure.lower >= measure.upper:
                raise ValueError(f"{measure.output}: lower must be below upper, both finite")
        outputs.append(measure.output)
        if measure.kind == "avg":
            outputs.append(f"{measure.output}__error")
    if missing:
        raise ValueError(f"the engine's table has no column {', '.join(dict.fromkeys(missing))}")
    if len(set(outputs)) != len(outputs):
        raise ValueError(f"output column names collide: {outputs}")
    sum_bounds: dict[str, tuple[Decimal | None, Decimal | None]] = {}
    for measure in measures:
        if measure.kind != "count" and measure.sum_column is not None:
            if sum_bounds.setdefault(measure.sum_column, (measure.lower, measure.upper)) != (measure.lower, measure.upper):
                raise ValueError(f"{measure.sum_column} is used with two different bounds")


def _int_column(raw: pa.Table, name: str) -> np.ndarray:
    values = raw.column(name).to_numpy(zero_copy_only=False)
    return np.nan_to_num(values.astype(np.float64)).astype(np.int64) if values.dtype.kind == "f" else values.astype(np.int64)


def _clamped_sums(raw: pa.Table, measure: Measure) -> np.ndarray:
    """The engine's clamped sums, clamped again into [count·lower, count·upper] (and so as a sum of
    values clamped into [lower, upper] can be): a wrong rewrite cannot leak more than Δ per row.
    SUM over only nulls is NULL: 0."""
    assert measure.sum_column is not None and measure.lower is not None and measure.upper is not None
    sums = np.nan_to_num(raw.column(measure.sum_column).to_numpy(zero_copy_only=False).astype(np.float64),
                         nan=0.0, posinf=0.0, neginf=0.0)
    counts = _int_column(raw, measure.count_column).astype(np.float64)
    return np.clip(sums, counts * min(float(measure.lower), 0.0), counts * max(float(measure.upper), 0.0))


def _calibrated(make: Callable[[float], dp.Measurement], d_in: object, scale: float,
                epsilon: float) -> tuple[dp.Measurement, float]:
    """``make(scale)`` with the scale raised from ``scale`` until OpenDP's privacy map at ``d_in``
    gives at most ``epsilon``. OpenDP rounds its maps up (1 / (1/ε) can come out an ulp above ε,
    float noise rounds d_in up to its granularity), so the textbook Δ/ε needs a correction, found
    from the map itself (the map is proportional to 1 / scale)."""
    for _ in range(20):
        measurement = make(scale)
        used = measurement.map(d_in)
        used_epsilon = used[0] if isinstance(used, tuple) else used
        if used_epsilon <= epsilon:
            return measurement, scale
        scale = math.nextafter(max(scale * used_epsilon / epsilon, scale), math.inf)
    raise AssertionError(f"could not calibrate a scale for ε = {epsilon}")  # pragma: no cover


@lru_cache(maxsize=256)
def _count_scale(epsilon: float) -> float:
    """The discrete Laplace scale whose privacy map at sensitivity 1 is at most ``epsilon`` (the
    vector and the thresholded mechanism share it: both maps are d_in / scale)."""
    _, vector_scale = _calibrated(
        lambda scale: dp.m.make_laplace(_COUNT_VECTOR_DOMAIN, dp.l1_distance(T=dp.i64), scale=scale),
        1, 1 / epsilon, epsilon)
    _, scale = _calibrated(
        lambda scale: dp.m.make_laplace_threshold(_COUNT_MAP_DOMAIN, _COUNT_MAP_METRIC, scale=scale, threshold=1),
        _ONE_ROW_IN_ONE_GROUP, vector_scale, epsilon)
    return scale


@lru_cache(maxsize=256)
def _threshold(scale: float, epsilon: float, delta: float, floor: int) -> int:
    """The smallest threshold ≥ ``floor`` at which OpenDP's privacy map of the thresholded count
    gives at most ``delta`` (and ``epsilon``, which ``scale`` was calibrated for). Starts from the Laplace tail, ½·exp(−(t − 1)/scale) = δ, and walks from
    there (each map costs ~1 ms; a binary search over all integers would cost ~1 s)."""

    def fits(threshold: int) -> bool:
        _, (used_epsilon, used_delta) = _threshold_measurement(scale, threshold)
        return used_epsilon <= epsilon and used_delta <= delta

    guess = max(floor, math.ceil(1 + scale * math.log(1 / (2 * delta))))
    while not fits(guess):
        guess += 1
    while guess > floor and fits(guess - 1):
        guess -= 1
    return guess


# Measurements are immutable and reusable: built (and their maps checked) once per parameter set,
# since building and mapping cost more than the noise for a few groups.
@lru_cache(maxsize=256)
def _count_measurement(epsilon: float) -> tuple[dp.Measurement, float, float]:
    scale = _count_scale(epsilon)
    measurement = dp.m.make_laplace(_COUNT_VECTOR_DOMAIN, dp.l1_distance(T=dp.i64), scale=scale)
    used = measurement.map(1)
    assert used <= epsilon  # _count_scale calibrated it
    return measurement, scale, used


@lru_cache(maxsize=256)
def _threshold_measurement(scale: float, threshold: int) -> tuple[dp.Measurement, tuple[float, float]]:
    measurement = dp.m.make_laplace_threshold(_COUNT_MAP_DOMAIN, _COUNT_MAP_METRIC, scale=scale, threshold=threshold)
    return measurement, measurement.map(_ONE_ROW_IN_ONE_GROUP)


@lru_cache(maxsize=1024)
def _float_measurement(size: int, sensitivity: float, epsilon: float) -> tuple[dp.Measurement, float, float]:
    """Laplace on ``size`` clamped sums (L1 sensitivity ``sensitivity``), its scale raised until
    OpenDP's map (which rounds d_in up to the granularity, per element) fits ``epsilon``."""
    scale = sensitivity / epsilon
    k = math.floor(math.log2(scale)) - _FLOAT_GRANULARITY_BELOW_SCALE
    domain = dp.vector_domain(dp.atom_domain(T=float, nan=False), size=size)
    measurement, scale = _calibrated(
        lambda scale: dp.m.make_laplace(domain, dp.l1_distance(T=float), scale=scale, k=k), sensitivity, scale, epsilon)
    return measurement, scale, measurement.map(sensitivity)


def _laplace_counts(values: np.ndarray, epsilon: float) -> tuple[np.ndarray, float, float]:
    """Discrete Laplace on a vector of counts (sensitivity 1): noisy values, scale, ε spent."""
    measurement, scale, used = _count_measurement(epsilon)
    noisy = np.asarray(measurement(values), dtype=np.int64) if len(values) else values.astype(np.int64)
    return noisy, scale, used


def _laplace_floats(values: np.ndarray, sensitivity: float, epsilon: float) -> tuple[np.ndarray, float, float]:
    """Laplace on a vector of clamped sums: noisy values, scale, ε spent."""
    measurement, scale, used = _float_measurement(len(values), sensitivity, epsilon)
    noisy = np.asarray(measurement(values), dtype=np.float64) if len(values) else values.astype(np.float64)
    return noisy, scale, used


@lru_cache(maxsize=1024)
def _count_accuracy(scale: float, alpha: float) -> float:
    """|noisy − true| ≤ this with probability 1 − α (an integer: floor keeps the coverage)."""
    return float(math.floor(dp.discrete_laplacian_scale_to_accuracy(scale=scale, alpha=alpha)))


@lru_cache(maxsize=1024)
def _sum_accuracy(scale: float, alpha: float) -> float:
    return float(dp.laplacian_scale_to_accuracy(scale=scale, alpha=alpha))


def _average(noisy_sum: np.ndarray, noisy_count: np.ndarray, measure: Measure, *, sum_bound: float,
             count_bound: float) -> tuple[np.ndarray, np.ndarray]:
    """Noisy average per group, clamped into [lower, upper], and its conservative error bound:
    the farthest S/C can be from it with S within ``sum_bound`` of the noisy sum and C within
    ``count_bound`` of the noisy count (C ≥ 1). S/C is monotone in S, and in C for fixed S, so its
    extremes over that box are at the corners."""
    lower, upper = float(measure.lower), float(measure.upper)  # type: ignore[arg-type]
    count = noisy_count.astype(np.float64)
    average = np.clip(noisy_sum / np.maximum(count, 1.0), lower, upper)
    count_low = np.maximum(count - count_bound, 1.0)
    count_high = np.maximum(count + count_bound, 1.0)
    corners = np.stack([(noisy_sum + s) / c for s in (-sum_bound, sum_bound) for c in (count_low, count_high)])
    lowest = np.clip(corners.min(axis=0), lower, upper)
    highest = np.clip(corners.max(axis=0), lower, upper)
    error = np.maximum(np.abs(average - lowest), np.abs(highest - average))
    return average, error

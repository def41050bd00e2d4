"""Fingerprint detection and false accusations, measured over many random keys.

    .venv/bin/python bench/fingerprint.py                      # 200 trials per case, 5,000 rows
    .venv/bin/python bench/fingerprint.py --trials 500 --rows 20000 --gamma 5

Each trial draws a fresh random exchange secret (so fresh product keys and buyer fingerprints) and a
product of 20 buyers, then for each mode (alter_values: 金额 ±0.01 and 数量 ±1, γ = 10;
no_alteration: keyed row subsets, γ = 10) and each leak size (100 %, 30 %, 10 % of the rows, in
shuffled order, through CSV text):

  guilty     one random buyer's copy leaks (the 城市 column removed in every other trial):
             detected = that buyer named; wrong = another buyer named; missed = nobody named
  innocent   the unmarked original leaks (same rows kept): false accusation = anyone named

A buyer is named when the Bonferroni-corrected binomial tail (the probability an innocent copy
matches its fingerprint as well) is below the threshold (default 1e-6, as fingerprint.threshold).
False-accusation rate = (wrong + innocent named) / (guilty + innocent trials). Also printed: the
median significance of the named buyer and the time to make one copy and to detect.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from shujiao.fingerprint import scheme  # noqa: E402

POLICIES = {
    "alter_values": scheme.Policy("alter_values", ("客户编号",), (
        scheme.ColumnTolerance("金额", 2, Decimal("0.01")), scheme.ColumnTolerance("数量", 0, Decimal(1))), gamma=10),
    "no_alteration": scheme.Policy("no_alteration", ("客户编号",), (), gamma=10),
}
BUYERS = 20


def original(rows: int) -> pa.Table:
    rng = np.random.default_rng(2026)
    out = io.BytesIO()
    scheme.write_table(pa.table({
        "客户编号": [f"C{i:08d}" for i in range(rows)], "城市": rng.choice(["北京", "上海", "贵阳", "成都"], rows).tolist(),
        "金额": np.round(rng.uniform(1, 99_999, rows), 2), "数量": rng.integers(0, 1000, rows)}), "csv", out)
    return scheme.read_table(out.getvalue(), "csv")


def through_csv(table: pa.Table) -> pa.Table:
    out = io.BytesIO()
    scheme.write_table(table, "csv", out)
    return scheme.read_table(out.getvalue(), "csv")


def leak(table: pa.Table, fraction: float, rng: np.random.Generator, drop: str | None) -> pa.Table:
    kept = rng.permutation(table.num_rows)[: max(1, int(round(table.num_rows * fraction)))]
    table = table.take(pa.array(kept))
    return table.drop_columns([drop]) if drop else table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--threshold", type=float, default=1e-6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--gamma", type=int, default=10, help="one row in γ marked (or a candidate to leave out)")
    args = parser.parse_args()
    policies = {mode: scheme.Policy(p.mode, p.key_columns, p.columns, args.gamma) for mode, p in POLICIES.items()}
    base = original(args.rows)
    rng = np.random.default_rng(args.seed)
    fractions = (1.0, 0.3, 0.1)
    print(f"{args.trials} trials per case, {args.rows} rows, {BUYERS} buyers, γ = {args.gamma}, "
          f"threshold {args.threshold:g}")
    print(f"{'mode':<14} {'leak':>5} {'detected':>9} {'wrong':>6} {'missed':>7} {'innocent named':>15} "
          f"{'false-acc. rate':>16} {'median signif.':>15} {'copy ms':>8} {'detect ms':>10}")
    for mode, policy in policies.items():
        for fraction in fractions:
            detected = wrong = missed = innocent_named = 0
            significances, copy_times, detect_times = [], [], []
            for trial in range(args.trials):
                secret = os.urandom(32)
                product_id = int(rng.integers(1, 10**9))
                orders = [int(o) for o in rng.choice(10**9, BUYERS, replace=False)]
                fingerprints = {o: scheme.order_fingerprint(secret, o) for o in orders}
                keys = scheme.product_keys(secret, product_id)
                guilty = orders[int(rng.integers(BUYERS))]
                started = time.perf_counter()
                copy, _ = scheme.mark(base, policy, keys, fingerprints[guilty])
                copy_times.append(time.perf_counter() - started)
                drop = "城市" if trial % 2 else None
                leaked = leak(through_csv(copy), fraction, rng, drop)
                started = time.perf_counter()
                verdict = scheme.score(scheme.extract(leaked, policy, keys), fingerprints, threshold=args.threshold)
                detect_times.append(time.perf_counter() - started)
                if verdict.named == guilty:
                    detected += 1
                    significances.append(verdict.significance)
                elif verdict.named is None:
                    missed += 1
                else:
                    wrong += 1
                innocent = scheme.score(scheme.extract(leak(base, fraction, rng, drop), policy, keys), fingerprints,
                                        threshold=args.threshold)
                innocent_named += innocent.named is not None
            n = args.trials
            far = (wrong + innocent_named) / (2 * n)
            median = f"{statistics.median(significances):.1e}" if significances else "-"
            print(f"{mode:<14} {fraction:>5.0%} {detected / n:>9.1%} {wrong:>6} {missed:>7} "
                  f"{innocent_named:>15} {far:>16.4f} {median:>15} {1000 * statistics.median(copy_times):>8.1f} "
                  f"{1000 * statistics.median(detect_times):>10.1f}")


if __name__ == "__main__":
    main()

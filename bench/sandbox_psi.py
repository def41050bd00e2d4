"""PSI throughput: ``shujiao.sandbox.psi.intersect`` (sharded across cores) against one run of the
PSI library on a single thread, on the same inputs, in the same process.

    .venv/bin/python bench/sandbox_psi.py                  # 10^5 × 10^5 and 10^6 × 10^6
    .venv/bin/python bench/sandbox_psi.py --sizes 100000

Inputs: SHA-256 hashes of phone numbers, as providers publish them, half of each side in the other.
Both runs must return exactly the true intersection (checked against Python's set intersection).
Each run is timed once: at 10^6 × 10^6 the single-threaded run takes minutes. Target (issue 7): the
sharded run in ≤ 0.6 × the single-threaded time at 10^6 × 10^6.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from shujiao.sandbox import psi  # noqa: E402

TARGET_RATIO = 0.6


def phone_hashes(start: int, count: int) -> list[str]:
    return [hashlib.sha256(f"1{3_000_000_000 + n:010d}".encode()).hexdigest() for n in range(start, start + count)]


def psi_rows(sizes: tuple[int, ...] = (10**5, 10**6)) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for size in sizes:
        client = phone_hashes(0, size)
        server = phone_hashes(size // 2, size)
        truth = set(client) & set(server)

        started = time.perf_counter()
        single = psi.run_protocol(client, server, reveal_intersection=True)
        single_s = time.perf_counter() - started
        started = time.perf_counter()
        sharded = psi.intersect(client, server, reveal_intersection=True)
        sharded_s = time.perf_counter() - started
        assert isinstance(single, list) and set(single) == truth and len(single) == len(truth)
        assert sharded.intersection is not None and set(sharded.intersection) == truth
        assert sharded.size == len(truth)

        ratio = sharded_s / single_s
        rows.append({"case": f"{size:.0e} × {size:.0e} ({sharded.shards} shards)",
                     "single_threaded_s": f"{single_s:.2f}", "sharded_s": f"{sharded_s:.2f}",
                     "ratio": f"{ratio:.3f}", "items_per_s": f"{2 * size / sharded_s:,.0f}",
                     "target": f"≤ {TARGET_RATIO}" if size >= 10**6 else "", "met": ratio <= TARGET_RATIO})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10**5, 10**6])
    args = parser.parse_args()
    from bench.sandbox import print_table

    print_table(psi_rows(tuple(args.sizes)),
                ["case", "single_threaded_s", "sharded_s", "ratio", "items_per_s", "target", "met"])


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()

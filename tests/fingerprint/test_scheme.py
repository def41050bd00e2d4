"""The scheme without a database: 20 buyers, leaks of 30 % shuffled, a column removed, innocent files."""

from __future__ import annotations

import io
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from shujiao.fingerprint import scheme

SECRET = b"test-exchange-secret-of-32-bytes!"
ORDERS = list(range(1001, 1021))  # 20 buyers of one product
ALTER = scheme.Policy("alter_values", ("客户编号",), (scheme.ColumnTolerance("金额", 2, Decimal("0.01")),
                                                   scheme.ColumnTolerance("数量", 0, Decimal(3))), gamma=10)
KEEP = scheme.Policy("no_alteration", ("客户编号",), (), gamma=10)


def _original(rows: int = 5000, seed: int = 7) -> bytes:
    rng = np.random.default_rng(seed)
    table = pa.table({
        "客户编号": [f"C{i:07d}" for i in range(rows)],
        "城市": rng.choice(["北京", "上海", "贵阳", "成都"], rows).tolist(),
        "金额": np.round(rng.uniform(0, 10_000, rows), 2),
        "数量": rng.integers(-50, 500, rows),
        "日期": [f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(rows)],
    })
    out = io.BytesIO()
    scheme.write_table(table, "csv", out)
    return out.getvalue()


@pytest.fixture(scope="module")
def original() -> pa.Table:
    return scheme.read_table(_original(), "csv")


def _fingerprints() -> dict[int, np.ndarray]:
    return {order: scheme.order_fingerprint(SECRET, order) for order in ORDERS}


def _copy_bytes(original: pa.Table, policy: scheme.Policy, order: int, file_format: str = "csv") -> bytes:
    copy, _ = scheme.mark(original, policy, scheme.product_keys(SECRET, 42), scheme.order_fingerprint(SECRET, order))
    out = io.BytesIO()
    scheme.write_table(copy, file_format, out)  # type: ignore[arg-type]
    return out.getvalue()


def _leak(content: bytes, fraction: float, seed: int, file_format: str = "csv", drop: str | None = None) -> pa.Table:
    table = scheme.read_table(content, file_format)  # type: ignore[arg-type]
    rng = np.random.default_rng(seed)
    kept = rng.permutation(table.num_rows)[: int(table.num_rows * fraction)]  # shuffled order
    table = table.take(pa.array(kept))
    return table.drop_columns([drop]) if drop else table


def _verdict(table: pa.Table, policy: scheme.Policy) -> scheme.Verdict:
    return scheme.score(scheme.extract(table, policy, scheme.product_keys(SECRET, 42)), _fingerprints())


@pytest.mark.parametrize("policy", [ALTER, KEEP], ids=["alter_values", "no_alteration"])
@pytest.mark.parametrize("drop", [None, "城市", "金额"])
def test_a_shuffled_30_percent_leak_names_its_buyer_among_20(original, policy, drop):
    if drop == "金额" and policy is KEEP:
        drop = "日期"
    for seed, guilty in enumerate(ORDERS[::4]):
        verdict = _verdict(_leak(_copy_bytes(original, policy, guilty), 0.3, seed, drop=drop), policy)
        assert verdict.named == guilty, verdict.scores[:2]
        assert verdict.significance < 1e-6


@pytest.mark.parametrize("policy", [ALTER, KEEP], ids=["alter_values", "no_alteration"])
def test_the_unmarked_original_and_an_unrelated_file_name_nobody(original, policy):
    assert _verdict(original, policy).named is None
    assert _verdict(_leak(_original(), 0.3, 1), policy).named is None
    unrelated = scheme.read_table(_original(seed=99), "csv")  # same keys, other values
    assert _verdict(unrelated, policy).named is None
    # A copy made for a buyer of another product (another selection key) names nobody here.
    other, _ = scheme.mark(original, policy, scheme.product_keys(SECRET, 43), scheme.order_fingerprint(SECRET, 1005))
    assert _verdict(other, policy).named is None


def test_values_stay_within_tolerance_and_other_cells_are_untouched(original):
    copy = scheme.read_table(_copy_bytes(original, ALTER, 1003), "csv")
    assert copy.num_rows == original.num_rows
    for name in ("客户编号", "城市", "日期"):
        assert copy.column(name).equals(original.column(name))
    amount_before = np.array(original.column("金额").to_pylist(), dtype=float)
    amount_after = np.array(copy.column("金额").to_pylist(), dtype=float)
    qty_before = np.array(original.column("数量").to_pylist(), dtype=int)
    qty_after = np.array(copy.column("数量").to_pylist(), dtype=int)
    assert np.abs(amount_after - amount_before).max() <= 0.01 + 1e-9
    assert np.abs(qty_after - qty_before).max() <= 3  # ξ = 2 low bits: at most 2 units
    changed = int((amount_after != amount_before).sum() + (qty_after != qty_before).sum())
    assert 100 < changed < 0.1 * original.num_rows  # about half of the ~1/γ marked cells change
    # Amounts keep two decimals as text.
    assert all("." not in v or len(v.split(".")[1]) <= 2 for v in copy.column("金额").to_pylist())


def test_no_alteration_leaves_every_value_of_every_kept_row_unchanged(original):
    copy = scheme.read_table(_copy_bytes(original, KEEP, 1007), "csv")
    by_key = {row["客户编号"]: row for row in original.to_pylist()}
    kept = copy.to_pylist()
    assert 0.9 * original.num_rows < len(kept) < original.num_rows
    assert all(row == by_key[row["客户编号"]] for row in kept)


def test_parquet_copies_keep_their_types_and_detect(original):
    typed = pa.table({"id": pa.array(np.arange(4000)), "score": pa.array(np.round(np.linspace(0, 99, 4000), 1)),
                      "n": pa.array(np.arange(4000, dtype=np.int32))})
    policy = scheme.Policy("alter_values", ("id",), (scheme.ColumnTolerance("score", 1, Decimal("0.1")),
                                                     scheme.ColumnTolerance("n", 0, Decimal(1))))
    content = _copy_bytes(typed, policy, 1011, "parquet")
    copy = scheme.read_table(content, "parquet")
    assert copy.schema == typed.schema
    assert _verdict(_leak(content, 0.3, 3, "parquet"), policy).named == 1011


def test_a_leak_without_the_key_column_is_refused(original):
    with pytest.raises(scheme.SchemeError):
        scheme.extract(original.drop_columns(["客户编号"]), ALTER, scheme.product_keys(SECRET, 42))


def test_keyed_hashes_are_hmac():
    import hmac
    values = pa.array(["a", "", "客户"], pa.large_string())
    raw = scheme.keyed_hashes(b"k" * 80, "sha256", values)
    assert raw == b"".join(hmac.digest(b"k" * 80, v.encode(), "sha256") for v in ["a", "", "客户"])
    assert scheme.keyed_hashes(b"k", "sm3", values)[:32] == hmac.digest(b"k", b"a", "sm3")


def test_binomial_tail():
    assert scheme.binomial_tail(0, 10) == 1.0
    assert scheme.binomial_tail(10, 10) == 2**-10
    assert scheme.binomial_tail(3, 0) == 1.0

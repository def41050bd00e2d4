"""The PSI core: exact intersections (or sizes) against Python's own set intersection, sharded and not."""

from __future__ import annotations

import hashlib
import random

import pytest

from shujiao.sandbox import psi


def hashes(numbers: range | list[int]) -> list[str]:
    return [hashlib.sha256(f"1{3_000_000_000 + n:010d}".encode()).hexdigest() for n in numbers]


def test_100k_by_100k_returns_exactly_the_true_intersection() -> None:
    rng = random.Random(7)
    client = hashes(rng.sample(range(400_000), 100_000))
    server = hashes(rng.sample(range(400_000), 100_000))
    truth = set(client) & set(server)
    assert 20_000 < len(truth) < 30_000  # the sample overlaps by about a quarter

    result = psi.intersect(client, server, reveal_intersection=True, workers=2)

    assert result.shards == 2
    assert result.intersection is not None
    assert len(result.intersection) == result.size == len(truth)
    assert set(result.intersection) == truth


@pytest.mark.parametrize("workers", [1, 3])
def test_size_only_reveals_no_items(workers: int) -> None:
    client = hashes(range(0, 12_000))
    server = hashes(range(9_000, 21_000))
    result = psi.intersect(client, server, reveal_intersection=False, workers=workers)
    assert result.size == 3_000 and result.intersection is None
    assert result.shards == (1 if workers == 1 else 3)


def test_sharded_and_single_runs_agree_and_keep_the_clients_spelling() -> None:
    client = [*hashes(range(15_000)), "张三-110101199003074514", "Ω"]
    server = [*hashes(range(10_000, 25_000)), "Ω", "张三-110101199003074514"]
    single = psi.intersect(client, server, reveal_intersection=True, workers=1)
    sharded = psi.intersect(client, server, reveal_intersection=True, workers=2)
    assert single.intersection is not None and sharded.intersection is not None
    assert set(single.intersection) == set(sharded.intersection) == set(client) & set(server)
    assert single.size == sharded.size == 5_002


def test_duplicates_count_once_and_empty_sides_give_nothing() -> None:
    result = psi.intersect(["a", "a", "b", "c", "c"], ["c", "c", "a", "z"], reveal_intersection=True)
    assert result.intersection is not None and sorted(result.intersection) == ["a", "c"] and result.size == 2
    assert psi.intersect([], ["a"], reveal_intersection=True).size == 0
    assert psi.intersect(["a"], [], reveal_intersection=False).size == 0


def test_disjoint_sets_share_nothing_and_near_misses_do_not_match() -> None:
    client = ["h0000001", "h0000002", "H0000001", " h0000001"]
    result = psi.intersect(client, ["h0000001 ", "h00000010", "h000000"], reveal_intersection=True)
    assert result.size == 0 and result.intersection == []


def test_every_item_lands_in_one_shard_the_same_on_both_sides() -> None:
    items = hashes(range(1_000))
    for count in (2, 3, 8):
        spread = [psi.shard_of(item, count) for item in items]
        assert spread == [psi.shard_of(item, count) for item in items]
        assert set(spread) == set(range(count))
        assert max(spread.count(i) for i in range(count)) < 2 * len(items) / count

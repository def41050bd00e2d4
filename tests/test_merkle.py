"""The Merkle tree against a straightforward recursive reference written from RFC 6962 §2.1."""

from __future__ import annotations

import hashlib

import pytest

from shujiao.crypto.hashing import SHA256, SM3, Hash
from shujiao.tlog import merkle


def reference_mth(h: Hash, leaves: list[bytes]) -> bytes:
    n = len(leaves)
    if n == 0:
        return h.digest(b"")
    if n == 1:
        return h.digest(b"\x00" + leaves[0])
    k = merkle.split_point(n)
    return h.digest(b"\x01" + reference_mth(h, leaves[:k]) + reference_mth(h, leaves[k:]))


def reference_path(h: Hash, m: int, leaves: list[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = merkle.split_point(n)
    if m < k:
        return reference_path(h, m, leaves[:k]) + [reference_mth(h, leaves[k:])]
    return reference_path(h, m - k, leaves[k:]) + [reference_mth(h, leaves[:k])]


def reference_subproof(h: Hash, m: int, leaves: list[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [reference_mth(h, leaves)]
    k = merkle.split_point(n)
    if m <= k:
        return reference_subproof(h, m, leaves[:k], whole) + [reference_mth(h, leaves[k:])]
    return reference_subproof(h, m - k, leaves[k:], False) + [reference_mth(h, leaves[:k])]


def build(h: Hash, leaves: list[bytes]) -> tuple[dict[merkle.NodeKey, bytes], list[bytes]]:
    """Store a tree the way the log does: append leaf after leaf, keep every completed node."""
    nodes: dict[merkle.NodeKey, bytes] = {}
    frontier: list[bytes] = []
    for size, data in enumerate(leaves):
        for key, value in merkle.append(h.digest, frontier, size, merkle.leaf_hash(h.digest, data)):
            nodes[key] = value
    return nodes, frontier


LEAVES = [f"record {i}".encode() for i in range(70)]


@pytest.mark.parametrize("h", [SHA256, SM3], ids=lambda h: h.name)
def test_roots_and_proofs_agree_with_the_rfc_for_every_size_up_to_70(h: Hash) -> None:
    nodes, _ = build(h, LEAVES)
    frontier: list[bytes] = []
    for size in range(1, len(LEAVES) + 1):
        merkle.append(h.digest, frontier, size - 1, merkle.leaf_hash(h.digest, LEAVES[size - 1]))
        leaves = LEAVES[:size]
        root = reference_mth(h, leaves)
        assert merkle.root_from_frontier(h.digest, frontier, h.digest(b"")) == root
        assert merkle.range_hash(h.digest, nodes, 0, size) == root
        for m in range(size):
            proof = merkle.proof_hashes(h.digest, nodes, merkle.inclusion_ranges(m, size))
            assert proof == reference_path(h, m, leaves), (m, size)
            leaf = merkle.leaf_hash(h.digest, leaves[m])
            assert merkle.verify_inclusion(h.digest, m, size, leaf, proof, root)
        for first in range(1, size + 1):
            proof = merkle.proof_hashes(h.digest, nodes, merkle.consistency_ranges(first, size))
            expected = [] if first == size else reference_subproof(h, first, leaves, True)
            assert proof == expected, (first, size)
            assert merkle.verify_consistency(h.digest, first, size, proof, reference_mth(h, LEAVES[:first]), root)


def test_known_answer_from_the_rfc_6962_test_data() -> None:
    # The eight-leaf tree of certificate-transparency-go's merkle tests (RFC 6962 test vectors).
    leaves = [bytes.fromhex(x) for x in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                          "606162636465666768696a6b6c6d6e6f"]]
    nodes, frontier = build(SHA256, leaves)
    assert merkle.root_from_frontier(SHA256.digest, frontier, b"").hex() == (
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")
    assert hashlib.sha256(b"").hexdigest() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize("h", [SHA256, SM3], ids=lambda h: h.name)
def test_a_wrong_leaf_proof_or_root_does_not_verify(h: Hash) -> None:
    nodes, frontier = build(h, LEAVES[:13])
    root = merkle.root_from_frontier(h.digest, frontier, b"")
    proof = merkle.proof_hashes(h.digest, nodes, merkle.inclusion_ranges(5, 13))
    leaf = merkle.leaf_hash(h.digest, LEAVES[5])
    assert merkle.verify_inclusion(h.digest, 5, 13, leaf, proof, root)
    assert not merkle.verify_inclusion(h.digest, 6, 13, leaf, proof, root)
    assert not merkle.verify_inclusion(h.digest, 5, 13, merkle.leaf_hash(h.digest, b"forged"), proof, root)
    assert not merkle.verify_inclusion(h.digest, 5, 13, leaf, proof[:-1], root)
    assert not merkle.verify_inclusion(h.digest, 5, 13, leaf, proof + [root], root)
    assert not merkle.verify_inclusion(h.digest, 5, 40, leaf, proof, root)  # a size whose path is longer
    consistency = merkle.proof_hashes(h.digest, nodes, merkle.consistency_ranges(7, 13))
    root7 = merkle.range_hash(h.digest, nodes, 0, 7)
    assert merkle.verify_consistency(h.digest, 7, 13, consistency, root7, root)
    assert not merkle.verify_consistency(h.digest, 7, 13, consistency, root, root)
    assert not merkle.verify_consistency(h.digest, 7, 13, consistency[:-1], root7, root)
    assert not merkle.verify_consistency(h.digest, 6, 13, consistency, root7, root)


def test_a_proof_needs_only_logarithmically_many_stored_nodes() -> None:
    size = 1_000_003
    for index in (0, 1, 524_287, 999_999, size - 1):
        assert len(merkle.proof_keys(merkle.inclusion_ranges(index, size))) <= 2 * size.bit_length()
    for first in (1, 3, 524_288, 999_999):
        assert len(merkle.proof_keys(merkle.consistency_ranges(first, size))) <= 2 * size.bit_length()

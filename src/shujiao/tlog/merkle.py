"""Merkle tree hashing, proofs and proof checks exactly as RFC 6962 §2.1 / RFC 9162 §2.1.

    leaf hash  = H(0x00 || leaf data)
    node hash  = H(0x01 || left || right)
    MTH(D[n])  = H(0x01 || MTH(D[0:k]) || MTH(D[k:n])), k the largest power of two < n

The tree is stored as its *perfect* subtrees: node (level, index) covers leaves
[index * 2^level, (index + 1) * 2^level) and is written once, when its last leaf arrives, so its
key is (last leaf, level). Every subtree the RFC names in a proof is either such a node or — on the
right edge of a tree whose size is not a power of two — the fold of at most log2(n) of them, so
a proof needs O(log n) stored hashes and appending needs only the right edge (the *frontier*: the
roots of the perfect subtrees that make up the current tree, largest first).

This module is pure: it plans which nodes a proof needs and computes with hashes handed in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

Digest = Callable[[bytes], bytes]
NodeKey = tuple[int, int]  # (last leaf index, level)


def leaf_hash(digest: Digest, data: bytes) -> bytes:
    return digest(b"\x00" + data)


def node_hash(digest: Digest, left: bytes, right: bytes) -> bytes:
    return digest(b"\x01" + left + right)


def split_point(n: int) -> int:
    """The largest power of two strictly less than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def node_id(key: NodeKey) -> int:
    """The stored node's integer key: last leaf * 64 + level (levels stay below 64)."""
    return (key[0] << 6) | key[1]


def node_key(level: int, index: int) -> NodeKey:
    return ((index + 1) << level) - 1, level


def append(digest: Digest, frontier: list[bytes], size: int, leaf: bytes) -> list[tuple[NodeKey, bytes]]:
    """Append one leaf hash to a tree of ``size`` leaves whose frontier is ``frontier`` (changed in
    place). Returns the nodes completed by this leaf, the leaf itself first."""
    completed = [((size, 0), leaf)]
    current, level, index = leaf, 0, size
    while index & 1:
        current = node_hash(digest, frontier.pop(), current)
        level += 1
        index >>= 1
        completed.append(((size, level), current))
    frontier.append(current)
    return completed


def root_from_frontier(digest: Digest, frontier: Sequence[bytes], empty_root: bytes) -> bytes:
    if not frontier:
        return empty_root
    root = frontier[-1]
    for left in reversed(frontier[:-1]):
        root = node_hash(digest, left, root)
    return root


def frontier_keys(size: int) -> list[NodeKey]:
    """The perfect subtrees that make up a tree of ``size`` leaves, largest first."""
    return range_keys(0, size)


def range_keys(start: int, end: int) -> list[NodeKey]:
    """D[start:end] as aligned perfect subtrees, largest first. For the ranges RFC 6962 proofs
    name, folding their hashes from the right gives MTH(D[start:end])."""
    keys: list[NodeKey] = []
    while start < end:
        level = ((end - start).bit_length() - 1)
        while start & ((1 << level) - 1):
            level -= 1
        keys.append(node_key(level, start >> level))
        start += 1 << level
    return keys


def range_hash(digest: Digest, nodes: Mapping[NodeKey, bytes], start: int, end: int) -> bytes:
    keys = range_keys(start, end)
    result = nodes[keys[-1]]
    for key in reversed(keys[:-1]):
        result = node_hash(digest, nodes[key], result)
    return result


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The subtrees whose hashes form PATH(index, D[0:size]) (RFC 9162 §2.1.3.1), leaf side first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index - start < k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """The subtrees whose hashes form PROOF(first, D[0:second]) (RFC 9162 §2.1.4.1), in order."""
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from {first} to {second}")
    if first == second:
        return []
    ranges: list[tuple[int, int]] = []
    m, start, end, whole = first, 0, second, True
    # SUBPROOF(m, D[start:end], whole), unrolled: each step either descends left (remembering the
    # right sibling) or right (remembering the left sibling), ending where m equals the range size.
    while True:
        n = end - start
        if m == n:
            if not whole:
                ranges.append((start, end))
            break
        k = split_point(n)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m, whole = start + k, m - k, False
    ranges.reverse()
    return ranges


def proof_keys(ranges: Iterable[tuple[int, int]]) -> set[NodeKey]:
    return {key for start, end in ranges for key in range_keys(start, end)}


def proof_hashes(digest: Digest, nodes: Mapping[NodeKey, bytes], ranges: Iterable[tuple[int, int]]) -> list[bytes]:
    return [range_hash(digest, nodes, start, end) for start, end in ranges]


class ProofError(ValueError):
    pass


def root_from_inclusion_proof(digest: Digest, index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2: the root that ``proof`` implies for ``leaf`` at ``index`` of ``size``."""
    if index >= size:
        raise ProofError("leaf index beyond the tree size")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("proof too long")
        if fn & 1 or fn == sn:
            r = node_hash(digest, p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(digest, r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof too short")
    return r


def verify_inclusion(digest: Digest, index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    try:
        return root_from_inclusion_proof(digest, index, size, leaf, proof) == root
    except ProofError:
        return False


def verify_consistency(digest: Digest, first: int, second: int, proof: Sequence[bytes],
                       first_root: bytes, second_root: bytes) -> bool:
    """RFC 9162 §2.1.4.2."""
    if first == second:
        return not proof and first_root == second_root
    if not 0 < first < second or not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # first is a power of two: its root is the proof's implied start
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(digest, c, fr)
            sr = node_hash(digest, c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(digest, sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root

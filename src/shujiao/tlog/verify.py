"""Checking a whole log: recompute every leaf hash and tree node from the records themselves and
compare with what is stored and with every signed checkpoint.

Pure and streaming (memory O(log n)): it takes iterables, so the same code checks the live
database (``shujiao log verify``) and an export on an auditor's machine without database access
(``shujiao log verify --export DIR``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from dataclasses import dataclass, field

from shujiao.crypto import note
from shujiao.crypto.hashing import Hash
from shujiao.tlog import checkpoint as checkpoint_format
from shujiao.tlog import merkle


@dataclass
class Report:
    leaves: int = 0
    nodes_compared: int = 0
    checkpoints_verified: int = 0
    first_bad_leaf: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, text: str, leaf: int | None = None) -> None:
        if leaf is not None and (self.first_bad_leaf is None or leaf < self.first_bad_leaf):
            self.first_bad_leaf = leaf
        if len(self.problems) < 50:
            self.problems.append(text)


@dataclass(frozen=True)
class SignedCheckpoint:
    tree_size: int
    note: str


CHUNK = 4096


def verify(
    hash_: Hash,
    leaves: Iterable[tuple[int, bytes]],
    *,
    stored_nodes: Iterable[tuple[int, bytes]] | None,
    checkpoints: Iterable[SignedCheckpoint],
    keys: list[note.NoteKey],
    origin: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """``leaves``: (index, leaf bytes) in index order. ``stored_nodes``: (node id, hash) in id
    order (``merkle.node_id``), or None when only the records are at hand. Every checkpoint's
    signature is checked against ``keys`` and its root against the root recomputed at its size.

    Works a chunk of leaves at a time so that the hot loops are list operations: hash the
    chunk's leaves, fold them into the frontier (emitting every node the log should have
    stored, in storage order), then compare the chunk's nodes with the stored ones in one list
    comparison, walking them one by one only where they differ.
    """
    report = Report()
    digest = hash_.digest
    empty_root = digest(b"")
    pending = _checkpoints_by_size(checkpoints, keys, origin, report)
    stored_iter: Iterator[tuple[int, bytes]] | None = iter(stored_nodes) if stored_nodes is not None else None
    carry: list[tuple[int, bytes]] = []
    frontier: list[bytes] = []
    size = 0
    _check_roots_at(0, frontier, digest, empty_root, pending, report)
    leaf_iter = iter(leaves)
    while chunk := list(islice(leaf_iter, CHUNK)):
        if chunk[0][0] != size or chunk[-1][0] != size + len(chunk) - 1:
            gap = next(i for i, (index, _) in enumerate(chunk) if index != size + i)
            chunk = chunk[:gap]
            report.problem(f"leaf {size + gap} is missing (the next record has another index)", size + gap)
            leaf_iter = iter(())
        computed: list[tuple[int, bytes]] = []
        emit = computed.append
        for current in [digest(b"\x00" + data) for _, data in chunk]:
            emit((size << 6, current))
            position, level = size, 0
            while position & 1:
                current = digest(b"\x01" + frontier.pop() + current)
                level += 1
                position >>= 1
                emit(((size << 6) | level, current))
            frontier.append(current)
            size += 1
            if size in pending:
                _check_roots_at(size, frontier, digest, empty_root, pending, report)
        if stored_iter is not None and computed:
            stored = carry + list(islice(stored_iter, len(computed) - len(carry)))
            carry = []
            if stored == computed:
                report.nodes_compared += len(computed)
            else:
                carry = _compare(computed, stored, report)
        if progress is not None:
            progress(size)
    report.leaves = size
    if stored_iter is not None:
        for node_id, _ in carry + list(islice(stored_iter, 1)):
            report.problem(f"stored node (last leaf {node_id >> 6}, level {node_id & 63}) has no record", node_id >> 6)
            break
    for tree_size in sorted(pending):
        report.problem(f"checkpoint of size {tree_size} is beyond the {size} records at hand", size)
    return report


def _compare(computed: list[tuple[int, bytes]], stored: list[tuple[int, bytes]], report: Report) -> list[tuple[int, bytes]]:
    """Walk one chunk's nodes against the stored ones; returns stored nodes that belong later."""
    last = computed[-1][0]
    later = [node for node in stored if node[0] > last]
    by_id = {node_id: value for node_id, value in stored if node_id <= last}
    for node_id, value in computed:
        leaf, level = node_id >> 6, node_id & 63
        found = by_id.pop(node_id, None)
        if found is None:
            report.problem(f"node (last leaf {leaf}, level {level}) is missing", leaf)
        elif found != value:
            what = "leaf" if level == 0 else f"node at level {level} ending at leaf"
            report.problem(f"{what} {leaf} does not match its record", leaf)
        else:
            report.nodes_compared += 1
    for node_id in sorted(by_id):
        report.problem(f"stored node (last leaf {node_id >> 6}, level {node_id & 63}) does not belong", node_id >> 6)
    return later


def _checkpoints_by_size(checkpoints: Iterable[SignedCheckpoint], keys: list[note.NoteKey],
                         origin: str | None, report: Report) -> dict[int, list[bytes]]:
    pending: dict[int, list[bytes]] = {}
    for signed in checkpoints:
        try:
            text = note.open_note(signed.note, keys).text
            parsed = checkpoint_format.parse(text)
        except note.NoteError as exc:
            report.problem(f"checkpoint of size {signed.tree_size}: {exc}")
            continue
        if origin is not None and parsed.origin != origin:
            report.problem(f"checkpoint of size {parsed.tree_size} names another log: {parsed.origin!r}")
            continue
        report.checkpoints_verified += 1
        pending.setdefault(parsed.tree_size, []).append(parsed.root)
    return pending


def _check_roots_at(size: int, frontier: list[bytes], digest: merkle.Digest, empty_root: bytes,
                    pending: dict[int, list[bytes]], report: Report) -> None:
    roots = pending.pop(size, None)
    if not roots:
        return
    root = merkle.root_from_frontier(digest, frontier, empty_root)
    for signed_root in roots:
        if signed_root != root:
            report.problem(f"the records do not give the root signed in the checkpoint of size {size}", None)

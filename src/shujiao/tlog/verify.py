"""Checking a whole log: recompute every leaf hash and tree node from the records themselves and
compare with what is stored and with every signed checkpoint.

Pure and streaming (memory O(log n)): it takes iterables, so the same code checks the live
database (``shujiao log verify``) and an export on an auditor's machine without database access
(``shujiao log verify --export DIR``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
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


def verify(
    hash_: Hash,
    leaves: Iterable[tuple[int, bytes]],
    *,
    stored_nodes: Iterable[tuple[int, int, bytes]] | None,
    checkpoints: Iterable[SignedCheckpoint],
    keys: list[note.NoteKey],
    origin: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """``leaves``: (index, leaf bytes) in index order. ``stored_nodes``: (last leaf, level, hash)
    in key order, or None when only the records are at hand. Every checkpoint's signature is
    checked against ``keys`` and its root against the root recomputed at its size."""
    report = Report()
    digest = hash_.digest
    empty_root = digest(b"")
    pending = _checkpoints_by_size(checkpoints, keys, origin, report)
    nodes: Iterator[tuple[int, int, bytes]] = iter(stored_nodes) if stored_nodes is not None else iter(())
    compare_nodes = stored_nodes is not None
    stored = next(nodes, None)
    frontier: list[bytes] = []
    size = 0
    _check_roots_at(0, frontier, digest, empty_root, pending, report)
    for index, data in leaves:
        if index != size:
            report.problem(f"leaf {size} is missing (next record has index {index})", size)
            break
        current = digest(b"\x00" + data)
        level, position = 0, size
        while True:
            if compare_nodes:
                # Stored nodes come in (last leaf, level) order, the order this loop makes them.
                while stored is not None and (stored[0], stored[1]) < (size, level):
                    report.problem(f"stored node (last leaf {stored[0]}, level {stored[1]}) does not belong", stored[0])
                    stored = next(nodes, None)
                if stored is None or (stored[0], stored[1]) != (size, level):
                    report.problem(f"node (last leaf {size}, level {level}) is missing", size)
                elif stored[2] != current:
                    what = "leaf" if level == 0 else f"node at level {level}"
                    report.problem(f"{what} {size} does not match its record", size)
                    stored = next(nodes, None)
                else:
                    report.nodes_compared += 1
                    stored = next(nodes, None)
            if not position & 1:
                break
            current = digest(b"\x01" + frontier.pop() + current)
            level += 1
            position >>= 1
        frontier.append(current)
        size += 1
        if size in pending:
            _check_roots_at(size, frontier, digest, empty_root, pending, report)
        if progress is not None and not size & 0x3FFF:
            progress(size)
    report.leaves = size
    if compare_nodes and stored is not None:
        report.problem(f"stored node (last leaf {stored[0]}, level {stored[1]}) has no record", stored[0])
    for tree_size in sorted(pending):
        report.problem(f"checkpoint of size {tree_size} is beyond the {size} records at hand", size)
    if progress is not None:
        progress(size)
    return report


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

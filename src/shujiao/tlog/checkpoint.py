"""Checkpoints (signed tree heads) in the C2SP ``tlog-checkpoint`` format::

    <origin>
    <tree size, decimal>
    <root hash, base64>
    <blank line>
    — <key name> <base64(key ID || signature)>     (one line per signature, C2SP signed-note)
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from shujiao.crypto.note import NoteError


def body(origin: str, tree_size: int, root: bytes) -> str:
    """C2SP tlog-checkpoint body: origin, decimal size, base64 root hash, each ending in a newline."""
    return f"{origin}\n{tree_size}\n{base64.b64encode(root).decode()}\n"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root: bytes
    extensions: tuple[str, ...] = field(default=())


def parse(text: str) -> Checkpoint:
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("a checkpoint has an origin, a size and a root hash, each on its own line")
    origin, size, root = lines[0], lines[1], lines[2]
    if not size.isdigit() or (size != "0" and size.startswith("0")):
        raise NoteError(f"tree size {size!r} is not a decimal number")
    try:
        root_bytes = base64.b64decode(root, validate=True)
    except ValueError:
        raise NoteError("root hash is not base64") from None
    return Checkpoint(origin, int(size), root_bytes, tuple(lines[3:-1]))

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shujiao.db import Base, BigId, UTCDateTime


class LogHead(Base):
    """The one row that says how big the log is and what its right edge looks like.

    Every transaction that appends records locks this row (``SELECT … FOR UPDATE``) just before it
    commits, so leaf indexes are dense and in commit order across all server processes.
    """

    __tablename__ = "log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    hash_name: Mapped[str] = mapped_column(String(16))  # sha256 | sm3, fixed when the log starts
    tree_size: Mapped[int] = mapped_column(BigInteger)
    # The frontier: the roots of the perfect subtrees that make up the tree, largest first,
    # concatenated (popcount(tree_size) hashes).
    frontier: Mapped[bytes] = mapped_column(LargeBinary)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class LogNode(Base):
    """A perfect subtree's hash, written once when its last leaf arrives (insert-only).

    Keyed by ``last leaf * 64 + level`` (see ``merkle.node_id``) rather than (level, index): one
    integer, so a proof's nodes are one indexed ``IN`` list, and key order is exactly the order the
    nodes were made in, so a verifier can stream leaves and nodes side by side. Level 0 rows are
    the leaf hashes.
    """

    __tablename__ = "log_node"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class LogCheckpoint(Base):
    """A signed tree head, as published (C2SP tlog-checkpoint in a signed note). Insert-only."""

    __tablename__ = "log_checkpoint"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, index=True)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

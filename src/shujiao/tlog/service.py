"""The audit record as a transparency log (存证): proofs, signed checkpoints, reading leaves.

Appending is ``tlog.writer.append_records``, run by the audit module as each transaction commits.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import LargeBinary, bindparam, cast, select, union_all
from sqlalchemy.orm import Session

from shujiao.audit import canonical
from shujiao.audit.models import AuditEvent
from shujiao.commands import SYSTEM, Actor, query, self_recording
from shujiao.config import Settings
from shujiao.crypto import note
from shujiao.crypto import service as keys
from shujiao.crypto.hashing import Hash, hash_named
from shujiao.crypto.models import CryptoKey
from shujiao.db import utcnow
from shujiao.errors import InvalidInput, NotFound
from shujiao.tlog import checkpoint, merkle
from shujiao.tlog.writer import LogNotStarted
from shujiao.tlog.models import LogCheckpoint, LogHead, LogNode

_head = LogHead.__table__
_node = LogNode.__table__
_audit = AuditEvent.__table__


@dataclass(frozen=True)
class Head:
    hash: Hash
    tree_size: int
    root: bytes


_HEAD = select(_head.c.hash_name, _head.c.tree_size, _head.c.root).where(_head.c.id == 1)


@query
def head(session: Session) -> Head:
    row = session.execute(_HEAD).one_or_none()
    if row is None:
        raise LogNotStarted("存证日志未初始化", "the log has no head row; run `shujiao db upgrade`")
    return Head(hash_named(row.hash_name), row.tree_size, row.root)


def _nodes(session: Session, keys_needed: set[merkle.NodeKey]) -> dict[merkle.NodeKey, bytes]:
    if not keys_needed:
        return {}
    found: dict[merkle.NodeKey, bytes] = {}
    wanted = sorted(merkle.node_id(key) for key in keys_needed)
    for start in range(0, len(wanted), 500):
        for node_id, value in session.execute(_NODES_BY_ID, {"ids": wanted[start:start + 500]}):
            found[(node_id >> 6, node_id & 63)] = value
    missing = keys_needed - found.keys()
    if missing:
        raise LogNotStarted("存证日志节点缺失", f"{len(missing)} tree nodes are missing, e.g. {min(missing)}")
    return found


_NODES_BY_ID = select(_node.c.id, _node.c.hash).where(_node.c.id.in_(bindparam("ids", expanding=True)))


def _check_size(current: Head, tree_size: int) -> None:
    if not 0 < tree_size <= current.tree_size:
        raise InvalidInput("树大小超出范围", f"tree_size must be between 1 and {current.tree_size}",
                           tree_size=tree_size)


# A proof in one round trip: the nodes it needs and, as a row with a negative id (node ids never
# are), the log's size and hash name.
_NODES_AND_HEAD = union_all(
    _NODES_BY_ID,
    select((-1 - _head.c.tree_size).label("id"), cast(_head.c.hash_name, LargeBinary).label("hash"))
    .where(_head.c.id == 1),
)
# Node ids are last leaf * 64 + level in a signed 64-bit column.
_LARGEST_TREE = 1 << 56


def _proof_nodes(session: Session, keys_needed: set[merkle.NodeKey], tree_size: int) -> tuple[Hash, dict[merkle.NodeKey, bytes]]:
    """The hash and the stored nodes for a proof within the first ``tree_size`` leaves."""
    if tree_size > _LARGEST_TREE:
        raise InvalidInput("树大小超出范围", "tree_size is beyond any log", tree_size=tree_size)
    wanted = sorted(merkle.node_id(key) for key in keys_needed)
    found: dict[merkle.NodeKey, bytes] = {}
    current: Head | None = None
    connection = session.connection()  # Core: a proof reads no ORM objects
    for start in range(0, max(len(wanted), 1), 500):
        for node_id, value in connection.execute(_NODES_AND_HEAD, {"ids": wanted[start:start + 500]}):
            if node_id < 0:
                current = Head(hash_named(bytes(value).decode()), -1 - node_id, b"")
            else:
                found[(node_id >> 6, node_id & 63)] = value
    if current is None:
        raise LogNotStarted("存证日志未初始化", "the log has no head row; run `shujiao db upgrade`")
    _check_size(current, tree_size)
    missing = keys_needed - found.keys()
    if missing:
        raise LogNotStarted("存证日志节点缺失", f"{len(missing)} tree nodes are missing, e.g. {min(missing)}")
    return current.hash, found


@query
def inclusion_proof(session: Session, *, index: int, tree_size: int) -> list[bytes]:
    if not 0 <= index < tree_size:
        raise InvalidInput("叶子序号超出范围", f"index must be between 0 and {tree_size - 1}", index=index)
    ranges = merkle.inclusion_ranges(index, tree_size)
    hash_, nodes = _proof_nodes(session, merkle.proof_keys(ranges) | {(index, 0)}, tree_size)
    return merkle.proof_hashes(hash_.digest, nodes, ranges)


@query
def leaf_hash(session: Session, *, index: int) -> bytes:
    value = session.scalar(select(_node.c.hash).where(_node.c.id == merkle.node_id((index, 0))))
    if value is None:
        raise NotFound("日志条目不存在", "no such log entry", index=index)
    return value


@query
def consistency_proof(session: Session, *, first: int, second: int) -> list[bytes]:
    if not 0 < first <= second:
        raise InvalidInput("first 须在 1 与 second 之间", "first must be between 1 and second", first=first)
    ranges = merkle.consistency_ranges(first, second)
    hash_, nodes = _proof_nodes(session, merkle.proof_keys(ranges), second)
    return merkle.proof_hashes(hash_.digest, nodes, ranges)


@query
def root_at(session: Session, *, tree_size: int) -> bytes:
    current = head(session)
    if tree_size == current.tree_size:
        return current.root
    _check_size(current, tree_size)
    return merkle.range_hash(current.hash.digest, _nodes(session, set(merkle.frontier_keys(tree_size))), 0, tree_size)


# --- checkpoints ----------------------------------------------------------------------------------

@query
def latest_checkpoint(session: Session) -> LogCheckpoint | None:
    return session.scalars(select(LogCheckpoint).order_by(LogCheckpoint.id.desc()).limit(1)).first()


@self_recording
def publish_checkpoint(session: Session, actor: Actor, *, settings: Settings, force: bool = False) -> LogCheckpoint:
    """Sign the current tree head, unless the newest checkpoint already covers it or — without
    ``force`` — is younger than the checkpoint interval. Serialized by the head row lock, so
    several server processes publish one checkpoint, not one each."""
    if not (actor.is_system or actor.is_operator):
        raise InvalidInput("仅系统任务或运营方可发布检查点", "only a system job or the operator may publish checkpoints")
    locked = session.execute(
        select(_head.c.tree_size, _head.c.root).where(_head.c.id == 1).with_for_update()
    ).one_or_none()
    if locked is None:
        raise LogNotStarted("存证日志未初始化", "the log has no head row; run `shujiao db upgrade`")
    latest = latest_checkpoint(session)
    if latest is not None:
        fresh = utcnow() - latest.created_at < dt.timedelta(seconds=settings.log.checkpoint_interval_seconds)
        if latest.tree_size == locked.tree_size or (fresh and not force):
            return latest
    text = checkpoint.body(settings.log.origin, locked.tree_size, locked.root)
    signed = note.sign(text, [s.note_signer() for s in keys.active_signers(session, settings)])
    published = LogCheckpoint(tree_size=locked.tree_size, root=locked.root, note=signed, created_at=utcnow())
    session.add(published)
    session.flush()
    return published


@self_recording
def checkpoint_covering(session: Session, actor: Actor, *, settings: Settings, tree_size: int) -> LogCheckpoint:
    """The newest checkpoint if it covers ``tree_size`` leaves, else a new one (so that a record
    committed a moment ago can be proven at once, without waiting for the interval)."""
    latest = latest_checkpoint(session)
    if latest is not None and latest.tree_size >= tree_size:
        return latest
    _check_size(head(session), tree_size)  # no checkpoint can cover leaves the log does not have
    return publish_checkpoint(session, actor, settings=settings, force=True)


@query
def checkpoint_at(session: Session, *, tree_size: int) -> LogCheckpoint | None:
    return session.scalars(select(LogCheckpoint).where(LogCheckpoint.tree_size == tree_size)
                           .order_by(LogCheckpoint.id).limit(1)).first()


@query
def signing_keys(session: Session) -> Sequence[CryptoKey]:
    return session.scalars(select(CryptoKey).where(CryptoKey.purpose == "signing").order_by(CryptoKey.id)).all()


# --- reading records ------------------------------------------------------------------------------

@query
def record_at(session: Session, *, index: int) -> AuditEvent:
    event = session.scalars(select(AuditEvent).where(AuditEvent.leaf_index == index)).first()
    if event is None:
        raise NotFound("日志条目不存在", "no such log entry", index=index)
    return event


@query
def record_indexes(session: Session, *, subject_type: str, subject_id: str) -> list[int]:
    """The leaf indexes of one object's records, for callers that already checked the actor may see it."""
    return list(session.scalars(
        select(AuditEvent.leaf_index).where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id)
        .order_by(AuditEvent.leaf_index)))


@query
def iter_leaves(session: Session, *, batch: int = 5000) -> Iterator[tuple[int, bytes]]:
    """Every record's leaf bytes in log order, read in batches by leaf index."""
    after = -1
    columns = (_audit.c.leaf_index, _audit.c.occurred_at, _audit.c.actor_kind, _audit.c.actor_label,
               _audit.c.actor_user_id, _audit.c.actor_member_id, _audit.c.action, _audit.c.subject_type,
               _audit.c.subject_id, _audit.c.change_json)
    leaf_bytes = canonical.leaf_bytes
    while True:
        rows = session.execute(select(*columns).where(_audit.c.leaf_index > after)
                               .order_by(_audit.c.leaf_index).limit(batch)).all()
        if not rows:
            return
        for r in rows:
            yield r[0], leaf_bytes(index=r[0], occurred_at=r[1], actor_kind=r[2], actor_label=r[3],
                                   actor_user_id=r[4], actor_member_id=r[5], action=r[6], subject_type=r[7],
                                   subject_id=r[8], change_json=r[9])
        after = rows[-1][0]


@query
def iter_nodes(session: Session, *, batch: int = 20000) -> Iterator[tuple[int, bytes]]:
    """Every stored node in the order it was made: (node id, hash); see ``merkle.node_id``."""
    after = -1
    while True:
        rows = session.execute(select(_node.c.id, _node.c.hash).where(_node.c.id > after)
                               .order_by(_node.c.id).limit(batch)).all()
        if not rows:
            return
        yield from map(tuple, rows)
        after = rows[-1][0]


@query
def checkpoints(session: Session) -> Sequence[LogCheckpoint]:
    return session.scalars(select(LogCheckpoint).order_by(LogCheckpoint.tree_size, LogCheckpoint.id)).all()


@self_recording
def proof_bundle(session: Session, *, settings: Settings, index: int, tree_size: int | None = None,
                 with_record: bool) -> dict[str, Any]:
    """The proof bundle of one record (``tlog/offline.py`` documents it): its leaf hash, its
    inclusion proof for ``tree_size`` — default: the newest checkpoint covering it, signed now if
    there is none — and that checkpoint; the record's canonical JSON only if ``with_record``."""
    record = record_at(session, index=index)
    signed = None if tree_size is None else checkpoint_at(session, tree_size=tree_size)
    if signed is None:
        signed = checkpoint_covering(session, SYSTEM, settings=settings, tree_size=tree_size or index + 1)
    return {
        "index": index, "tree_size": signed.tree_size, "hash": head(session).hash.name,
        "leaf": canonical.event_bytes(record).decode("utf-8") if with_record else None,
        "leaf_hash": base64.b64encode(leaf_hash(session, index=index)).decode(),
        "proof": [base64.b64encode(p).decode() for p in inclusion_proof(session, index=index, tree_size=signed.tree_size)],
        "checkpoint": signed.note,
    }

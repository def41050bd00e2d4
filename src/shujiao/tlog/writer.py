"""Appending records to the log, inside the transaction that commits them.

``append_records`` is called only by the audit module's ``before_commit`` hook: the head row is
locked, the records get the next leaf indexes, their leaf hashes and the nodes they complete are
inserted, and the head moves — so a record and its place in the tree commit or roll back
together, and leaf order is commit order across every server process. The lock is taken last in
the transaction and held only through the commit, so it serializes commits, not requests.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import BigInteger, DateTime, Text, bindparam, cast, column, func, insert, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from shujiao.audit import canonical
from shujiao.audit.models import AuditEvent
from shujiao.crypto.hashing import hash_named
from shujiao.db import utcnow
from shujiao.errors import DomainError
from shujiao.tlog import merkle
from shujiao.tlog.models import LogHead, LogNode

_head = LogHead.__table__
_node = LogNode.__table__
_audit = AuditEvent.__table__

# Built once: every committing transaction runs these, and building a statement costs more than
# the SQLite round trip it makes.
_LOCK_HEAD = select(_head.c.hash_name, _head.c.tree_size, _head.c.frontier).where(_head.c.id == 1).with_for_update()
_INSERT_RECORDS = insert(_audit)
_INSERT_NODES = insert(_node)
_MOVE_HEAD = update(_head).where(_head.c.id == 1).values(
    tree_size=bindparam("new_size"), frontier=bindparam("new_frontier"), root=bindparam("new_root"),
    updated_at=bindparam("now"))

_RECORD_COLUMNS = [c.name for c in _audit.c if c.name != "id"]


def _rows_of(param: str, columns: list[Any], name: str) -> Any:
    """``json_to_recordset(:param) AS name(col type, …)``: all the rows in one JSON text parameter.
    Strings are declared ``text`` so that the INSERT, not the decoding, enforces column lengths."""
    def sql_type(column: Any) -> Any:
        impl = getattr(column.type, "impl", column.type)  # UTCDateTime: timestamptz
        return next((t for t in (BigInteger(), DateTime(timezone=True)) if isinstance(impl, type(t))), Text())

    return (func.json_to_recordset(cast(bindparam(param, type_=Text()), postgresql.JSON))
            .table_valued(*[column(c.name, sql_type(c)) for c in columns])
            .render_derived(name=name, with_types=True))


_new_records = _rows_of("records", [_audit.c[n] for n in _RECORD_COLUMNS], "r")
_new_nodes = _rows_of("nodes", [_node.c.id, _node.c.hash], "n")  # hash as hex text

# PostgreSQL: the records, their nodes and the new head in one statement (one round trip under the
# head lock instead of three). The rows travel as JSON text, one parameter each, so the statement is
# the same for any number of rows (the server keeps it prepared) and adapting it costs one string.
_WRITE_ALL_PG = _MOVE_HEAD.add_cte(
    insert(_audit).from_select(_RECORD_COLUMNS, select(*[_new_records.c[n] for n in _RECORD_COLUMNS]))
    .cte("new_records"),
).add_cte(
    insert(_node).from_select(["id", "hash"], select(_new_nodes.c.id, func.decode(_new_nodes.c.hash, "hex")))
    .cte("new_nodes"),
)


def _json_rows(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"),
                      default=lambda v: v.isoformat() if isinstance(v, dt.datetime) else v.hex())


class LogNotStarted(DomainError):
    status_code = 503
    code = "log_not_started"


def _split(frontier: bytes) -> list[bytes]:
    return [frontier[i:i + 32] for i in range(0, len(frontier), 32)]


def append_records(session: Session, rows: list[dict[str, Any]]) -> None:
    """Give ``rows`` (audit_event values) their leaf indexes and insert them with their tree nodes."""
    connection = session.connection()  # Core on the session's connection: no ORM work to do here
    head = connection.execute(_LOCK_HEAD).one_or_none()
    if head is None:
        raise LogNotStarted("存证日志未初始化（运行 shujiao db upgrade）", "the log has no head row; run `shujiao db upgrade`")
    digest = hash_named(head.hash_name).digest
    size = head.tree_size
    frontier = _split(head.frontier)
    nodes: list[dict[str, Any]] = []
    for row in rows:
        row["leaf_index"] = size
        data = canonical.leaf_bytes(
            index=size, occurred_at=row["occurred_at"], actor_kind=row["actor_kind"],
            actor_label=row["actor_label"], actor_user_id=row["actor_user_id"],
            actor_member_id=row["actor_member_id"], action=row["action"], subject_type=row["subject_type"],
            subject_id=row["subject_id"], change_json=row["change_json"])
        for key, value in merkle.append(digest, frontier, size, merkle.leaf_hash(digest, data)):
            nodes.append({"id": merkle.node_id(key), "hash": value})
        size += 1
    head_values = {"new_size": size, "new_frontier": b"".join(frontier),
                   "new_root": merkle.root_from_frontier(digest, frontier, digest(b"")), "now": utcnow()}
    if connection.dialect.name == "postgresql":
        connection.execute(_WRITE_ALL_PG, {"records": _json_rows(rows), "nodes": _json_rows(nodes), **head_values})
        return
    connection.execute(_INSERT_RECORDS, rows)
    connection.execute(_INSERT_NODES, nodes)
    connection.execute(_MOVE_HEAD, head_values)

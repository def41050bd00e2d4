"""Keys, and the audit record as a transparency log (Merkle tree, checkpoints).

Existing audit records become the first leaves, in id order, hashed with the suite configured
when this migration runs (SHUJIAO_CRYPTO__SUITE; default ``gm`` = SM3). The log keeps that hash
for good: it is stored in ``log_head``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:00:00
"""

from __future__ import annotations

import datetime

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

NEW_APPEND_ONLY = ("log_node", "log_checkpoint")


def upgrade() -> None:
    op.create_table('crypto_key',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('algorithm', sa.String(length=16), nullable=False),
    sa.Column('note_name', sa.String(length=200), nullable=True),
    sa.Column('note_key_id', sa.BigInteger(), nullable=True),
    sa.Column('public_pem', sa.Text(), nullable=True),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crypto_key'))
    )
    op.create_table('log_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hash_name', sa.String(length=16), nullable=False),
    sa.Column('tree_size', sa.BigInteger(), nullable=False),
    sa.Column('frontier', sa.LargeBinary(), nullable=False),
    sa.Column('root', sa.LargeBinary(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_log_head'))
    )
    op.create_table('log_node',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('hash', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_log_node'))
    )
    op.create_table('log_checkpoint',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tree_size', sa.BigInteger(), nullable=False),
    sa.Column('root', sa.LargeBinary(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_log_checkpoint'))
    )
    with op.batch_alter_table('log_checkpoint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_log_checkpoint_tree_size'), ['tree_size'], unique=False)

    postgres = op.get_bind().dialect.name == "postgresql"
    _set_audit_guard(enabled=False, postgres=postgres)
    op.add_column('audit_event', sa.Column('leaf_index', sa.BigInteger(), nullable=True))
    _start_log_with_existing_records()
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.alter_column('leaf_index', existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_index('ix_audit_event_leaf_index', ['leaf_index'], unique=True)
    _set_audit_guard(enabled=True, postgres=postgres)
    for table in NEW_APPEND_ONLY:
        _guard(table, postgres)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in NEW_APPEND_ONLY:
        _unguard(table, postgres)
    _set_audit_guard(enabled=False, postgres=postgres)
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_leaf_index')
        batch_op.drop_column('leaf_index')
    _set_audit_guard(enabled=True, postgres=postgres)
    with op.batch_alter_table('log_checkpoint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_log_checkpoint_tree_size'))
    op.drop_table('log_checkpoint')
    op.drop_table('log_node')
    op.drop_table('log_head')
    op.drop_table('crypto_key')


def _guard(table: str, postgres: bool) -> None:
    if postgres:  # shujiao_refuse_change() comes from revision 0001
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION shujiao_refuse_change()")
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


def _unguard(table: str, postgres: bool) -> None:
    if postgres:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    else:
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")


def _set_audit_guard(*, enabled: bool, postgres: bool) -> None:
    """Giving existing records their leaf index is the one UPDATE audit_event ever sees; the
    append-only guard is lifted for it inside this migration's transaction (PostgreSQL) or around
    the table rebuild (SQLite, whose batch mode recreates the table and would drop its triggers)."""
    if postgres:
        op.execute(f"ALTER TABLE audit_event {'ENABLE' if enabled else 'DISABLE'} TRIGGER audit_event_append_only")
    elif enabled:
        _guard("audit_event", postgres=False)
    else:
        _unguard("audit_event", postgres=False)


def _start_log_with_existing_records() -> None:
    # Imported here: the leaf format and the tree arithmetic are the application's own, and the
    # log must be built exactly as the application will extend it.
    from shujiao.audit import canonical
    from shujiao.config import Settings
    from shujiao.crypto.hashing import SHA256, SM3
    from shujiao.tlog import merkle

    hash_ = SM3 if Settings().crypto.suite == "gm" else SHA256
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT id, occurred_at, actor_kind, actor_user_id, actor_member_id, actor_label, action, "
        "subject_type, subject_id, change_json FROM audit_event ORDER BY id")).mappings().all()
    frontier: list[bytes] = []
    nodes = []
    for index, row in enumerate(rows):
        occurred_at = row["occurred_at"]
        if isinstance(occurred_at, str):
            occurred_at = datetime.datetime.fromisoformat(occurred_at)
        if occurred_at.tzinfo is None:
            occurred_at = occurred_at.replace(tzinfo=datetime.UTC)
        data = canonical.leaf_bytes(
            index=index, occurred_at=occurred_at, actor_kind=row["actor_kind"], actor_label=row["actor_label"],
            actor_user_id=row["actor_user_id"], actor_member_id=row["actor_member_id"], action=row["action"],
            subject_type=row["subject_type"], subject_id=row["subject_id"], change_json=row["change_json"])
        for key, value in merkle.append(hash_.digest, frontier, index, merkle.leaf_hash(hash_.digest, data)):
            nodes.append({"id": merkle.node_id(key), "hash": value})
        bind.execute(sa.text("UPDATE audit_event SET leaf_index = :i WHERE id = :id"), {"i": index, "id": row["id"]})
    node = sa.table("log_node", sa.column("id", sa.BigInteger), sa.column("hash", sa.LargeBinary))
    if nodes:
        op.bulk_insert(node, nodes)
    now = datetime.datetime.now(datetime.UTC)
    if bind.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)
    head = sa.table("log_head", sa.column("id", sa.Integer), sa.column("hash_name", sa.String),
                    sa.column("tree_size", sa.BigInteger), sa.column("frontier", sa.LargeBinary),
                    sa.column("root", sa.LargeBinary), sa.column("updated_at", sa.DateTime(timezone=True)))
    op.bulk_insert(head, [{
        "id": 1, "hash_name": hash_.name, "tree_size": len(rows), "frontier": b"".join(frontier),
        "root": merkle.root_from_frontier(hash_.digest, frontier, hash_.digest(b"")), "updated_at": now,
    }])

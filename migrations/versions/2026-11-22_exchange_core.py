"""Exchange core: members, catalog, listing, ledger, orders, delivery and the audit record.

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 07:25:44.583480
"""

from __future__ import annotations

import datetime

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_kind', sa.String(length=16), nullable=False),
    sa.Column('actor_user_id', sa.BigInteger(), nullable=True),
    sa.Column('actor_member_id', sa.BigInteger(), nullable=True),
    sa.Column('actor_label', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject_type', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('change_json', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_subject', ['subject_type', 'subject_id', 'id'], unique=False)

    op.create_table('ledger_entry',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('memo', sa.String(length=500), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entry')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_ledger_entry_idempotency_key'))
    )
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_entry_kind'), ['kind'], unique=False)

    op.create_table('member',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decision_reason', sa.String(length=1000), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member')),
    sa.UniqueConstraint('credit_code', name=op.f('uq_member_credit_code'))
    )
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_status'), ['status'], unique=False)

    op.create_table('catalog_resource',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('domain', sa.String(length=64), nullable=False),
    sa.Column('grade', sa.String(length=16), nullable=False),
    sa.Column('sensitivity', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_catalog_resource_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_resource'))
    )
    with op.batch_alter_table('catalog_resource', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalog_resource_member_id'), ['member_id'], unique=False)

    op.create_table('ledger_account',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('normal_side', sa.String(length=8), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('balance_fen', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind = 'bank' OR balance_fen >= 0", name=op.f('ck_ledger_account_balance_not_negative')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_ledger_account_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_account')),
    sa.UniqueConstraint('code', name=op.f('uq_ledger_account_code'))
    )
    with op.batch_alter_table('ledger_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_account_member_id'), ['member_id'], unique=False)

    op.create_table('member_user',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_member_user_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_user')),
    sa.UniqueConstraint('username', name=op.f('uq_member_user_username'))
    )
    with op.batch_alter_table('member_user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_user_member_id'), ['member_id'], unique=False)

    op.create_table('catalog_dataset',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('resource_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('file_format', sa.String(length=16), nullable=False),
    sa.Column('storage_key', sa.String(length=255), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('row_count', sa.BigInteger(), nullable=False),
    sa.Column('columns_json', sa.Text(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_catalog_dataset_member_id_member')),
    sa.ForeignKeyConstraint(['resource_id'], ['catalog_resource.id'], name=op.f('fk_catalog_dataset_resource_id_catalog_resource')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_dataset')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_catalog_dataset_storage_key'))
    )
    with op.batch_alter_table('catalog_dataset', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalog_dataset_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_catalog_dataset_resource_id'), ['resource_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_catalog_dataset_sha256'), ['sha256'], unique=False)

    op.create_table('ledger_posting',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount_fen <> 0', name=op.f('ck_ledger_posting_amount_not_zero')),
    sa.ForeignKeyConstraint(['account_id'], ['ledger_account.id'], name=op.f('fk_ledger_posting_account_id_ledger_account')),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entry.id'], name=op.f('fk_ledger_posting_entry_id_ledger_entry')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_posting'))
    )
    with op.batch_alter_table('ledger_posting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_posting_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_posting_entry_id'), ['entry_id'], unique=False)

    op.create_table('member_session',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['member_user.id'], name=op.f('fk_member_session_user_id_member_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_session')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_member_session_token_sha256'))
    )
    with op.batch_alter_table('member_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_session_user_id'), ['user_id'], unique=False)

    op.create_table('listing_product',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('resource_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dataset_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('listed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['dataset_id'], ['catalog_dataset.id'], name=op.f('fk_listing_product_dataset_id_catalog_dataset')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_listing_product_member_id_member')),
    sa.ForeignKeyConstraint(['resource_id'], ['catalog_resource.id'], name=op.f('fk_listing_product_resource_id_catalog_resource')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listing_product'))
    )
    with op.batch_alter_table('listing_product', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_listing_product_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_listing_product_status'), ['status'], unique=False)

    op.create_table('listing_review',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_version', sa.Integer(), nullable=False),
    sa.Column('reviewer_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('checklist_json', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['listing_product.id'], name=op.f('fk_listing_review_product_id_listing_product')),
    sa.ForeignKeyConstraint(['reviewer_user_id'], ['member_user.id'], name=op.f('fk_listing_review_reviewer_user_id_member_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listing_review'))
    )
    with op.batch_alter_table('listing_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_listing_review_product_id'), ['product_id'], unique=False)

    op.create_table('market_order',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('buyer_member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('provider_member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_version', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('fee_fen', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('snapshot_json', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('close_reason', sa.String(length=1000), nullable=False),
    sa.ForeignKeyConstraint(['buyer_member_id'], ['member.id'], name=op.f('fk_market_order_buyer_member_id_member')),
    sa.ForeignKeyConstraint(['dataset_id'], ['catalog_dataset.id'], name=op.f('fk_market_order_dataset_id_catalog_dataset')),
    sa.ForeignKeyConstraint(['product_id'], ['listing_product.id'], name=op.f('fk_market_order_product_id_listing_product')),
    sa.ForeignKeyConstraint(['provider_member_id'], ['member.id'], name=op.f('fk_market_order_provider_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_market_order'))
    )
    with op.batch_alter_table('market_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_market_order_buyer_member_id'), ['buyer_member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_market_order_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_market_order_provider_member_id'), ['provider_member_id'], unique=False)
        batch_op.create_index('ix_market_order_status_delivered_at', ['status', 'delivered_at'], unique=False)

    op.create_table('delivery_link',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_delivery_link_member_id_member')),
    sa.ForeignKeyConstraint(['order_id'], ['market_order.id'], name=op.f('fk_delivery_link_order_id_market_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_link')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_delivery_link_token_sha256'))
    )
    with op.batch_alter_table('delivery_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_link_order_id'), ['order_id'], unique=False)

    op.create_table('delivery_download',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('link_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('client_address', sa.String(length=64), nullable=False),
    sa.Column('downloaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['link_id'], ['delivery_link.id'], name=op.f('fk_delivery_download_link_id_delivery_link')),
    sa.ForeignKeyConstraint(['order_id'], ['market_order.id'], name=op.f('fk_delivery_download_order_id_market_order')),
    sa.ForeignKeyConstraint(['user_id'], ['member_user.id'], name=op.f('fk_delivery_download_user_id_member_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_download'))
    )
    with op.batch_alter_table('delivery_download', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_download_link_id'), ['link_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_download_order_id'), ['order_id'], unique=False)


    _install_guards()
    _open_exchange_accounts()

def downgrade() -> None:
    _remove_guards()
    with op.batch_alter_table('delivery_download', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_download_order_id'))
        batch_op.drop_index(batch_op.f('ix_delivery_download_link_id'))

    op.drop_table('delivery_download')
    with op.batch_alter_table('delivery_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_link_order_id'))

    op.drop_table('delivery_link')
    with op.batch_alter_table('market_order', schema=None) as batch_op:
        batch_op.drop_index('ix_market_order_status_delivered_at')
        batch_op.drop_index(batch_op.f('ix_market_order_provider_member_id'))
        batch_op.drop_index(batch_op.f('ix_market_order_product_id'))
        batch_op.drop_index(batch_op.f('ix_market_order_buyer_member_id'))

    op.drop_table('market_order')
    with op.batch_alter_table('listing_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_listing_review_product_id'))

    op.drop_table('listing_review')
    with op.batch_alter_table('listing_product', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_listing_product_status'))
        batch_op.drop_index(batch_op.f('ix_listing_product_member_id'))

    op.drop_table('listing_product')
    with op.batch_alter_table('member_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_session_user_id'))

    op.drop_table('member_session')
    with op.batch_alter_table('ledger_posting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_posting_entry_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_posting_account_id'))

    op.drop_table('ledger_posting')
    with op.batch_alter_table('catalog_dataset', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_catalog_dataset_sha256'))
        batch_op.drop_index(batch_op.f('ix_catalog_dataset_resource_id'))
        batch_op.drop_index(batch_op.f('ix_catalog_dataset_member_id'))

    op.drop_table('catalog_dataset')
    with op.batch_alter_table('member_user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_user_member_id'))

    op.drop_table('member_user')
    with op.batch_alter_table('ledger_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_account_member_id'))

    op.drop_table('ledger_account')
    with op.batch_alter_table('catalog_resource', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_catalog_resource_member_id'))

    op.drop_table('catalog_resource')
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_status'))

    op.drop_table('member')
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_entry_kind'))

    op.drop_table('ledger_entry')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_subject')

    op.drop_table('audit_event')


APPEND_ONLY = ("audit_event", "ledger_entry", "ledger_posting")


def _install_guards() -> None:
    """Database-side guards beside the Python rules: append-only tables and balanced entries."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION shujiao_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
            END $$""")
        for table in APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION shujiao_refuse_change()")
        op.execute("""
            CREATE FUNCTION shujiao_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE total bigint;
            BEGIN
              SELECT COALESCE(SUM(amount_fen), 0) INTO total FROM ledger_posting WHERE entry_id = NEW.entry_id;
              IF total <> 0 THEN
                RAISE EXCEPTION 'ledger entry % does not balance (% fen)', NEW.entry_id, total
                  USING ERRCODE = 'check_violation';
              END IF;
              RETURN NULL;
            END $$""")
        op.execute("CREATE CONSTRAINT TRIGGER ledger_posting_balanced AFTER INSERT ON ledger_posting "
                   "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION shujiao_entry_balanced()")
    else:
        for table in APPEND_ONLY:
            for verb in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


def _remove_guards() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_posting_balanced ON ledger_posting")
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS shujiao_entry_balanced()")
        op.execute("DROP FUNCTION IF EXISTS shujiao_refuse_change()")
    else:
        for table in APPEND_ONLY:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")


def _open_exchange_accounts() -> None:
    """The exchange's own accounts: its bank money (debit-normal) and its fee income (credit-normal)."""
    accounts = sa.table(
        "ledger_account",
        sa.column("code", sa.String), sa.column("kind", sa.String), sa.column("normal_side", sa.String),
        sa.column("member_id", sa.BigInteger), sa.column("balance_fen", sa.BigInteger),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    now = datetime.datetime.now(datetime.UTC)
    if op.get_bind().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)
    op.bulk_insert(accounts, [
        {"code": "exchange:bank", "kind": "bank", "normal_side": "debit", "member_id": None,
         "balance_fen": 0, "created_at": now},
        {"code": "exchange:fees", "kind": "fees", "normal_side": "credit", "member_id": None,
         "balance_fen": 0, "created_at": now},
    ])

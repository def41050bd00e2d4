"""Data resource accounting (数据资源入表): asset cards, their insert-only entries, and each
member's default for purchases that flow in from the exchange.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('accounting_policy',
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('default_classification', sa.String(length=16), nullable=False),
    sa.Column('default_useful_life_months', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_accounting_policy_member_id_member')),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_accounting_policy'))
    )
    op.create_table('accounting_asset',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('resource_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('dataset_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('classification', sa.String(length=16), nullable=False),
    sa.Column('acquisition', sa.String(length=16), nullable=False),
    sa.Column('useful_life_months', sa.Integer(), nullable=True),
    sa.Column('ready_for_use_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('classified_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['dataset_id'], ['catalog_dataset.id'], name=op.f('fk_accounting_asset_dataset_id_catalog_dataset')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_accounting_asset_member_id_member')),
    sa.ForeignKeyConstraint(['product_id'], ['listing_product.id'], name=op.f('fk_accounting_asset_product_id_listing_product')),
    sa.ForeignKeyConstraint(['resource_id'], ['catalog_resource.id'], name=op.f('fk_accounting_asset_resource_id_catalog_resource')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounting_asset'))
    )
    with op.batch_alter_table('accounting_asset', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accounting_asset_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_accounting_asset_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_accounting_asset_status'), ['status'], unique=False)

    op.create_table('accounting_entry',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('asset_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_type', sa.String(length=24), nullable=False),
    sa.Column('detail', sa.String(length=24), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=True),
    sa.Column('reverses_entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['accounting_asset.id'], name=op.f('fk_accounting_entry_asset_id_accounting_asset')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_accounting_entry_member_id_member')),
    sa.ForeignKeyConstraint(['reverses_entry_id'], ['accounting_entry.id'], name=op.f('fk_accounting_entry_reverses_entry_id_accounting_entry')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounting_entry')),
    sa.UniqueConstraint('reverses_entry_id', name=op.f('uq_accounting_entry_reverses_entry_id')),
    sa.UniqueConstraint('source', name=op.f('uq_accounting_entry_source'))
    )
    with op.batch_alter_table('accounting_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accounting_entry_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_accounting_entry_member_id'), ['member_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('accounting_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accounting_entry_member_id'))
        batch_op.drop_index(batch_op.f('ix_accounting_entry_asset_id'))

    op.drop_table('accounting_entry')
    with op.batch_alter_table('accounting_asset', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accounting_asset_status'))
        batch_op.drop_index(batch_op.f('ix_accounting_asset_product_id'))
        batch_op.drop_index(batch_op.f('ix_accounting_asset_member_id'))

    op.drop_table('accounting_asset')
    op.drop_table('accounting_policy')

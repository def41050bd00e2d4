"""fingerprint tables: the provider's fingerprint policy per product, and each buyer copy served.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('fingerprint_policy',
    sa.Column('id', _ID, nullable=False),
    sa.Column('product_id', _ID, nullable=False),
    sa.Column('member_id', _ID, nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('key_columns_json', sa.Text(), nullable=False),
    sa.Column('columns_json', sa.Text(), nullable=False),
    sa.Column('gamma', sa.Integer(), nullable=False),
    sa.Column('updated_by_user_id', _ID, nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_fingerprint_policy_member_id_member')),
    sa.ForeignKeyConstraint(['product_id'], ['listing_product.id'],
                            name=op.f('fk_fingerprint_policy_product_id_listing_product')),
    sa.ForeignKeyConstraint(['updated_by_user_id'], ['member_user.id'],
                            name=op.f('fk_fingerprint_policy_updated_by_user_id_member_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fingerprint_policy')),
    sa.UniqueConstraint('product_id', name=op.f('uq_fingerprint_policy_product_id'))
    )
    with op.batch_alter_table('fingerprint_policy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fingerprint_policy_member_id'), ['member_id'], unique=False)

    op.create_table('fingerprint_copy',
    sa.Column('id', _ID, nullable=False),
    sa.Column('order_id', _ID, nullable=False),
    sa.Column('product_id', _ID, nullable=False),
    sa.Column('dataset_id', _ID, nullable=False),
    sa.Column('policy_json', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('rows', sa.BigInteger(), nullable=False),
    sa.Column('marked_cells', sa.BigInteger(), nullable=False),
    sa.Column('omitted_rows', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['catalog_dataset.id'], name=op.f('fk_fingerprint_copy_dataset_id_catalog_dataset')),
    sa.ForeignKeyConstraint(['order_id'], ['market_order.id'], name=op.f('fk_fingerprint_copy_order_id_market_order')),
    sa.ForeignKeyConstraint(['product_id'], ['listing_product.id'],
                            name=op.f('fk_fingerprint_copy_product_id_listing_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fingerprint_copy'))
    )
    with op.batch_alter_table('fingerprint_copy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fingerprint_copy_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_fingerprint_copy_product_id'), ['product_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('fingerprint_copy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fingerprint_copy_product_id'))
        batch_op.drop_index(batch_op.f('ix_fingerprint_copy_order_id'))
    op.drop_table('fingerprint_copy')
    with op.batch_alter_table('fingerprint_policy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fingerprint_policy_member_id'))
    op.drop_table('fingerprint_policy')

"""usage control: the offer on each product, the purpose on each order, a contract per paid order
and the log of refused uses.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    # Existing products get "{}": the default offer.
    with op.batch_alter_table('listing_product', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offer_json', sa.Text(), server_default='{}', nullable=False))
    with op.batch_alter_table('market_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purpose', sa.String(length=32), server_default='', nullable=False))

    op.create_table('usage_contract',
    sa.Column('order_id', _ID, autoincrement=False, nullable=False),
    sa.Column('root_order_id', sa.BigInteger(), nullable=False),
    sa.Column('buyer_member_id', _ID, nullable=False),
    sa.Column('provider_member_id', _ID, nullable=False),
    sa.Column('product_id', _ID, nullable=False),
    sa.Column('dataset_id', _ID, nullable=False),
    sa.Column('offer_json', sa.Text(), nullable=False),
    sa.Column('agreement_json', sa.Text(), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('max_downloads', sa.Integer(), nullable=True),
    sa.Column('downloads_used', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoke_reason', sa.String(length=1000), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['market_order.id'], name=op.f('fk_usage_contract_order_id_market_order')),
    sa.ForeignKeyConstraint(['buyer_member_id'], ['member.id'], name=op.f('fk_usage_contract_buyer_member_id_member')),
    sa.ForeignKeyConstraint(['provider_member_id'], ['member.id'], name=op.f('fk_usage_contract_provider_member_id_member')),
    sa.ForeignKeyConstraint(['product_id'], ['listing_product.id'], name=op.f('fk_usage_contract_product_id_listing_product')),
    sa.ForeignKeyConstraint(['dataset_id'], ['catalog_dataset.id'], name=op.f('fk_usage_contract_dataset_id_catalog_dataset')),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_usage_contract'))
    )
    with op.batch_alter_table('usage_contract', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_contract_root_order_id'), ['root_order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_usage_contract_buyer_member_id'), ['buyer_member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_usage_contract_provider_member_id'), ['provider_member_id'], unique=False)

    op.create_table('usage_denial',
    sa.Column('id', _ID, nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=True),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('rule', sa.String(length=32), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_denial'))
    )
    with op.batch_alter_table('usage_denial', schema=None) as batch_op:
        batch_op.create_index('ix_usage_denial_order_id_occurred_at', ['order_id', 'occurred_at'], unique=False)


def downgrade() -> None:
    op.drop_table('usage_denial')
    op.drop_table('usage_contract')
    with op.batch_alter_table('market_order', schema=None) as batch_op:
        batch_op.drop_column('purpose')
    with op.batch_alter_table('listing_product', schema=None) as batch_op:
        batch_op.drop_column('offer_json')

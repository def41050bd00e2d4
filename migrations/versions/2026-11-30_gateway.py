"""API gateway (API 网关): upstreams with sealed secrets, contract API keys, billing periods with their
leased call counters, per-second rate windows, batched call records and statements (对账单).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('gateway_call',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('key_id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('forwarded', sa.Boolean(), nullable=False),
    sa.Column('bytes_in', sa.BigInteger(), nullable=False),
    sa.Column('bytes_out', sa.BigInteger(), nullable=False),
    sa.Column('latency_us', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gateway_call'))
    )
    op.create_index('ix_gateway_call_order_id_at', 'gateway_call', ['order_id', 'at'], unique=False)
    op.create_table('gateway_rate_window',
    sa.Column('order_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('second', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('used', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('order_id', 'second', name=op.f('pk_gateway_rate_window'))
    )
    op.create_table('gateway_upstream',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('base_url', sa.String(length=500), nullable=False),
    sa.Column('auth_header', sa.String(length=100), nullable=False),
    sa.Column('master_key_id', sa.String(length=64), nullable=False),
    sa.Column('sealed_secret', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_gateway_upstream_member_id_member')),
    sa.ForeignKeyConstraint(['product_id'], ['listing_product.id'], name=op.f('fk_gateway_upstream_product_id_listing_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gateway_upstream')),
    sa.UniqueConstraint('product_id', name=op.f('uq_gateway_upstream_product_id'))
    )
    op.create_index(op.f('ix_gateway_upstream_member_id'), 'gateway_upstream', ['member_id'], unique=False)
    op.create_table('gateway_api_key',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('key_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_gateway_api_key_member_id_member')),
    sa.ForeignKeyConstraint(['order_id'], ['market_order.id'], name=op.f('fk_gateway_api_key_order_id_market_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gateway_api_key')),
    sa.UniqueConstraint('key_sha256', name=op.f('uq_gateway_api_key_key_sha256'))
    )
    op.create_index(op.f('ix_gateway_api_key_order_id'), 'gateway_api_key', ['order_id'], unique=False)
    op.create_table('gateway_period',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('quota', sa.BigInteger(), nullable=True),
    sa.Column('claimed', sa.BigInteger(), nullable=False),
    sa.Column('plan_json', sa.Text(), nullable=False),
    sa.Column('billed', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['market_order.id'], name=op.f('fk_gateway_period_order_id_market_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gateway_period')),
    sa.UniqueConstraint('order_id', 'period_start', name=op.f('uq_gateway_period_order_id_period_start'))
    )
    op.create_index(op.f('ix_gateway_period_period_end'), 'gateway_period', ['period_end'], unique=False)
    op.create_table('gateway_statement',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('buyer_member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('provider_member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('calls_total', sa.BigInteger(), nullable=False),
    sa.Column('calls_billable', sa.BigInteger(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('fee_fen', sa.BigInteger(), nullable=False),
    sa.Column('lines_json', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('ledger_key', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['buyer_member_id'], ['member.id'], name=op.f('fk_gateway_statement_buyer_member_id_member')),
    sa.ForeignKeyConstraint(['order_id'], ['market_order.id'], name=op.f('fk_gateway_statement_order_id_market_order')),
    sa.ForeignKeyConstraint(['provider_member_id'], ['member.id'], name=op.f('fk_gateway_statement_provider_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gateway_statement')),
    sa.UniqueConstraint('order_id', 'period_start', name=op.f('uq_gateway_statement_order_id_period_start'))
    )
    op.create_index(op.f('ix_gateway_statement_order_id'), 'gateway_statement', ['order_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_gateway_statement_order_id'), table_name='gateway_statement')
    op.drop_table('gateway_statement')
    op.drop_index(op.f('ix_gateway_period_period_end'), table_name='gateway_period')
    op.drop_table('gateway_period')
    op.drop_index(op.f('ix_gateway_api_key_order_id'), table_name='gateway_api_key')
    op.drop_table('gateway_api_key')
    op.drop_index(op.f('ix_gateway_upstream_member_id'), table_name='gateway_upstream')
    op.drop_table('gateway_upstream')
    op.drop_table('gateway_rate_window')
    op.drop_index('ix_gateway_call_order_id_at', table_name='gateway_call')
    op.drop_table('gateway_call')

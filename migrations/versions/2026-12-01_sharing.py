"""Delta Sharing: one bearer-token profile per contract (hashed token, expiry, revocation) and the
metering record of each read.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sharing_profile',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('issued_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['issued_by_user_id'], ['member_user.id'], name=op.f('fk_sharing_profile_issued_by_user_id_member_user')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_sharing_profile_member_id_member')),
    sa.ForeignKeyConstraint(['order_id'], ['market_order.id'], name=op.f('fk_sharing_profile_order_id_market_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sharing_profile')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_sharing_profile_token_sha256'))
    )
    with op.batch_alter_table('sharing_profile', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sharing_profile_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sharing_profile_order_id'), ['order_id'], unique=False)

    op.create_table('sharing_read',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('profile_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('file_bytes', sa.BigInteger(), nullable=False),
    sa.Column('num_records', sa.BigInteger(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['market_order.id'], name=op.f('fk_sharing_read_order_id_market_order')),
    sa.ForeignKeyConstraint(['profile_id'], ['sharing_profile.id'], name=op.f('fk_sharing_read_profile_id_sharing_profile')),
    sa.ForeignKeyConstraint(['user_id'], ['member_user.id'], name=op.f('fk_sharing_read_user_id_member_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sharing_read'))
    )
    with op.batch_alter_table('sharing_read', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sharing_read_order_id'), ['order_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sharing_read', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sharing_read_order_id'))
    op.drop_table('sharing_read')
    with op.batch_alter_table('sharing_profile', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sharing_profile_order_id'))
        batch_op.drop_index(batch_op.f('ix_sharing_profile_member_id'))
    op.drop_table('sharing_profile')

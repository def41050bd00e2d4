"""Asset valuation (数据资产评估) reports.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('valuation_report',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('subject_type', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=True),
    sa.Column('subject_text', sa.String(length=200), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('inputs_json', sa.Text(), nullable=False),
    sa.Column('result_json', sa.Text(), nullable=False),
    sa.Column('value_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finalized_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['member_user.id'], name=op.f('fk_valuation_report_created_by_user_id_member_user')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_valuation_report_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_valuation_report'))
    )
    with op.batch_alter_table('valuation_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_valuation_report_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_valuation_report_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('valuation_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_valuation_report_status'))
        batch_op.drop_index(batch_op.f('ix_valuation_report_member_id'))

    op.drop_table('valuation_report')

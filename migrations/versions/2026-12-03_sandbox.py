"""sandbox tables: the output policy per product, buyer jobs, the DP budget and its ledger, PSI runs.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('sandbox_policy',
    sa.Column('id', _ID, nullable=False),
    sa.Column('product_id', _ID, nullable=False),
    sa.Column('member_id', _ID, nullable=False),
    sa.Column('policy_json', sa.Text(), nullable=False),
    sa.Column('updated_by_user_id', _ID, nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_sandbox_policy_member_id_member')),
    sa.ForeignKeyConstraint(['product_id'], ['listing_product.id'], name=op.f('fk_sandbox_policy_product_id_listing_product')),
    sa.ForeignKeyConstraint(['updated_by_user_id'], ['member_user.id'], name=op.f('fk_sandbox_policy_updated_by_user_id_member_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sandbox_policy')),
    sa.UniqueConstraint('product_id', name=op.f('uq_sandbox_policy_product_id'))
    )
    with op.batch_alter_table('sandbox_policy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sandbox_policy_member_id'), ['member_id'], unique=False)

    op.create_table('sandbox_budget',
    sa.Column('id', _ID, nullable=False),
    sa.Column('order_id', _ID, nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('limit_micro', sa.BigInteger(), nullable=False),
    sa.Column('spent_micro', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['market_order.id'], name=op.f('fk_sandbox_budget_order_id_market_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sandbox_budget')),
    sa.UniqueConstraint('order_id', 'period_start', name=op.f('uq_sandbox_budget_order_id_period_start'))
    )
    op.create_table('sandbox_psi_run',
    sa.Column('id', _ID, nullable=False),
    sa.Column('order_id', _ID, nullable=False),
    sa.Column('buyer_member_id', _ID, nullable=False),
    sa.Column('provider_member_id', _ID, nullable=False),
    sa.Column('product_id', _ID, nullable=False),
    sa.Column('dataset_id', _ID, nullable=False),
    sa.Column('submitted_by_user_id', _ID, nullable=True),
    sa.Column('key_column', sa.String(length=200), nullable=False),
    sa.Column('reveal', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('buyer_ids_key', sa.String(length=300), nullable=False),
    sa.Column('buyer_count', sa.BigInteger(), nullable=False),
    sa.Column('provider_count', sa.BigInteger(), nullable=True),
    sa.Column('intersection_size', sa.BigInteger(), nullable=True),
    sa.Column('intersection_key', sa.String(length=300), nullable=False),
    sa.Column('ids_sha256', sa.String(length=64), nullable=False),
    sa.Column('message_en', sa.String(length=1000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['buyer_member_id'], ['member.id'], name=op.f('fk_sandbox_psi_run_buyer_member_id_member')),
    sa.ForeignKeyConstraint(['dataset_id'], ['catalog_dataset.id'], name=op.f('fk_sandbox_psi_run_dataset_id_catalog_dataset')),
    sa.ForeignKeyConstraint(['order_id'], ['market_order.id'], name=op.f('fk_sandbox_psi_run_order_id_market_order')),
    sa.ForeignKeyConstraint(['product_id'], ['listing_product.id'], name=op.f('fk_sandbox_psi_run_product_id_listing_product')),
    sa.ForeignKeyConstraint(['provider_member_id'], ['member.id'], name=op.f('fk_sandbox_psi_run_provider_member_id_member')),
    sa.ForeignKeyConstraint(['submitted_by_user_id'], ['member_user.id'], name=op.f('fk_sandbox_psi_run_submitted_by_user_id_member_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sandbox_psi_run'))
    )
    with op.batch_alter_table('sandbox_psi_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sandbox_psi_run_buyer_member_id'), ['buyer_member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sandbox_psi_run_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sandbox_psi_run_provider_member_id'), ['provider_member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sandbox_psi_run_status'), ['status'], unique=False)

    op.create_table('sandbox_job',
    sa.Column('id', _ID, nullable=False),
    sa.Column('order_id', _ID, nullable=False),
    sa.Column('buyer_member_id', _ID, nullable=False),
    sa.Column('provider_member_id', _ID, nullable=False),
    sa.Column('product_id', _ID, nullable=False),
    sa.Column('dataset_id', _ID, nullable=False),
    sa.Column('submitted_by_user_id', _ID, nullable=True),
    sa.Column('sql_text', sa.Text(), nullable=False),
    sa.Column('query_sha256', sa.String(length=64), nullable=False),
    sa.Column('policy_json', sa.Text(), nullable=False),
    sa.Column('checked_json', sa.Text(), nullable=False),
    sa.Column('mode', sa.String(length=8), nullable=False),
    sa.Column('engine', sa.String(length=16), nullable=False),
    sa.Column('epsilon_micro', sa.BigInteger(), nullable=True),
    sa.Column('psi_run_id', _ID, nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('message_zh', sa.String(length=1000), nullable=False),
    sa.Column('message_en', sa.String(length=1000), nullable=False),
    sa.Column('result_json', sa.Text(), nullable=False),
    sa.Column('result_rows', sa.Integer(), nullable=True),
    sa.Column('error_bounds_json', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by_user_id', _ID, nullable=True),
    sa.Column('review_note', sa.String(length=1000), nullable=False),
    sa.ForeignKeyConstraint(['buyer_member_id'], ['member.id'], name=op.f('fk_sandbox_job_buyer_member_id_member')),
    sa.ForeignKeyConstraint(['dataset_id'], ['catalog_dataset.id'], name=op.f('fk_sandbox_job_dataset_id_catalog_dataset')),
    sa.ForeignKeyConstraint(['order_id'], ['market_order.id'], name=op.f('fk_sandbox_job_order_id_market_order')),
    sa.ForeignKeyConstraint(['product_id'], ['listing_product.id'], name=op.f('fk_sandbox_job_product_id_listing_product')),
    sa.ForeignKeyConstraint(['provider_member_id'], ['member.id'], name=op.f('fk_sandbox_job_provider_member_id_member')),
    sa.ForeignKeyConstraint(['psi_run_id'], ['sandbox_psi_run.id'], name=op.f('fk_sandbox_job_psi_run_id_sandbox_psi_run')),
    sa.ForeignKeyConstraint(['reviewed_by_user_id'], ['member_user.id'], name=op.f('fk_sandbox_job_reviewed_by_user_id_member_user')),
    sa.ForeignKeyConstraint(['submitted_by_user_id'], ['member_user.id'], name=op.f('fk_sandbox_job_submitted_by_user_id_member_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sandbox_job'))
    )
    with op.batch_alter_table('sandbox_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sandbox_job_buyer_member_id'), ['buyer_member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sandbox_job_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sandbox_job_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sandbox_job_provider_member_id'), ['provider_member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sandbox_job_status'), ['status'], unique=False)
        batch_op.create_index('ix_sandbox_job_status_id', ['status', 'id'], unique=False)

    op.create_table('sandbox_budget_entry',
    sa.Column('id', _ID, nullable=False),
    sa.Column('budget_id', _ID, nullable=False),
    sa.Column('job_id', _ID, nullable=False),
    sa.Column('delta_micro', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['budget_id'], ['sandbox_budget.id'], name=op.f('fk_sandbox_budget_entry_budget_id_sandbox_budget')),
    sa.ForeignKeyConstraint(['job_id'], ['sandbox_job.id'], name=op.f('fk_sandbox_budget_entry_job_id_sandbox_job')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sandbox_budget_entry'))
    )
    with op.batch_alter_table('sandbox_budget_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sandbox_budget_entry_budget_id'), ['budget_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sandbox_budget_entry_job_id'), ['job_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sandbox_budget_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sandbox_budget_entry_job_id'))
        batch_op.drop_index(batch_op.f('ix_sandbox_budget_entry_budget_id'))

    op.drop_table('sandbox_budget_entry')
    with op.batch_alter_table('sandbox_job', schema=None) as batch_op:
        batch_op.drop_index('ix_sandbox_job_status_id')
        batch_op.drop_index(batch_op.f('ix_sandbox_job_status'))
        batch_op.drop_index(batch_op.f('ix_sandbox_job_provider_member_id'))
        batch_op.drop_index(batch_op.f('ix_sandbox_job_product_id'))
        batch_op.drop_index(batch_op.f('ix_sandbox_job_order_id'))
        batch_op.drop_index(batch_op.f('ix_sandbox_job_buyer_member_id'))

    op.drop_table('sandbox_job')
    with op.batch_alter_table('sandbox_psi_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sandbox_psi_run_status'))
        batch_op.drop_index(batch_op.f('ix_sandbox_psi_run_provider_member_id'))
        batch_op.drop_index(batch_op.f('ix_sandbox_psi_run_order_id'))
        batch_op.drop_index(batch_op.f('ix_sandbox_psi_run_buyer_member_id'))

    op.drop_table('sandbox_psi_run')
    op.drop_table('sandbox_budget')
    with op.batch_alter_table('sandbox_policy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sandbox_policy_member_id'))

    op.drop_table('sandbox_policy')

"""Quality evaluation (数据质量评价): rule sets, profiles and signed reports.

Rule set versions per dataset, quality reports (profile and GB/T 36344-2018 scores), assessment
commissions (委托评估), the assessor's signatures, the reports attached to products and the queue of
evaluations too large to run inside a request (评价任务).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('quality_commission',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dataset_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('assessor_member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assessor_member_id'], ['member.id'], name=op.f('fk_quality_commission_assessor_member_id_member')),
    sa.ForeignKeyConstraint(['dataset_id'], ['catalog_dataset.id'], name=op.f('fk_quality_commission_dataset_id_catalog_dataset')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_quality_commission_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quality_commission'))
    )
    with op.batch_alter_table('quality_commission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quality_commission_assessor_member_id'), ['assessor_member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quality_commission_dataset_id'), ['dataset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quality_commission_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quality_commission_status'), ['status'], unique=False)
        batch_op.create_index('ix_quality_commission_one_open', ['dataset_id', 'assessor_member_id'], unique=True,
                              sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))

    op.create_table('quality_rule_set',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dataset_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('rules_text', sa.Text(), nullable=False),
    sa.Column('edited_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('edited_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['catalog_dataset.id'], name=op.f('fk_quality_rule_set_dataset_id_catalog_dataset')),
    sa.ForeignKeyConstraint(['edited_by_user_id'], ['member_user.id'], name=op.f('fk_quality_rule_set_edited_by_user_id_member_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quality_rule_set')),
    sa.UniqueConstraint('dataset_id', 'version', name=op.f('uq_quality_rule_set_dataset_id_version'))
    )
    with op.batch_alter_table('quality_rule_set', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quality_rule_set_dataset_id'), ['dataset_id'], unique=False)

    op.create_table('quality_report',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dataset_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dataset_sha256', sa.String(length=64), nullable=False),
    sa.Column('rule_set_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('rule_set_version', sa.Integer(), nullable=False),
    sa.Column('profile_json', sa.Text(), nullable=False),
    sa.Column('score_json', sa.Text(), nullable=False),
    sa.Column('overall_score', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('grade', sa.String(length=2), nullable=False),
    sa.Column('commission_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('run_by_member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('run_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('run_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['commission_id'], ['quality_commission.id'], name=op.f('fk_quality_report_commission_id_quality_commission')),
    sa.ForeignKeyConstraint(['dataset_id'], ['catalog_dataset.id'], name=op.f('fk_quality_report_dataset_id_catalog_dataset')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_quality_report_member_id_member')),
    sa.ForeignKeyConstraint(['rule_set_id'], ['quality_rule_set.id'], name=op.f('fk_quality_report_rule_set_id_quality_rule_set')),
    sa.ForeignKeyConstraint(['run_by_member_id'], ['member.id'], name=op.f('fk_quality_report_run_by_member_id_member')),
    sa.ForeignKeyConstraint(['run_by_user_id'], ['member_user.id'], name=op.f('fk_quality_report_run_by_user_id_member_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quality_report'))
    )
    with op.batch_alter_table('quality_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quality_report_commission_id'), ['commission_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quality_report_dataset_id'), ['dataset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quality_report_member_id'), ['member_id'], unique=False)

    op.create_table('quality_attachment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('report_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('attached_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('attached_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attached_by_user_id'], ['member_user.id'], name=op.f('fk_quality_attachment_attached_by_user_id_member_user')),
    sa.ForeignKeyConstraint(['product_id'], ['listing_product.id'], name=op.f('fk_quality_attachment_product_id_listing_product')),
    sa.ForeignKeyConstraint(['report_id'], ['quality_report.id'], name=op.f('fk_quality_attachment_report_id_quality_report')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quality_attachment'))
    )
    with op.batch_alter_table('quality_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quality_attachment_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quality_attachment_report_id'), ['report_id'], unique=False)

    op.create_table('quality_signature',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('report_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('commission_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('assessor_member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('report_hash', sa.String(length=80), nullable=False),
    sa.Column('opinion', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('signature', sa.LargeBinary(), nullable=False),
    sa.Column('key_id', sa.String(length=40), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assessor_member_id'], ['member.id'], name=op.f('fk_quality_signature_assessor_member_id_member')),
    sa.ForeignKeyConstraint(['commission_id'], ['quality_commission.id'], name=op.f('fk_quality_signature_commission_id_quality_commission')),
    sa.ForeignKeyConstraint(['key_id'], ['crypto_key.id'], name=op.f('fk_quality_signature_key_id_crypto_key')),
    sa.ForeignKeyConstraint(['report_id'], ['quality_report.id'], name=op.f('fk_quality_signature_report_id_quality_report')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quality_signature')),
    sa.UniqueConstraint('report_id', name=op.f('uq_quality_signature_report_id'))
    )
    with op.batch_alter_table('quality_signature', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quality_signature_assessor_member_id'), ['assessor_member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quality_signature_commission_id'), ['commission_id'], unique=False)

    op.create_table('quality_evaluation',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dataset_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('rule_set_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('requested_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('requested_by_member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('commission_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error_code', sa.String(length=64), nullable=True),
    sa.Column('error_zh', sa.Text(), nullable=True),
    sa.Column('error_en', sa.Text(), nullable=True),
    sa.Column('report_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['commission_id'], ['quality_commission.id'], name=op.f('fk_quality_evaluation_commission_id_quality_commission')),
    sa.ForeignKeyConstraint(['dataset_id'], ['catalog_dataset.id'], name=op.f('fk_quality_evaluation_dataset_id_catalog_dataset')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_quality_evaluation_member_id_member')),
    sa.ForeignKeyConstraint(['report_id'], ['quality_report.id'], name=op.f('fk_quality_evaluation_report_id_quality_report')),
    sa.ForeignKeyConstraint(['requested_by_member_id'], ['member.id'], name=op.f('fk_quality_evaluation_requested_by_member_id_member')),
    sa.ForeignKeyConstraint(['requested_by_user_id'], ['member_user.id'], name=op.f('fk_quality_evaluation_requested_by_user_id_member_user')),
    sa.ForeignKeyConstraint(['rule_set_id'], ['quality_rule_set.id'], name=op.f('fk_quality_evaluation_rule_set_id_quality_rule_set')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quality_evaluation'))
    )
    with op.batch_alter_table('quality_evaluation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quality_evaluation_dataset_id'), ['dataset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quality_evaluation_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quality_evaluation_requested_by_member_id'), ['requested_by_member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quality_evaluation_status'), ['status'], unique=False)
        batch_op.create_index('ix_quality_evaluation_one_active', ['dataset_id', 'requested_by_member_id'], unique=True,
                              sqlite_where=sa.text("status IN ('queued', 'running')"),
                              postgresql_where=sa.text("status IN ('queued', 'running')"))


def downgrade() -> None:
    with op.batch_alter_table('quality_evaluation', schema=None) as batch_op:
        batch_op.drop_index('ix_quality_evaluation_one_active')
        batch_op.drop_index(batch_op.f('ix_quality_evaluation_status'))
        batch_op.drop_index(batch_op.f('ix_quality_evaluation_requested_by_member_id'))
        batch_op.drop_index(batch_op.f('ix_quality_evaluation_member_id'))
        batch_op.drop_index(batch_op.f('ix_quality_evaluation_dataset_id'))

    op.drop_table('quality_evaluation')
    with op.batch_alter_table('quality_signature', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quality_signature_commission_id'))
        batch_op.drop_index(batch_op.f('ix_quality_signature_assessor_member_id'))

    op.drop_table('quality_signature')
    with op.batch_alter_table('quality_attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quality_attachment_report_id'))
        batch_op.drop_index(batch_op.f('ix_quality_attachment_product_id'))

    op.drop_table('quality_attachment')
    with op.batch_alter_table('quality_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quality_report_member_id'))
        batch_op.drop_index(batch_op.f('ix_quality_report_dataset_id'))
        batch_op.drop_index(batch_op.f('ix_quality_report_commission_id'))

    op.drop_table('quality_report')
    with op.batch_alter_table('quality_rule_set', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quality_rule_set_dataset_id'))

    op.drop_table('quality_rule_set')
    with op.batch_alter_table('quality_commission', schema=None) as batch_op:
        batch_op.drop_index('ix_quality_commission_one_open')
        batch_op.drop_index(batch_op.f('ix_quality_commission_status'))
        batch_op.drop_index(batch_op.f('ix_quality_commission_member_id'))
        batch_op.drop_index(batch_op.f('ix_quality_commission_dataset_id'))
        batch_op.drop_index(batch_op.f('ix_quality_commission_assessor_member_id'))

    op.drop_table('quality_commission')

"""Data registration (数据登记): applications with documents and objections, certificates and
their signed statements.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op



revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('registry_application',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('subject_type', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=False),
    sa.Column('dataset_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('rights_json', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('source_note', sa.Text(), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('schema_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('validity_years', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('duplicate_flag', sa.Boolean(), nullable=False),
    sa.Column('duplicate_of', sa.Text(), nullable=False),
    sa.Column('publicity_ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['dataset_id'], ['catalog_dataset.id'], name=op.f('fk_registry_application_dataset_id_catalog_dataset')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_registry_application_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_application'))
    )
    with op.batch_alter_table('registry_application', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registry_application_content_sha256'), ['content_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_registry_application_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_registry_application_status'), ['status'], unique=False)

    op.create_table('registry_certificate',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=True),
    sa.Column('application_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('holder_member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('right_type', sa.String(length=16), nullable=False),
    sa.Column('subject_type', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=False),
    sa.Column('dataset_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('schema_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('pledgee_member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('pending_action', sa.String(length=16), nullable=True),
    sa.Column('pending_member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('pending_note', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['registry_application.id'], name=op.f('fk_registry_certificate_application_id_registry_application')),
    sa.ForeignKeyConstraint(['dataset_id'], ['catalog_dataset.id'], name=op.f('fk_registry_certificate_dataset_id_catalog_dataset')),
    sa.ForeignKeyConstraint(['holder_member_id'], ['member.id'], name=op.f('fk_registry_certificate_holder_member_id_member')),
    sa.ForeignKeyConstraint(['pending_member_id'], ['member.id'], name=op.f('fk_registry_certificate_pending_member_id_member')),
    sa.ForeignKeyConstraint(['pledgee_member_id'], ['member.id'], name=op.f('fk_registry_certificate_pledgee_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_certificate')),
    sa.UniqueConstraint('number', name=op.f('uq_registry_certificate_number'))
    )
    with op.batch_alter_table('registry_certificate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registry_certificate_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_registry_certificate_content_sha256'), ['content_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_registry_certificate_holder_member_id'), ['holder_member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_registry_certificate_pending_member_id'), ['pending_member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_registry_certificate_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_registry_certificate_valid_until'), ['valid_until'], unique=False)

    op.create_table('registry_document',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('application_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('storage_key', sa.String(length=255), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['registry_application.id'], name=op.f('fk_registry_document_application_id_registry_application')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_document')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_registry_document_storage_key'))
    )
    with op.batch_alter_table('registry_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registry_document_application_id'), ['application_id'], unique=False)

    op.create_table('registry_objection',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('application_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('objector_member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('objector_name', sa.String(length=200), nullable=False),
    sa.Column('contact', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('resolution', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['registry_application.id'], name=op.f('fk_registry_objection_application_id_registry_application')),
    sa.ForeignKeyConstraint(['objector_member_id'], ['member.id'], name=op.f('fk_registry_objection_objector_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_objection'))
    )
    with op.batch_alter_table('registry_objection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registry_objection_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_registry_objection_status'), ['status'], unique=False)

    op.create_table('registry_statement',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('certificate_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('signature', sa.LargeBinary(), nullable=False),
    sa.Column('key_id', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['registry_certificate.id'], name=op.f('fk_registry_statement_certificate_id_registry_certificate')),
    sa.ForeignKeyConstraint(['key_id'], ['crypto_key.id'], name=op.f('fk_registry_statement_key_id_crypto_key')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_statement')),
    sa.UniqueConstraint('certificate_id', 'seq', name=op.f('uq_registry_statement_certificate_id_seq'))
    )
    with op.batch_alter_table('registry_statement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registry_statement_certificate_id'), ['certificate_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('registry_statement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_statement_certificate_id'))

    op.drop_table('registry_statement')
    with op.batch_alter_table('registry_objection', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_objection_status'))
        batch_op.drop_index(batch_op.f('ix_registry_objection_application_id'))

    op.drop_table('registry_objection')
    with op.batch_alter_table('registry_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_document_application_id'))

    op.drop_table('registry_document')
    with op.batch_alter_table('registry_certificate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_certificate_valid_until'))
        batch_op.drop_index(batch_op.f('ix_registry_certificate_status'))
        batch_op.drop_index(batch_op.f('ix_registry_certificate_pending_member_id'))
        batch_op.drop_index(batch_op.f('ix_registry_certificate_holder_member_id'))
        batch_op.drop_index(batch_op.f('ix_registry_certificate_content_sha256'))
        batch_op.drop_index(batch_op.f('ix_registry_certificate_application_id'))

    op.drop_table('registry_certificate')
    with op.batch_alter_table('registry_application', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_application_status'))
        batch_op.drop_index(batch_op.f('ix_registry_application_member_id'))
        batch_op.drop_index(batch_op.f('ix_registry_application_content_sha256'))

    op.drop_table('registry_application')

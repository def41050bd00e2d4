"""public data tables: the authority's departments, the public catalog with open classes, the
negative list, conditional-access applications and their documents, data requests, downloads and
resource surveys.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('public_data_department',
    sa.Column('id', _ID, nullable=False),
    sa.Column('authority_member_id', _ID, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['authority_member_id'], ['member.id'], name=op.f('fk_public_data_department_authority_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_public_data_department')),
    sa.UniqueConstraint('authority_member_id', 'code', name=op.f('uq_public_data_department_authority_member_id_code'))
    )
    with op.batch_alter_table('public_data_department', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_public_data_department_authority_member_id'), ['authority_member_id'], unique=False)

    op.create_table('public_data_negative_rule',
    sa.Column('id', _ID, nullable=False),
    sa.Column('authority_member_id', _ID, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('term', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['authority_member_id'], ['member.id'], name=op.f('fk_public_data_negative_rule_authority_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_public_data_negative_rule')),
    sa.UniqueConstraint('authority_member_id', 'kind', 'term', name=op.f('uq_public_data_negative_rule_authority_member_id_kind_term'))
    )
    with op.batch_alter_table('public_data_negative_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_public_data_negative_rule_authority_member_id'), ['authority_member_id'], unique=False)

    op.create_table('public_data_survey',
    sa.Column('id', _ID, nullable=False),
    sa.Column('authority_member_id', _ID, nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('period', sa.String(length=32), nullable=False),
    sa.Column('items_json', sa.Text(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['authority_member_id'], ['member.id'], name=op.f('fk_public_data_survey_authority_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_public_data_survey'))
    )
    with op.batch_alter_table('public_data_survey', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_public_data_survey_authority_member_id'), ['authority_member_id'], unique=False)

    op.create_table('public_data_request',
    sa.Column('id', _ID, nullable=False),
    sa.Column('authority_member_id', _ID, nullable=False),
    sa.Column('department_id', _ID, nullable=True),
    sa.Column('requester_member_id', _ID, nullable=True),
    sa.Column('contact', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.String(length=2000), nullable=False),
    sa.Column('scenario', sa.String(length=2000), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('answer', sa.String(length=4000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('routed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['authority_member_id'], ['member.id'], name=op.f('fk_public_data_request_authority_member_id_member')),
    sa.ForeignKeyConstraint(['department_id'], ['public_data_department.id'], name=op.f('fk_public_data_request_department_id_public_data_department')),
    sa.ForeignKeyConstraint(['requester_member_id'], ['member.id'], name=op.f('fk_public_data_request_requester_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_public_data_request'))
    )
    with op.batch_alter_table('public_data_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_public_data_request_authority_member_id'), ['authority_member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_public_data_request_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_public_data_request_status'), ['status'], unique=False)

    op.create_table('public_data_resource',
    sa.Column('id', _ID, nullable=False),
    sa.Column('resource_id', _ID, nullable=False),
    sa.Column('authority_member_id', _ID, nullable=False),
    sa.Column('department_id', _ID, nullable=False),
    sa.Column('open_class', sa.String(length=16), nullable=False),
    sa.Column('update_frequency', sa.String(length=16), nullable=False),
    sa.Column('fields_json', sa.Text(), nullable=False),
    sa.Column('conditions', sa.Text(), nullable=False),
    sa.Column('closed_reason', sa.String(length=1000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['authority_member_id'], ['member.id'], name=op.f('fk_public_data_resource_authority_member_id_member')),
    sa.ForeignKeyConstraint(['department_id'], ['public_data_department.id'], name=op.f('fk_public_data_resource_department_id_public_data_department')),
    sa.ForeignKeyConstraint(['resource_id'], ['catalog_resource.id'], name=op.f('fk_public_data_resource_resource_id_catalog_resource')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_public_data_resource')),
    sa.UniqueConstraint('resource_id', name=op.f('uq_public_data_resource_resource_id'))
    )
    with op.batch_alter_table('public_data_resource', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_public_data_resource_authority_member_id'), ['authority_member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_public_data_resource_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_public_data_resource_open_class'), ['open_class'], unique=False)

    op.create_table('public_data_survey_response',
    sa.Column('id', _ID, nullable=False),
    sa.Column('survey_id', _ID, nullable=False),
    sa.Column('department_id', _ID, nullable=False),
    sa.Column('answers_json', sa.Text(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['public_data_department.id'], name=op.f('fk_public_data_survey_response_department_id_public_data_department')),
    sa.ForeignKeyConstraint(['survey_id'], ['public_data_survey.id'], name=op.f('fk_public_data_survey_response_survey_id_public_data_survey')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_public_data_survey_response')),
    sa.UniqueConstraint('survey_id', 'department_id', name=op.f('uq_public_data_survey_response_survey_id_department_id'))
    )
    with op.batch_alter_table('public_data_survey_response', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_public_data_survey_response_survey_id'), ['survey_id'], unique=False)

    op.create_table('public_data_application',
    sa.Column('id', _ID, nullable=False),
    sa.Column('public_resource_id', _ID, nullable=False),
    sa.Column('authority_member_id', _ID, nullable=False),
    sa.Column('applicant_member_id', _ID, nullable=False),
    sa.Column('applicant_user_id', _ID, nullable=True),
    sa.Column('purpose', sa.String(length=2000), nullable=False),
    sa.Column('scenario', sa.String(length=2000), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decision_reason', sa.String(length=1000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_user_id', _ID, nullable=True),
    sa.ForeignKeyConstraint(['applicant_member_id'], ['member.id'], name=op.f('fk_public_data_application_applicant_member_id_member')),
    sa.ForeignKeyConstraint(['applicant_user_id'], ['member_user.id'], name=op.f('fk_public_data_application_applicant_user_id_member_user')),
    sa.ForeignKeyConstraint(['authority_member_id'], ['member.id'], name=op.f('fk_public_data_application_authority_member_id_member')),
    sa.ForeignKeyConstraint(['decided_by_user_id'], ['member_user.id'], name=op.f('fk_public_data_application_decided_by_user_id_member_user')),
    sa.ForeignKeyConstraint(['public_resource_id'], ['public_data_resource.id'], name=op.f('fk_public_data_application_public_resource_id_public_data_resource')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_public_data_application'))
    )
    with op.batch_alter_table('public_data_application', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_public_data_application_applicant_member_id'), ['applicant_member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_public_data_application_authority_member_id'), ['authority_member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_public_data_application_public_resource_id'), ['public_resource_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_public_data_application_status'), ['status'], unique=False)

    op.create_table('public_data_document',
    sa.Column('id', _ID, nullable=False),
    sa.Column('application_id', _ID, nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('storage_key', sa.String(length=255), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['public_data_application.id'], name=op.f('fk_public_data_document_application_id_public_data_application')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_public_data_document')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_public_data_document_storage_key'))
    )
    with op.batch_alter_table('public_data_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_public_data_document_application_id'), ['application_id'], unique=False)

    op.create_table('public_data_download',
    sa.Column('id', _ID, nullable=False),
    sa.Column('public_resource_id', _ID, nullable=False),
    sa.Column('dataset_id', _ID, nullable=False),
    sa.Column('member_id', _ID, nullable=True),
    sa.Column('application_id', _ID, nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('client_address', sa.String(length=64), nullable=False),
    sa.Column('downloaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['public_data_application.id'], name=op.f('fk_public_data_download_application_id_public_data_application')),
    sa.ForeignKeyConstraint(['dataset_id'], ['catalog_dataset.id'], name=op.f('fk_public_data_download_dataset_id_catalog_dataset')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_public_data_download_member_id_member')),
    sa.ForeignKeyConstraint(['public_resource_id'], ['public_data_resource.id'], name=op.f('fk_public_data_download_public_resource_id_public_data_resource')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_public_data_download'))
    )
    with op.batch_alter_table('public_data_download', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_public_data_download_public_resource_id'), ['public_resource_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('public_data_download', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_public_data_download_public_resource_id'))

    op.drop_table('public_data_download')
    with op.batch_alter_table('public_data_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_public_data_document_application_id'))

    op.drop_table('public_data_document')
    with op.batch_alter_table('public_data_application', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_public_data_application_status'))
        batch_op.drop_index(batch_op.f('ix_public_data_application_public_resource_id'))
        batch_op.drop_index(batch_op.f('ix_public_data_application_authority_member_id'))
        batch_op.drop_index(batch_op.f('ix_public_data_application_applicant_member_id'))

    op.drop_table('public_data_application')
    with op.batch_alter_table('public_data_survey_response', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_public_data_survey_response_survey_id'))

    op.drop_table('public_data_survey_response')
    with op.batch_alter_table('public_data_resource', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_public_data_resource_open_class'))
        batch_op.drop_index(batch_op.f('ix_public_data_resource_department_id'))
        batch_op.drop_index(batch_op.f('ix_public_data_resource_authority_member_id'))

    op.drop_table('public_data_resource')
    with op.batch_alter_table('public_data_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_public_data_request_status'))
        batch_op.drop_index(batch_op.f('ix_public_data_request_department_id'))
        batch_op.drop_index(batch_op.f('ix_public_data_request_authority_member_id'))

    op.drop_table('public_data_request')
    with op.batch_alter_table('public_data_survey', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_public_data_survey_authority_member_id'))

    op.drop_table('public_data_survey')
    with op.batch_alter_table('public_data_negative_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_public_data_negative_rule_authority_member_id'))

    op.drop_table('public_data_negative_rule')
    with op.batch_alter_table('public_data_department', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_public_data_department_authority_member_id'))

    op.drop_table('public_data_department')

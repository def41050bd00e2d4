"""consent tables: persons and their verified keys, phone codes, person sessions, the scenarios
products declare, consents with their signed receipts, and the uses of each consent.

Revision ID: 0015
Revises: 0014 (the public data catalog)
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('consent_challenge',
    sa.Column('id', _ID, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_challenge'))
    )
    with op.batch_alter_table('consent_challenge', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_challenge_key_hash'), ['key_hash'], unique=False)

    op.create_table('consent_person',
    sa.Column('id', _ID, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_person'))
    )
    op.create_table('consent_person_key',
    sa.Column('id', _ID, nullable=False),
    sa.Column('person_id', _ID, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['consent_person.id'], name=op.f('fk_consent_person_key_person_id_consent_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_person_key')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_consent_person_key_key_hash'))
    )
    with op.batch_alter_table('consent_person_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_person_key_person_id'), ['person_id'], unique=False)

    op.create_table('consent_person_session',
    sa.Column('id', _ID, nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('person_id', _ID, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['consent_person.id'], name=op.f('fk_consent_person_session_person_id_consent_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_person_session')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_consent_person_session_token_sha256'))
    )
    with op.batch_alter_table('consent_person_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_person_session_person_id'), ['person_id'], unique=False)

    op.create_table('consent_scenario',
    sa.Column('id', _ID, nullable=False),
    sa.Column('product_id', _ID, nullable=False),
    sa.Column('member_id', _ID, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('description', sa.String(length=2000), nullable=False),
    sa.Column('data_items_json', sa.Text(), nullable=False),
    sa.Column('key_column', sa.String(length=200), nullable=False),
    sa.Column('max_days', sa.Integer(), nullable=False),
    sa.Column('sensitive', sa.Boolean(), nullable=False),
    sa.Column('on_missing', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by_user_id', _ID, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['member_user.id'], name=op.f('fk_consent_scenario_created_by_user_id_member_user')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_consent_scenario_member_id_member')),
    sa.ForeignKeyConstraint(['product_id'], ['listing_product.id'], name=op.f('fk_consent_scenario_product_id_listing_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_scenario'))
    )
    with op.batch_alter_table('consent_scenario', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_scenario_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_scenario_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_scenario_status'), ['status'], unique=False)

    op.create_table('consent_record',
    sa.Column('id', _ID, nullable=False),
    sa.Column('receipt_id', sa.String(length=36), nullable=False),
    sa.Column('person_id', _ID, nullable=False),
    sa.Column('scenario_id', _ID, nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('receipt_json', sa.Text(), nullable=False),
    sa.Column('signature', sa.LargeBinary(), nullable=False),
    sa.Column('key_id', sa.String(length=40), nullable=False),
    sa.Column('revocation_json', sa.Text(), nullable=True),
    sa.Column('revocation_signature', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['key_id'], ['crypto_key.id'], name=op.f('fk_consent_record_key_id_crypto_key')),
    sa.ForeignKeyConstraint(['person_id'], ['consent_person.id'], name=op.f('fk_consent_record_person_id_consent_person')),
    sa.ForeignKeyConstraint(['scenario_id'], ['consent_scenario.id'], name=op.f('fk_consent_record_scenario_id_consent_scenario')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_record')),
    sa.UniqueConstraint('receipt_id', name=op.f('uq_consent_record_receipt_id'))
    )
    with op.batch_alter_table('consent_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_record_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_record_scenario_id'), ['scenario_id'], unique=False)

    op.create_table('consent_use',
    sa.Column('id', _ID, nullable=False),
    sa.Column('consent_id', _ID, nullable=False),
    sa.Column('person_id', _ID, nullable=False),
    sa.Column('scenario_id', _ID, nullable=False),
    sa.Column('order_id', _ID, nullable=False),
    sa.Column('buyer_member_id', _ID, nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['buyer_member_id'], ['member.id'], name=op.f('fk_consent_use_buyer_member_id_member')),
    sa.ForeignKeyConstraint(['consent_id'], ['consent_record.id'], name=op.f('fk_consent_use_consent_id_consent_record')),
    sa.ForeignKeyConstraint(['order_id'], ['market_order.id'], name=op.f('fk_consent_use_order_id_market_order')),
    sa.ForeignKeyConstraint(['person_id'], ['consent_person.id'], name=op.f('fk_consent_use_person_id_consent_person')),
    sa.ForeignKeyConstraint(['scenario_id'], ['consent_scenario.id'], name=op.f('fk_consent_use_scenario_id_consent_scenario')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_use'))
    )
    with op.batch_alter_table('consent_use', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_use_consent_id'), ['consent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_use_person_id'), ['person_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('consent_use', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_use_person_id'))
        batch_op.drop_index(batch_op.f('ix_consent_use_consent_id'))

    op.drop_table('consent_use')
    with op.batch_alter_table('consent_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_record_scenario_id'))
        batch_op.drop_index(batch_op.f('ix_consent_record_person_id'))

    op.drop_table('consent_record')
    with op.batch_alter_table('consent_scenario', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_scenario_status'))
        batch_op.drop_index(batch_op.f('ix_consent_scenario_product_id'))
        batch_op.drop_index(batch_op.f('ix_consent_scenario_member_id'))

    op.drop_table('consent_scenario')
    with op.batch_alter_table('consent_person_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_person_session_person_id'))

    op.drop_table('consent_person_session')
    with op.batch_alter_table('consent_person_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_person_key_person_id'))

    op.drop_table('consent_person_key')
    op.drop_table('consent_person')
    with op.batch_alter_table('consent_challenge', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_challenge_key_hash'))

    op.drop_table('consent_challenge')

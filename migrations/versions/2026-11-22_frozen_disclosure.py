"""Freeze the disclosure of the reviewed version on the product (what orders copy).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 08:15:15.835240
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('listing_product', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disclosure_json', sa.Text(), server_default='', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('listing_product', schema=None) as batch_op:
        batch_op.drop_column('disclosure_json')


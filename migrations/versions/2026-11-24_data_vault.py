"""The data vault: each dataset's cipher and its data key, wrapped by a master key.

Existing datasets keep ``cipher`` NULL (stored in plaintext) until ``shujiao vault
encrypt-existing`` seals them; this migration does not touch the files.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch rebuild: on SQLite a rebuild drops and recreates catalog_dataset,
    # which listing_product references, and fails once products exist (foreign keys are on).
    op.add_column('catalog_dataset', sa.Column('cipher', sa.String(length=16), nullable=True))
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite adds a column with a REFERENCES clause (NULL default) but no constraint to a table.
        op.execute("ALTER TABLE catalog_dataset ADD COLUMN master_key_id VARCHAR(40) "
                   "CONSTRAINT fk_catalog_dataset_master_key_id_crypto_key REFERENCES crypto_key (id)")
    else:
        op.add_column('catalog_dataset', sa.Column('master_key_id', sa.String(length=40), nullable=True))
        op.create_foreign_key(op.f('fk_catalog_dataset_master_key_id_crypto_key'), 'catalog_dataset', 'crypto_key',
                              ['master_key_id'], ['id'])
    op.add_column('catalog_dataset', sa.Column('wrapped_key', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    # Sealed files cannot be served without these columns: refuse rather than lose the keys.
    bind = op.get_bind()
    sealed = bind.execute(sa.text("SELECT count(*) FROM catalog_dataset WHERE cipher IS NOT NULL")).scalar()
    if sealed:
        raise RuntimeError(f"{sealed} dataset(s) are sealed by the data vault; downgrading would lose their keys")
    if bind.dialect.name == 'postgresql':
        op.drop_constraint(op.f('fk_catalog_dataset_master_key_id_crypto_key'), 'catalog_dataset', type_='foreignkey')
    # SQLite (3.35+) drops a column only if no constraint names it: rebuild for that one.
    with op.batch_alter_table('catalog_dataset', schema=None) as batch_op:
        batch_op.drop_column('wrapped_key')
        batch_op.drop_column('master_key_id')
        batch_op.drop_column('cipher')

"""spam weight versions: reload only what changed

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 08:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("spam_weights", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_index(
            batch_op.f("ix_spam_weights_site_id_version"), ["site_id", "version"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("spam_weights", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spam_weights_site_id_version"))
        batch_op.drop_column("version")

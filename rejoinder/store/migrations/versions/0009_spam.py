"""spam: weak lessons (comments that stood unreported, imported decisions)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 12:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("spam_training") as batch:
        batch.add_column(sa.Column("weak", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("spam_training") as batch:
        batch.drop_column("weak")

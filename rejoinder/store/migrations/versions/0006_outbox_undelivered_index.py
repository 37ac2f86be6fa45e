"""outbox: a partial index on the events not yet delivered

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UNDELIVERED = sa.text("delivered_at IS NULL")


def upgrade() -> None:
    # Every process asks twice a second whether an event waits for redelivery; without this index the
    # question reads every event of the last ten minutes (hundreds of thousands under load).
    op.create_index(
        "ix_outbox_undelivered",
        "outbox",
        ["created_at"],
        unique=False,
        sqlite_where=UNDELIVERED,
        postgresql_where=UNDELIVERED,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_undelivered", table_name="outbox")

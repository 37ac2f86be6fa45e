"""decision scores: each taught item keeps the score it had, for the site's learned spam threshold

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 10:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("spam_training", schema=None) as batch_op:
        batch_op.add_column(sa.Column("score", sa.Float(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_spam_training_site_id_created_at"), ["site_id", "created_at"], unique=False
        )
    # Moderated comments taught before this kept their verdict's score on the comment itself.
    op.execute(
        "UPDATE spam_training SET score = (SELECT comments.spam_score FROM comments"
        " WHERE comments.id = CAST(substr(spam_training.item_key, 9) AS BIGINT))"
        " WHERE spam_training.item_key LIKE 'comment:%'"
    )


def downgrade() -> None:
    with op.batch_alter_table("spam_training", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spam_training_site_id_created_at"))
        batch_op.drop_column("score")

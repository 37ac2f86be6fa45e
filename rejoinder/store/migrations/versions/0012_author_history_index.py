"""author history: comments indexed by author (address or identity), status, moderation and time, so the
spam filter counts an author's history from index ranges instead of reading every comment of theirs

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 13:00:00
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

HISTORY = ["status", "moderated_at", "created_at"]


def upgrade() -> None:
    # Each new index leads with the column the one it replaces indexed, and answers every lookup that did.
    op.create_index(
        op.f("ix_comments_author_email_status_moderated_at_created_at"),
        "comments",
        ["author_email", *HISTORY],
        unique=False,
    )
    op.drop_index(op.f("ix_comments_author_email"), table_name="comments")
    op.create_index(
        op.f("ix_comments_identity_id_status_moderated_at_created_at"),
        "comments",
        ["identity_id", *HISTORY],
        unique=False,
    )
    op.drop_index(op.f("ix_comments_identity_id"), table_name="comments")


def downgrade() -> None:
    op.create_index(op.f("ix_comments_identity_id"), "comments", ["identity_id"], unique=False)
    op.drop_index(op.f("ix_comments_identity_id_status_moderated_at_created_at"), table_name="comments")
    op.create_index(op.f("ix_comments_author_email"), "comments", ["author_email"], unique=False)
    op.drop_index(op.f("ix_comments_author_email_status_moderated_at_created_at"), table_name="comments")

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
# By address, and by a verified reader's identity: each new index leads with the column the one it replaces
# indexed, and answers every lookup that did.
AUTHORS = ["author_email", "identity_id"]


def upgrade() -> None:
    for author in AUTHORS:
        op.create_index(op.f(f"ix_comments_{author}_{'_'.join(HISTORY)}"), "comments", [author, *HISTORY])
        op.drop_index(op.f(f"ix_comments_{author}"), table_name="comments")


def downgrade() -> None:
    for author in reversed(AUTHORS):
        op.create_index(op.f(f"ix_comments_{author}"), "comments", [author])
        op.drop_index(op.f(f"ix_comments_{author}_{'_'.join(HISTORY)}"), table_name="comments")

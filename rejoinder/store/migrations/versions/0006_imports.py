"""imports: each imported comment's origin, and the comment kinds pingback and trackback

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

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("comments") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="comment"))
    op.create_table(
        "comment_origins",
        sa.Column("site_id", Id, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("original_id", sa.String(length=200), nullable=False),
        sa.Column("comment_id", Id, nullable=False),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["comments.id"],
            name=op.f("fk_comment_origins_comment_id_comments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_comment_origins_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("site_id", "source", "original_id", name=op.f("pk_comment_origins")),
    )
    op.create_index(op.f("ix_comment_origins_comment_id"), "comment_origins", ["comment_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_comment_origins_comment_id"), table_name="comment_origins")
    op.drop_table("comment_origins")
    with op.batch_alter_table("comments") as batch:
        batch.drop_column("kind")

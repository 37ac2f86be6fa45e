"""spam filter and api keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 04:10:59.749970
"""

import sqlalchemy as sa
from alembic import op

# BigInteger on PostgreSQL; SQLite needs INTEGER for its rowid alias.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "used_tokens",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_used_tokens")),
    )
    with op.batch_alter_table("used_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_used_tokens_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "api_keys",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("site_id", ID, nullable=True),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_api_keys_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "spam_domains",
        sa.Column("site_id", ID, nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("spam", sa.Integer(), nullable=False),
        sa.Column("ham", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_spam_domains_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("site_id", "domain", name=op.f("pk_spam_domains")),
    )
    op.create_table(
        "spam_models",
        sa.Column("site_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_spam_models_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_spam_models")),
    )
    op.create_table(
        "spam_training",
        sa.Column("site_id", ID, nullable=False),
        sa.Column("item_key", sa.String(length=100), nullable=False),
        sa.Column("is_spam", sa.Boolean(), nullable=False),
        sa.Column("delta", sa.JSON(), nullable=False),
        sa.Column("domains", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_spam_training_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("site_id", "item_key", name=op.f("pk_spam_training")),
    )
    op.create_table(
        "spam_weights",
        sa.Column("site_id", ID, nullable=False),
        sa.Column("feature", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_spam_weights_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("site_id", "feature", name=op.f("pk_spam_weights")),
    )
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("spam_action", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("spam_score", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("spam_reasons", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("fingerprint", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("purge_after", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("moderated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_comments_author_email"), ["author_email"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_comments_status_purge_after"), ["status", "purge_after"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_comments_status_purge_after"))
        batch_op.drop_index(batch_op.f("ix_comments_author_email"))
        batch_op.drop_column("moderated_at")
        batch_op.drop_column("purge_after")
        batch_op.drop_column("fingerprint")
        batch_op.drop_column("spam_reasons")
        batch_op.drop_column("spam_score")
        batch_op.drop_column("spam_action")

    op.drop_table("spam_weights")
    op.drop_table("spam_training")
    op.drop_table("spam_models")
    op.drop_table("spam_domains")
    op.drop_table("api_keys")
    with op.batch_alter_table("used_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_used_tokens_expires_at"))

    op.drop_table("used_tokens")

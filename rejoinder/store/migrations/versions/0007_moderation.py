"""moderation: moderator accounts, their roles, sessions and personal tokens, the audit log, reader
reports, bans, and moderators' edits

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 12:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "moderators",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("totp_secret", sa.String(length=64), nullable=True),
        sa.Column("recovery_codes", sa.JSON(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderators")),
        sa.UniqueConstraint("email", name=op.f("uq_moderators_email")),
    )
    op.create_table(
        "moderator_roles",
        sa.Column("moderator_id", Id, nullable=False),
        sa.Column("site_id", Id, nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["moderator_id"],
            ["moderators.id"],
            name=op.f("fk_moderator_roles_moderator_id_moderators"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_moderator_roles_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("moderator_id", "site_id", name=op.f("pk_moderator_roles")),
    )
    op.create_table(
        "moderator_sessions",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("moderator_id", Id, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("last_seen_at", When, nullable=False),
        sa.Column("expires_at", When, nullable=False),
        sa.Column("user_agent", sa.String(length=500), nullable=False),
        sa.Column("remote_addr", sa.String(length=45), nullable=False),
        sa.ForeignKeyConstraint(
            ["moderator_id"],
            ["moderators.id"],
            name=op.f("fk_moderator_sessions_moderator_id_moderators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderator_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_moderator_sessions_token_hash")),
    )
    op.create_index(
        op.f("ix_moderator_sessions_moderator_id"), "moderator_sessions", ["moderator_id"], unique=False
    )
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("moderator_id", Id, nullable=True))
        batch.create_foreign_key(
            op.f("fk_api_keys_moderator_id_moderators"),
            "moderators",
            ["moderator_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_index(op.f("ix_api_keys_moderator_id"), ["moderator_id"], unique=False)
    with op.batch_alter_table("comments") as batch:
        batch.add_column(
            sa.Column("edited_by_moderator", sa.Boolean(), nullable=False, server_default=sa.text("false"))
        )
        batch.add_column(sa.Column("pinned", sa.Boolean(), nullable=False, server_default=sa.text("false")))
    op.create_table(
        "audit_log",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("at", When, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("site_id", Id, nullable=True),
        sa.Column("comment_id", Id, nullable=True),
        sa.Column("batch", sa.String(length=32), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_audit_log_site_id_sites"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_comment_id"), "audit_log", ["comment_id"], unique=False)
    op.create_index(op.f("ix_audit_log_batch"), "audit_log", ["batch"], unique=False)
    op.create_index(op.f("ix_audit_log_site_id_id"), "audit_log", ["site_id", "id"], unique=False)
    op.create_table(
        "reports",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("comment_id", Id, nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("reporter_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("resolved_at", When, nullable=True),
        sa.ForeignKeyConstraint(
            ["comment_id"], ["comments.id"], name=op.f("fk_reports_comment_id_comments"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("comment_id", "reporter_key", name=op.f("uq_reports_comment_id_reporter_key")),
    )
    op.create_table(
        "bans",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("site_id", Id, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("expires_at", When, nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_bans_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bans")),
    )
    op.create_index(op.f("ix_bans_site_id_kind"), "bans", ["site_id", "kind"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_bans_site_id_kind"), table_name="bans")
    op.drop_table("bans")
    op.drop_table("reports")
    op.drop_index(op.f("ix_audit_log_site_id_id"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_batch"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_comment_id"), table_name="audit_log")
    op.drop_table("audit_log")
    with op.batch_alter_table("comments") as batch:
        batch.drop_column("pinned")
        batch.drop_column("edited_by_moderator")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_index(op.f("ix_api_keys_moderator_id"))
        batch.drop_constraint(op.f("fk_api_keys_moderator_id_moderators"), type_="foreignkey")
        batch.drop_column("moderator_id")
    op.drop_index(op.f("ix_moderator_sessions_moderator_id"), table_name="moderator_sessions")
    op.drop_table("moderator_sessions")
    op.drop_table("moderator_roles")
    op.drop_table("moderators")

"""identity: readers' identities (social log-in and mailed links), their sessions, log-ins under way,
one-time codes, mailed links, login providers added from the command line; comments by an identity

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 16:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "identities",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("email_verified", sa.Boolean(), nullable=False),
        sa.Column("profile_url", sa.String(length=2048), nullable=True),
        sa.Column("avatar_url", sa.String(length=2048), nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("last_login_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identities")),
        sa.UniqueConstraint("provider", "subject", name=op.f("uq_identities_provider_subject")),
    )
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identities_email"), ["email"], unique=False)

    op.create_table(
        "login_attempts",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("site_id", Id, nullable=False),
        sa.Column("origin", sa.String(length=2048), nullable=False),
        sa.Column("widget_state", sa.String(length=128), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("claim_hash", sa.String(length=64), nullable=True),
        sa.Column("expires_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_login_attempts_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("state_hash", name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_attempts_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "login_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("identity_id", Id, nullable=False),
        sa.Column("site_id", Id, nullable=False),
        sa.Column("claim_hash", sa.String(length=64), nullable=True),
        sa.Column("expires_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identities.id"],
            name=op.f("fk_login_codes_identity_id_identities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_login_codes_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_login_codes")),
    )
    with op.batch_alter_table("login_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_codes_claim_hash"), ["claim_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_codes_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "login_links",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("site_id", Id, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("return_url", sa.String(length=2048), nullable=False),
        sa.Column("expires_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_login_links_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_login_links")),
    )
    with op.batch_alter_table("login_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_links_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "login_providers",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("preset", sa.String(length=16), nullable=False),
        sa.Column("issuer", sa.String(length=2048), nullable=False),
        sa.Column("client_id", sa.String(length=500), nullable=False),
        sa.Column("client_secret", sa.String(length=500), nullable=False),
        sa.Column("site_id", Id, nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_login_providers_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_login_providers")),
    )
    op.create_table(
        "reader_sessions",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("identity_id", Id, nullable=False),
        sa.Column("site_id", Id, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("expires_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identities.id"],
            name=op.f("fk_reader_sessions_identity_id_identities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_reader_sessions_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reader_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_reader_sessions_token_hash")),
    )
    with op.batch_alter_table("reader_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reader_sessions_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_reader_sessions_identity_id"), ["identity_id"], unique=False)

    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identity_id", Id, nullable=True))
        batch_op.add_column(sa.Column("verified", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_comments_identity_id"), ["identity_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_comments_identity_id_identities"),
            "identities",
            ["identity_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_comments_identity_id_identities"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_comments_identity_id"))
        batch_op.drop_column("verified")
        batch_op.drop_column("identity_id")

    with op.batch_alter_table("reader_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reader_sessions_identity_id"))
        batch_op.drop_index(batch_op.f("ix_reader_sessions_expires_at"))

    op.drop_table("reader_sessions")
    op.drop_table("login_providers")
    with op.batch_alter_table("login_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_links_expires_at"))

    op.drop_table("login_links")
    with op.batch_alter_table("login_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_codes_expires_at"))
        batch_op.drop_index(batch_op.f("ix_login_codes_claim_hash"))

    op.drop_table("login_codes")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_attempts_expires_at"))

    op.drop_table("login_attempts")
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identities_email"))

    op.drop_table("identities")

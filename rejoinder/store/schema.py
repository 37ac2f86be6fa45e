"""Table definitions (SQLAlchemy Core). Migrations in ``migrations/versions`` create exactly these."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone, so it is restored on read)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# BigInteger ids on PostgreSQL; SQLite needs plain INTEGER for its rowid alias.
Id = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

sites = Table(
    "sites",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("allowed_origins", JSON, nullable=False),
    Column("settings", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

threads = Table(
    "threads",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("site_id", Id, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("title", String(500), nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("closed", Boolean, nullable=False, default=False),
    # Published comments, kept in step by every write so counts never scan comments.
    Column("comment_count", Integer, nullable=False, default=0),
    UniqueConstraint("site_id", "url"),
)

comments = Table(
    "comments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("thread_id", Id, ForeignKey("threads.id", ondelete="CASCADE"), nullable=False),
    Column("parent_id", Id, ForeignKey("comments.id", ondelete="CASCADE"), nullable=True),
    # Top-level ancestor (NULL for a top-level comment): one indexed query fetches a page's replies.
    Column("root_id", Id, ForeignKey("comments.id", ondelete="CASCADE"), nullable=True),
    Column("author_name", String(100), nullable=False, default=""),
    Column("author_email", String(320), nullable=False, default=""),
    Column("author_website", String(2048), nullable=False, default=""),
    Column("body", Text, nullable=False),
    Column("html", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("edited_at", UTCDateTime, nullable=True),
    Column("remote_addr", String(45), nullable=False, default=""),
    Column("user_agent", String(500), nullable=False, default=""),
    Column("like_count", Integer, nullable=False, default=0),
    # Bumped by every change to the row, so in-memory copies can tell a newer version from an older one.
    Column("version", Integer, nullable=False, default=1),
    Index(None, "thread_id", "root_id", "created_at", "id"),
    Index(None, "root_id"),
    Index(None, "parent_id"),
)

likes = Table(
    "likes",
    metadata,
    Column("comment_id", Id, ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True),
    # A keyed hash of the reader's random liker id, never the id itself.
    Column("liker_key", String(64), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
)

server_secrets = Table(
    "server_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
)

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
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
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
    # The spam filter's verdict, kept with the comment so moderators see why it was held.
    Column("spam_action", String(16), nullable=True),
    Column("spam_score", Float, nullable=True),
    Column("spam_reasons", JSON, nullable=True),
    # SimHash of the text (signed 64-bit) for finding near-duplicates across threads.
    Column("fingerprint", BigInteger, nullable=True),
    # Discarded spam is kept this long, then purged: nothing is destroyed without a retention period.
    Column("purge_after", UTCDateTime, nullable=True),
    # When a moderator last decided on the comment (NULL: only the filter has judged it).
    Column("moderated_at", UTCDateTime, nullable=True),
    # "comment", or a "pingback" / "trackback" kept from an import: those are not shown to readers.
    Column("kind", String(16), nullable=False, default="comment", server_default="comment"),
    # Set once a moderator changed the text: readers are told it is not quite the author's any more.
    Column("edited_by_moderator", Boolean, nullable=False, default=False, server_default=text("false")),
    # A moderator pinned it: a top-level comment shown first, above the thread's pages.
    Column("pinned", Boolean, nullable=False, default=False, server_default=text("false")),
    # The verified reader who wrote it (NULL: a guest), and what readers are shown of that identity, kept
    # with the comment so a thread's read needs no join: {"provider", "provider_name", "profile_url",
    # "avatar_url"}.
    Column("identity_id", Id, ForeignKey("identities.id", ondelete="SET NULL"), nullable=True),
    Column("verified", JSON, nullable=True),
    Index(None, "thread_id", "root_id", "created_at", "id"),
    # An author's history, which the spam filter reads for every comment (store/spam.py): by address, and
    # by a verified reader's identity; each kind of comment it counts is one range of these.
    Index(None, "author_email", "status", "moderated_at", "created_at"),
    Index(None, "identity_id", "status", "moderated_at", "created_at"),
    Index(None, "status", "purge_after"),
    Index(None, "root_id"),
    Index(None, "parent_id"),
    # The site's Atom feed: its newest comments, without reading them all.
    Index(None, "created_at"),
)

comment_origins = Table(
    "comment_origins",
    metadata,
    # Where an imported comment came from (source system and its id there): importing the same export
    # again finds the comment here instead of writing it twice.
    Column("site_id", Id, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("source", String(32), primary_key=True),
    Column("original_id", String(200), primary_key=True),
    Column("comment_id", Id, ForeignKey("comments.id", ondelete="CASCADE"), nullable=False, index=True),
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

used_tokens = Table(
    "used_tokens",
    metadata,
    # Hash of a single-use form token or proof-of-work challenge: a second use is a replay.
    Column("digest", String(64), primary_key=True),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

spam_models = Table(
    "spam_models",
    metadata,
    Column("site_id", Id, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    # Bumped by every training change, so each process knows when to reload the site's weights.
    Column("version", Integer, nullable=False, default=0),
    Column("examples", Integer, nullable=False, default=0),
)

spam_weights = Table(
    "spam_weights",
    metadata,
    # What a site's moderators taught the classifier, added to the shipped prior's weights.
    Column("site_id", Id, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("feature", BigInteger, primary_key=True, autoincrement=False),
    Column("weight", Float, nullable=False),
    # The site's model version that last changed the row: a process reloads only rows newer than its own.
    Column("version", Integer, nullable=False, default=0, server_default="0"),
    Index(None, "site_id", "version"),
)

spam_training = Table(
    "spam_training",
    metadata,
    # One row per taught item ("comment:42", "akismet:<hash>"): teaching it twice counts once, and the
    # stored delta lets a changed decision be untaught exactly.
    Column("site_id", Id, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("item_key", String(100), primary_key=True),
    Column("is_spam", Boolean, nullable=False),
    Column("delta", JSON, nullable=False),
    Column("domains", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # The spam probability the item had been given before it was decided (None: never judged): the
    # decisions' scores set the site's learned spam threshold (spam/threshold.py).
    Column("score", Float, nullable=True),
    # A weak lesson: a published comment that stood for days without a report or a moderator's action
    # (or an imported one), taught at a fraction of a moderator's decision; a moderator's own decision on
    # the same item replaces it.
    Column("weak", Boolean, nullable=False, default=False, server_default=false()),
    Index(None, "site_id", "created_at"),
)

spam_domains = Table(
    "spam_domains",
    metadata,
    # Link domains in comments moderators judged: a domain seen mostly in spam is evidence of spam.
    Column("site_id", Id, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("domain", String(255), primary_key=True),
    Column("spam", Integer, nullable=False, default=0),
    Column("ham", Integer, nullable=False, default=0),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    # "admin" (moderation API) or "akismet" (the Akismet-compatible API of one site).
    Column("kind", String(16), nullable=False),
    # SHA-256 of the key: a copy of the database does not hand out working keys.
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("site_id", Id, ForeignKey("sites.id", ondelete="CASCADE"), nullable=True),
    Column("label", String(200), nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("calls", Integer, nullable=False, default=0),
    # A moderator's personal token acts as that moderator; admin tokens (NULL here) act on every site.
    Column("moderator_id", Id, ForeignKey("moderators.id", ondelete="CASCADE"), nullable=True, index=True),
)

outbox = Table(
    "outbox",
    metadata,
    # Events written in the same transaction as the change they describe, deleted once delivered: a crash
    # between the commit and the delivery leaves the row here for the next process to deliver.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("topic", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # Set once the subscribers that run in one process only have run (at once if there are none); kept
    # a while after, so processes that tail the outbox see every event.
    Column("delivered_at", UTCDateTime, nullable=True),
    # Set by a process re-delivering an event whose writer did not: others leave it alone until then.
    Column("claimed_until", UTCDateTime, nullable=True),
    Index(None, "created_at"),
    # The few events still waiting for their one-process subscribers, found without reading the many
    # delivered ones kept beside them (every process looks twice a second).
    Index(
        "ix_outbox_undelivered",
        "created_at",
        sqlite_where=text("delivered_at IS NULL"),
        postgresql_where=text("delivered_at IS NULL"),
    ),
    # Ids never reused on SQLite either: processes tail the outbox by id.
    sqlite_autoincrement=True,
)

LIVE_JOB = "status IN ('queued', 'running')"
jobs = Table(
    "jobs",
    metadata,
    # Work that must not run inside a request: mail, learning, purges. Enqueued in the transaction that
    # calls for it, run by any server process or `rejoinder worker`, retried with backoff.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    # queued, running, done or dead (attempts used up: the dead-letter list).
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False, default=5),
    Column("run_at", UTCDateTime, nullable=False),
    # While running: the worker that took it, and when its lease ends (a crashed worker's job runs again).
    Column("locked_by", String(100), nullable=True),
    Column("locked_until", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    # At most one queued or running job per key (periodic jobs, one lesson per decision).
    Column("dedupe_key", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Index(None, "status", "run_at"),
    # Unique among live jobs only, so that concurrent enqueuers on PostgreSQL cannot both insert one.
    Index(
        None,
        "dedupe_key",
        unique=True,
        sqlite_where=text(LIVE_JOB),
        postgresql_where=text(LIVE_JOB),
    ),
)

mail_recipients = Table(
    "mail_recipients",
    metadata,
    # An e-mail address as a site's notifications know it: confirmed once (double opt-in) for all its
    # subscriptions on the site, or suppressed by a moderator (then it gets no mail at all from the site).
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("site_id", Id, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("email", String(320), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("confirmed_at", UTCDateTime, nullable=True),
    # When the last confirmation request went out: at most one an hour, so the form cannot mail-bomb.
    Column("confirm_sent_at", UTCDateTime, nullable=True),
    Column("suppressed_at", UTCDateTime, nullable=True),
    UniqueConstraint("site_id", "email"),
    sqlite_autoincrement=True,  # ids are signed into unsubscribe links: never reused
)

subscriptions = Table(
    "subscriptions",
    metadata,
    # What a recipient asked to hear of: a thread's new comments, replies to one comment, or new posts.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("recipient_id", Id, ForeignKey("mail_recipients.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),  # thread, replies or posts
    # "thread:12", "replies:34" or "posts": one subscription per recipient and target.
    Column("target", String(64), nullable=False),
    Column("thread_id", Id, ForeignKey("threads.id", ondelete="CASCADE"), nullable=True, index=True),
    Column("comment_id", Id, ForeignKey("comments.id", ondelete="CASCADE"), nullable=True, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    # Batching: at most one mail an hour; comments waiting for the next one are in mail_notices.
    Column("last_mail_at", UTCDateTime, nullable=True),
    Column("due_at", UTCDateTime, nullable=True, index=True),
    UniqueConstraint("recipient_id", "target"),
    sqlite_autoincrement=True,
)

mail_notices = Table(
    "mail_notices",
    metadata,
    # A published comment a subscription's next mail will tell of; deleted when that mail is queued.
    Column("subscription_id", Id, ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True),
    Column("comment_id", Id, ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
)

feed_polls = Table(
    "feed_polls",
    metadata,
    # What the new-posts poller knows of a site's own feed: validators for conditional requests, the
    # entries already seen (never announced twice), and when to ask again (backing off after failures).
    Column("site_id", Id, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("feed_url", String(2048), nullable=False),
    Column("etag", String(512), nullable=True),
    Column("last_modified", String(100), nullable=True),
    Column("seen", JSON, nullable=False),
    Column("failures", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    Column("polled_at", UTCDateTime, nullable=True),
    Column("next_poll_at", UTCDateTime, nullable=False),
)

webhooks = Table(
    "webhooks",
    metadata,
    # Where a site's comment events are POSTed, signed in the Standard Webhooks format with ``secret``.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("site_id", Id, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("url", String(2048), nullable=False),
    Column("secret", String(200), nullable=False),
    Column("events", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    # One message to one webhook and how its attempts went; the message id is the event's own, so an
    # event delivered twice to the bus is still sent once.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("webhook_id", Id, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("message_id", String(100), nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # pending, delivered or failed (attempts used up)
    Column("attempts", Integer, nullable=False, default=0),
    Column("response_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("attempted_at", UTCDateTime, nullable=True),
    UniqueConstraint("webhook_id", "message_id"),
    Index(None, "webhook_id", "created_at"),
)

moderators = Table(
    "moderators",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    # argon2id, with its parameters and salt in the string.
    Column("password_hash", String(200), nullable=False),
    # Base32 TOTP secret (NULL: no second factor) and SHA-256 hashes of the unused recovery codes.
    Column("totp_secret", String(64), nullable=True),
    Column("recovery_codes", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

moderator_roles = Table(
    "moderator_roles",
    metadata,
    # "admin" (settings, moderators and moderation of the site) or "moderator" (moderation).
    Column("moderator_id", Id, ForeignKey("moderators.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", Id, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(16), nullable=False),
)

moderator_sessions = Table(
    "moderator_sessions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("moderator_id", Id, ForeignKey("moderators.id", ondelete="CASCADE"), nullable=False, index=True),
    # SHA-256 of the cookie's value; looked up on every request, so a deleted row is refused at once.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("user_agent", String(500), nullable=False, default=""),
    Column("remote_addr", String(45), nullable=False, default=""),
)

audit_log = Table(
    "audit_log",
    metadata,
    # Who did what, when, to what, with the state before and after: moderation, settings, bans, accounts.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("site_id", Id, ForeignKey("sites.id", ondelete="SET NULL"), nullable=True),
    # No foreign key: the entry outlives a purged comment.
    Column("comment_id", Id, nullable=True, index=True),
    # The entries of one request share it: an undo reverses them together.
    Column("batch", String(32), nullable=True, index=True),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
    Index(None, "site_id", "id"),
)

reports = Table(
    "reports",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("comment_id", Id, ForeignKey("comments.id", ondelete="CASCADE"), nullable=False),
    Column("reason", String(16), nullable=False),
    Column("text", String(1000), nullable=False, default=""),
    # A keyed hash of the reporter's address: one report per reader and comment, without keeping the address.
    Column("reporter_key", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # Set when a moderator decided on the comment: the report no longer puts it in the Reported queue.
    Column("resolved_at", UTCDateTime, nullable=True),
    UniqueConstraint("comment_id", "reporter_key"),
)

bans = Table(
    "bans",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("site_id", Id, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    # "email", "ip", "network" or "domain".
    Column("kind", String(16), nullable=False),
    Column("value", String(320), nullable=False),
    Column("reason", String(500), nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),  # NULL: until lifted
    Index(None, "site_id", "kind"),
)

moderator_mail = Table(
    "moderator_mail",
    metadata,
    # How a moderator hears of held and reported comments: at once, hourly or daily digests, or not at
    # all; optionally of every new comment too. No row: at once, held and reported only.
    Column("moderator_id", Id, ForeignKey("moderators.id", ondelete="CASCADE"), primary_key=True),
    Column("mode", String(16), nullable=False, default="instant"),
    Column("all_comments", Boolean, nullable=False, default=False),
    Column("due_at", UTCDateTime, nullable=True, index=True),
    Column("last_mail_at", UTCDateTime, nullable=True),
)

moderator_notices = Table(
    "moderator_notices",
    metadata,
    # A comment a moderator's next mail will tell of: held, reported (held by readers' reports) or new.
    Column("moderator_id", Id, ForeignKey("moderators.id", ondelete="CASCADE"), primary_key=True),
    Column("comment_id", Id, ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)



identities = Table(
    "identities",
    metadata,
    # A reader who proved who they are: at a login provider (its configured name, e.g. "github", and the
    # provider's id for the account) or by a link mailed to an address (provider "email").
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("provider", String(64), nullable=False),
    Column("subject", String(320), nullable=False),
    Column("name", String(100), nullable=False, default=""),
    Column("email", String(320), nullable=False, default=""),  # lower-cased; "" when not given
    Column("email_verified", Boolean, nullable=False, default=False),
    Column("profile_url", String(2048), nullable=True),
    Column("avatar_url", String(2048), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_login_at", UTCDateTime, nullable=False),
    UniqueConstraint("provider", "subject"),
    Index(None, "email"),
)

reader_sessions = Table(
    "reader_sessions",
    metadata,
    # A logged-in reader's bearer token on one site: only its SHA-256 is kept; revoked by deleting the row.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("identity_id", Id, ForeignKey("identities.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("site_id", Id, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    # A log-in under way at a provider, found again by the OAuth state it returns with (its SHA-256);
    # deleted when used: a state works once.
    Column("state_hash", String(64), primary_key=True),
    Column("provider", String(64), nullable=False),
    Column("site_id", Id, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("origin", String(2048), nullable=False),  # the embedding page's, where the code is posted
    Column("widget_state", String(128), nullable=False),
    Column("nonce", String(128), nullable=False),
    Column("code_verifier", String(128), nullable=False),
    # SHA-256 of the widget's state and the client address the log-in started from: the code it ends
    # with may be claimed with them when the provider's page cut the popup off from the widget.
    Column("claim_hash", String(64), nullable=True),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

login_codes = Table(
    "login_codes",
    metadata,
    # A one-time code handed to the widget after a log-in, exchanged for a reader session; deleted when used.
    Column("code_hash", String(64), primary_key=True),
    Column("identity_id", Id, ForeignKey("identities.id", ondelete="CASCADE"), nullable=False),
    Column("site_id", Id, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("claim_hash", String(64), nullable=True, index=True),  # the log-in's, when it had a popup
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

login_links = Table(
    "login_links",
    metadata,
    # A mailed log-in link ("magic link"): single use, deleted when used.
    Column("token_hash", String(64), primary_key=True),
    Column("site_id", Id, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("email", String(320), nullable=False),
    Column("return_url", String(2048), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

privacy_requests = Table(
    "privacy_requests",
    metadata,
    # A commenter's mailed link to export or erase their data: single use, deleted when used.
    Column("token_hash", String(64), primary_key=True),
    Column("site_id", Id, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("email", String(320), nullable=False),
    Column("action", String(16), nullable=False),  # "export" or "erase"
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

login_providers = Table(
    "login_providers",
    metadata,
    # Providers added with `rejoinder admin provider add` (those of the settings file are not stored).
    Column("name", String(64), primary_key=True),
    Column("preset", String(16), nullable=False),
    Column("issuer", String(2048), nullable=False, default=""),
    Column("client_id", String(500), nullable=False),
    Column("client_secret", String(500), nullable=False),
    Column("site_id", Id, ForeignKey("sites.id", ondelete="CASCADE"), nullable=True),  # NULL: every site
    Column("created_at", UTCDateTime, nullable=False),
)

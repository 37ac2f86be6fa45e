"""Writing comments: posting, editing and deleting, with every rule a reader's input must meet."""

from __future__ import annotations

import asyncio
import dataclasses
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from anyio import to_thread
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Connection

from rejoinder import identity
from rejoinder.antispam import check_rate, judge_comment, read, reading_for, reading_key
from rejoinder.bans import check_bans
from rejoinder.context import Context
from rejoinder.errors import (
    ChallengeRequired,
    CommentNotFound,
    EditWindowClosed,
    Forbidden,
    InvalidInput,
    OriginNotAllowed,
    ThreadClosed,
    Unauthorized,
)
from rejoinder.events import CommentDeleted, CommentEdited, CommentPosted
from rejoinder.model import Author, Comment, CommentStatus, Identity, Site, SiteSettings, Thread
from rejoinder.notify import subscriptions
from rejoinder.privacy import stored_client
from rejoinder.ratelimits import refuse_over
from rejoinder.rendering import normalise, render_in, render_markup, render_quickly
from rejoinder.sites import cached_site, known_site, site_settings
from rejoinder.spam.reading import Reading
from rejoinder.spam.submission import FormProof, Page, Submission
from rejoinder.spam.verdict import Action
from rejoinder.store import comments as store
from rejoinder.store import identity as identity_store
from rejoinder.store import spam as spam_store
from rejoinder.store import threads as thread_store
from rejoinder.store.audience import audience_on_sqlite
from rejoinder.store.comments import StoredVerdict
from rejoinder.store.sites import get_site_by_id
from rejoinder.threads import thread_url, too_old
from rejoinder.urls import page_origin

MAX_NAME = 100
MAX_TITLE = 500
MAX_DESCRIPTION = 1000
MAX_WEBSITE = 2048
MAX_EMAIL = 254  # RFC 5321's limit, in characters: longer is never an address (``_checked_email``)


@dataclass(frozen=True)
class Client:
    """Who sent a request, as far as the server can tell."""

    remote_addr: str = ""
    user_agent: str = ""
    origin: str | None = None


@dataclass(frozen=True)
class NewComment:
    site: str
    url: str
    body: str
    title: str = ""
    parent_id: int | None = None
    author: Author = field(default_factory=lambda: Author(""))
    # What the browser form sent for the spam filter; None for text that came from no form at all.
    proof: FormProof | None = None
    description: str = ""  # the page's <meta name="description">, for the spam filter's relevance signal
    # Notifications the author asked for by e-mail: "thread", "replies" (to this comment), "posts".
    notify: frozenset[str] = frozenset()
    # The logged-in reader who posts it (their token checked): the author is theirs, not the form's.
    identity: Identity | None = None


@dataclass(frozen=True)
class PostedComment:
    comment: Comment
    edit_token: str
    edit_until: datetime


def post_comment(ctx: Context, new: NewComment, client: Client) -> PostedComment:
    """Store a new comment; it is committed before this returns."""
    plan = _plan_post(ctx, new, client)
    html = plan.html if plan.html is not None else render_markup(plan.body)
    return plan.finish(
        ctx.db.transaction(plan.storing(html), ahead=(store.look_up_new_comments, plan.question))
    )


async def post_comment_async(ctx: Context, new: NewComment, client: Client) -> PostedComment:
    """``post_comment`` for the event loop: on SQLite the write joins the loop's group commit."""
    plan = _plan_post(ctx, new, client)
    html = plan.html
    if html is None:
        # Long markup can hold the parser for 0.1 s: in a thread, the loop answers readers meanwhile (it
        # gets the GIL back every switch interval). The checks are done; the batch waits for the HTML. The
        # context's own threads (``Context.renders``): a flood of such comments queues there, not in the
        # executor other work of the loop needs.
        html = await asyncio.get_running_loop().run_in_executor(ctx.renders, render_markup, plan.body)
    ahead = (store.look_up_new_comments, plan.question)
    return plan.finish(await ctx.db.transaction_async(plan.storing(html), ahead=ahead))


Stored = tuple[Site, Thread, SiteSettings, Comment, StoredVerdict | None]

STATUS_FOR = {
    Action.PUBLISH: CommentStatus.PUBLISHED,
    Action.HOLD: CommentStatus.PENDING,
    Action.SPAM: CommentStatus.SPAM,
    Action.DISCARD: CommentStatus.SPAM,
}
# An edit can move a comment down this list (published → held), never up: that is a moderator's call.
SEVERITY = [CommentStatus.PUBLISHED, CommentStatus.PENDING, CommentStatus.SPAM]


@dataclass(frozen=True)
class _Plan:
    """A checked comment: the work to do in the transaction given its HTML, what follows the commit, and
    what the work reads first (asked for its whole group commit at once)."""

    body: str
    html: str | None  # None while long markup waits to be rendered (``rendering.render_quickly``)
    work: Callable[[Connection, str], Stored]
    finish: Callable[[Stored], PostedComment]
    question: store.NewCommentQuestion

    def storing(self, html: str) -> Callable[[Connection], Stored]:
        return lambda conn: self.work(conn, html)


def _plan_post(ctx: Context, new: NewComment, client: Client) -> _Plan:
    """Check the comment and render it if that is quick; plan the rest."""
    problems: dict[str, str] = {}
    body = _clean_body(ctx, new.body, problems)
    author = _clean_author(ctx, new.author, problems) if new.identity is None else _author_of(new.identity)
    title = _clean_text(new.title, MAX_TITLE, "title", problems)
    description = _clean_text(new.description, MAX_DESCRIPTION, "description", problems)
    subscriptions.check_request(ctx, new.notify, author.email, problems)
    try:
        url = thread_url(new.url)
    except InvalidInput as exc:
        problems.update(exc.fields)
    if problems:
        raise InvalidInput("the comment breaks some rules", problems)
    now = _now()
    page = Page(title, description)
    reader_id = new.identity.id if new.identity else None
    sub = Submission(body, author, client.remote_addr, client.user_agent, url, page, identity_id=reader_id)
    site = cached_site(ctx, new.site)
    check_bans(ctx, site, author, client.remote_addr, body, new.identity)
    rules = site_settings(ctx, site)
    verified = identity.verified_badge(ctx, new.identity, site) if new.identity else None
    ahead: Reading | None = None
    html: str | None = None
    if rules.spam_filter:
        # First and outside the transaction: a flood is refused before its text is rendered (up to
        # ~0.1 s of CPU for a long body) and before it queues for the writer.
        check_rate(ctx, site, rules, sub, url)
        # What the filter reads in the text alone (its features, the blog-spam and relevance signals: the
        # costly part of a verdict) is not worked out while holding the write lock, nor again for the
        # retry of an attempt refused for want of a proof of work.
        kept = ctx.spam.readings.take(reading_key(rules, sub))
        if kept is not None:
            ahead, html = kept
        else:
            ahead = read(rules, sub)
    if html is None:
        html = render_quickly(body)
    guest_email = author.email.casefold() if new.identity is None else None
    question = store.NewCommentQuestion(site.id, url, guest_email, new.parent_id)

    def store_it(conn: Connection, html: str) -> Stored:
        looked_up = question.take()  # None if not looked up ahead (SQLite): asked below then
        site = known_site(ctx, conn, new.site)
        if site.id != question.site_id:  # the site was made anew since the question was asked
            looked_up = None
        _check_origin(site, client)
        rules = site_settings(ctx, site)
        if rules.require_name_email:
            missing = {
                f"author.{k}": "is required on this site" for k in ("name", "email") if not getattr(author, k)
            }
            if missing:
                raise InvalidInput("this site asks for a name and an e-mail address", missing)
        _check_thread_origin(site, rules, url)
        found: Thread | None = None
        if looked_up is not None:
            found = looked_up.thread
            if new.identity is None:
                identity.check_guest_email(conn, author.email, taken=looked_up.email_taken)
        elif new.identity is None:
            found, taken = thread_store.find_thread_for_guest(conn, site.id, url, author.email.casefold())
            identity.check_guest_email(conn, author.email, taken=taken)
        thread = thread_store.get_or_create_thread(conn, site.id, url, title, now, found=found)
        if thread.closed:
            raise ThreadClosed("this thread is closed for new comments", {"url": "is a closed thread"})
        if too_old(thread, rules.close_after_days, now):
            days = rules.close_after_days
            raise ThreadClosed(
                f"threads of this site close {days} days after they open", {"url": "is a closed thread"}
            )
        parent = _parent(conn, thread, new.parent_id, looked_up) if new.parent_id is not None else None
        verdict = None
        if rules.spam_filter:
            # Read ahead unless the site's settings changed since (the filter turned on, its language).
            reading = reading_for(rules, sub, ahead)
            try:
                judged = judge_comment(
                    ctx, conn, site, rules, sub, reading, thread_id=thread.id, proof=new.proof, now=now
                )
            except ChallengeRequired:
                # The same comment comes back once the challenge is solved: what was read of it waits.
                ctx.spam.readings.keep(reading, html)
                raise
            status, verdict = STATUS_FOR[judged.verdict.action], judged.stored
        else:
            status = CommentStatus.PENDING if rules.moderation else CommentStatus.PUBLISHED
        if status is CommentStatus.PUBLISHED and rules.premoderation == "first":
            # any published comment counts here (stood since now), not only those trust counts
            published, _ = spam_store.author_history(conn, site.id, author.email, now, identity_id=reader_id)
            if not published:
                status = CommentStatus.PENDING
                if verdict is not None:
                    reasons = [*verdict.reasons, "the first comment of a new author waits for a moderator"]
                    verdict = dataclasses.replace(verdict, action=Action.HOLD.value, reasons=reasons)
        remote_addr, user_agent = stored_client(ctx, rules, client.remote_addr, client.user_agent)
        comment = store.insert_comment(
            conn,
            thread_id=thread.id,
            parent=parent,
            author=author,
            body=body,
            html=html,
            status=status,
            now=now,
            remote_addr=remote_addr,
            user_agent=user_agent,
            verdict=verdict,
            identity_id=new.identity.id if new.identity else None,
            verified=verified,
            # Its row waits for the commit, unless a subscription to its replies refers to it before then.
            comment_id=looked_up.comment_id if looked_up is not None and not new.notify else None,
        )
        if status is CommentStatus.PUBLISHED:
            thread_store.add_to_comment_count_at_commit(conn, thread.id, 1)
        if new.notify:
            subscriptions.request(ctx, conn, site, rules, thread, comment, new.notify, now)
        fingerprint = verdict.fingerprint if verdict is not None else None
        posted = CommentPosted(site.key, thread.url, comment, site.id, fingerprint)
        ctx.events.record(conn, posted, heard=_heard(conn, looked_up, site.id, thread.id, status, new.notify))
        return site, thread, rules, comment, verdict

    def finish(stored: Stored) -> PostedComment:
        site, thread, rules, comment, verdict = stored
        return PostedComment(
            comment=comment,
            edit_token=ctx.signer.edit_token(comment.id),
            edit_until=datetime.fromtimestamp(now.timestamp() + rules.edit_window_seconds, UTC),
        )

    return _Plan(body, html, store_it, finish, question)


def _heard(
    conn: Connection,
    looked_up: store.NewCommentAnswer | None,
    site_id: int,
    thread_id: int,
    status: CommentStatus,
    notify: frozenset[str],
) -> bool:
    """Whether anyone may hear of the new comment after it commits: not known unless its audience was
    looked up (with its batch on PostgreSQL, now on SQLite); and an author asking for notifications may be
    a subscriber of its own thread by the commit. The audience is as the lookup found it: a subscriber,
    moderator or webhook added while the comment's batch commits hears of the comments committed after
    it, as one added a moment later would."""
    if notify:
        return True
    audience = looked_up.audience if looked_up is not None else None
    if audience is None and looked_up is None:
        audience = audience_on_sqlite(conn, site_id, thread_id)
    return True if audience is None else audience.hears_of(status)


async def edit_comment(ctx: Context, comment_id: int, edit_token: str, body: str) -> Comment:
    """The author's new text. The token is checked first (a made-up one gets nothing rendered), and long
    markup is rendered on the context's render threads, as a new comment's is, not in a thread the rest
    of the server shares."""
    problems: dict[str, str] = {}
    body = _clean_body(ctx, body, problems)
    if problems:
        raise InvalidInput("the comment breaks some rules", problems)
    ahead = await to_thread.run_sync(_read_edit, ctx, comment_id, edit_token, body)
    html = await render_in(ctx.renders, body)
    return await to_thread.run_sync(_store_edit, ctx, comment_id, edit_token, body, html, ahead)


def _store_edit(
    ctx: Context, comment_id: int, edit_token: str, body: str, html: str, ahead: Reading | None
) -> Comment:
    now = _now()
    with ctx.db.write() as conn:
        comment, site, thread = _own_comment(ctx, conn, comment_id, edit_token)
        author_identity = None
        if comment.identity_id is not None:
            author_identity = identity_store.get_identity(conn, comment.identity_id)
        check_bans(ctx, site, comment.author, comment.remote_addr, body, author_identity)
        rules = site_settings(ctx, site)
        status, verdict = comment.status, None
        if rules.spam_filter:
            sub = _edited(comment, thread, body)
            judged = judge_comment(
                ctx,
                conn,
                site,
                rules,
                sub,
                reading_for(rules, sub, ahead),
                thread_id=thread.id,
                proof=None,
                now=now,
                comment_id=comment.id,
            )
            verdict = judged.stored
            status = max(status, STATUS_FOR[judged.verdict.action], key=SEVERITY.index)
        if rules.premoderation == "all" and rules.requeue_edits:
            # A moderator approved the text as it was: the new text waits for one too.
            status = max(status, CommentStatus.PENDING, key=SEVERITY.index)
        store.update_body(conn, comment.id, body=body, html=html, now=now, status=status, verdict=verdict)
        if comment.status is CommentStatus.PUBLISHED and status is not CommentStatus.PUBLISHED:
            thread_store.add_to_comment_count(conn, thread.id, -1)
        edited = store.get_comment(conn, comment.id)
        assert edited is not None
        ctx.events.record(conn, CommentEdited(site.key, thread.url, edited, site.id))
    return edited


def _read_edit(ctx: Context, comment_id: int, edit_token: str, body: str) -> Reading | None:
    """The edited comment as the spam filter reads it, before the write transaction (as a post is read),
    once its author is known to ask; None where the site does not filter. The transaction reads it again
    only if what it finds differs (``reading_for``)."""
    with ctx.db.read() as conn:
        comment, site, thread = _own_comment(ctx, conn, comment_id, edit_token)
    rules = site_settings(ctx, site)
    return read(rules, _edited(comment, thread, body)) if rules.spam_filter else None


def _edited(comment: Comment, thread: Thread, body: str) -> Submission:
    """An edit as the spam filter judges it: the new text, from the comment's author and client, under
    its thread's title."""
    return Submission(
        body,
        comment.author,
        comment.remote_addr,
        comment.user_agent,
        thread.url,
        Page(thread.title),
        identity_id=comment.identity_id,
    )


def delete_comment(ctx: Context, comment_id: int, edit_token: str) -> None:
    """Erase what the author wrote; the row stays as a placeholder if replies hang below it."""
    with ctx.db.write() as conn:
        comment, site, thread = _own_comment(ctx, conn, comment_id, edit_token)
        store.mark_deleted(conn, comment.id)
        if comment.status is CommentStatus.PUBLISHED:
            thread_store.add_to_comment_count(conn, thread.id, -1)
        deleted = store.get_comment(conn, comment.id)
        assert deleted is not None
        ctx.events.record(conn, CommentDeleted(site.key, thread.url, deleted, site.id))


def own_comment(ctx: Context, comment_id: int, edit_token: str) -> Comment:
    """The author's own comment in any status but deleted; the edit token proves who asks."""
    with ctx.db.read() as conn:
        comment = store.get_comment(conn, comment_id)
        if comment is None or comment.status is CommentStatus.DELETED:
            raise CommentNotFound(f"there is no comment {comment_id}", {"comment_id": "is not a comment"})
        # Reading stays possible after the edit window: the author may reload the page days later.
        _check_author(ctx, conn, comment, edit_token, 10 * 365 * 86400)
    return comment


def _own_comment(
    ctx: Context, conn: Connection, comment_id: int, edit_token: str
) -> tuple[Comment, Site, Thread]:
    comment = store.get_comment(conn, comment_id)
    if comment is None or comment.status is CommentStatus.DELETED:
        raise CommentNotFound(f"there is no comment {comment_id}", {"comment_id": "is not a comment"})
    thread = thread_store.get_thread(conn, comment.thread_id)
    site = get_site_by_id(conn, thread.site_id)
    window = site_settings(ctx, site).edit_window_seconds
    _check_author(ctx, conn, comment, edit_token, window, site)
    if comment.status is CommentStatus.SPAM:
        raise Forbidden(
            "this comment was marked as spam and can no longer be changed",
            {"comment_id": "was marked as spam"},
        )
    return comment, site, thread


def _check_author(
    ctx: Context, conn: Connection, comment: Comment, token: str, window: int, site: Site | None = None
) -> None:
    """The token proves who asks: the comment's edit token, or its verified author's reader token (from
    any device), either within ``window`` seconds of posting."""
    if not token.startswith(identity.TOKEN_PREFIX):
        ctx.signer.check_edit_token(token, comment.id, window)
        return
    found = identity_store.session_of(conn, identity.digest(token)) if len(token) <= 200 else None
    now = _now()
    if found is None or found.expires_at <= now or (site is not None and found.site_id != site.id):
        raise Unauthorized(
            "log in again: this reader token is not valid",
            {"Authorization": "is an unknown or expired reader token"},
        )
    if comment.identity_id != found.identity.id:
        raise Forbidden(
            "this comment is another reader's", {"Authorization": "is not the author's reader token"}
        )
    if (now - comment.created_at).total_seconds() > window:
        minutes = f"{window // 60} minutes" if window >= 120 else f"{window} seconds"
        raise EditWindowClosed(
            f"comments can be edited or deleted for {minutes} after posting",
            {"Authorization": f"the edit window of {minutes} has closed"},
        )


def _author_of(reader: Identity) -> Author:
    """A verified reader's comment is signed with what the provider says, not with the form's fields."""
    problems: dict[str, str] = {}
    name = _clean_text(reader.name, MAX_NAME, "name", problems) or reader.provider
    email = reader.email if reader.email_verified else ""
    if email:
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError:
            email = ""
    website = reader.profile_url or ""
    if website and (len(website) > MAX_WEBSITE or not _is_web_address(website)):
        website = ""
    return Author(name=name if not problems else reader.provider, email=email, website=website)


def _parent(
    conn: Connection, thread: Thread, parent_id: int, looked_up: store.NewCommentAnswer | None
) -> store.ReplyTarget:
    """The comment a reply answers, as its batch's lookup found it (PostgreSQL) or read now."""
    parent = looked_up.parent if looked_up is not None else store.reply_target(conn, parent_id)
    if parent is None or parent.thread_id != thread.id:
        raise InvalidInput(
            "no such comment in this thread", {"parent_id": "must be a comment in the same thread"}
        )
    if parent.status is not CommentStatus.PUBLISHED:
        raise InvalidInput("that comment cannot be replied to", {"parent_id": "is not a published comment"})
    return parent


def _check_thread_origin(site: Site, rules: SiteSettings, url: str) -> None:
    # Without this, anyone could open a thread on the site for any page of the web. A site that lists no
    # origins yet (one fed only by server-side clients) has nothing to restrict to.
    origin = page_origin(url)
    restricted = rules.restrict_thread_urls and site.allowed_origins
    if restricted and origin is not None and origin not in site.allowed_origins:
        raise InvalidInput(
            f"threads of this site are for pages on {', '.join(site.allowed_origins) or 'its origins'}",
            {"url": "must be on one of the site's origins"},
        )


def _check_origin(site: Site, client: Client) -> None:
    # Browsers always send Origin on cross-origin POSTs; server-side API clients send none.
    if client.origin and client.origin.lower() not in site.allowed_origins:
        raise OriginNotAllowed(
            f"{client.origin} may not post comments to this site", {"Origin": "not allowed"}
        )


def count_preview(ctx: Context, client: Client) -> None:
    """Count a preview against ``preview_rate_limit``; refuse it past the limit. Apart from rendering, so
    a flood is refused on the event loop without a trip through the thread pool."""
    limits, rule = ctx.spam.rate_limits, ctx.settings.preview_rate_limit
    refuse_over(limits, "preview", rule, client.remote_addr, "previews", ctx.refusals)


async def preview(ctx: Context, body: str) -> str:
    """The HTML ``body`` would be stored as, exactly (counted first with ``count_preview``: rendering is
    the one thing a reader can make the server do without storing anything). Rendered where a new
    comment is: long markup on the context's render threads, so a flood of previews queues there."""
    problems: dict[str, str] = {}
    body = _clean_body(ctx, body, problems)
    if len(body) > ctx.settings.max_body_length:
        raise InvalidInput("body too long", problems)
    return await render_in(ctx.renders, body)


def _clean_body(ctx: Context, body: str, problems: dict[str, str]) -> str:
    body = normalise(body)
    limit = ctx.settings.max_body_length
    if not body:
        problems["body"] = "must not be empty"
    elif len(body) > limit:
        problems["body"] = f"must be at most {limit:,} characters (it has {len(body):,})"
    return body


def _clean_text(value: str, limit: int, name: str, problems: dict[str, str]) -> str:
    value = " ".join(unicodedata.normalize("NFC", value).split())
    if any(unicodedata.category(ch) in ("Cc", "Cf") and ch != "\u200d" for ch in value):
        problems[name] = "must not contain control characters"
    elif len(value) > limit:
        problems[name] = f"must be at most {limit} characters"
    return value


def _clean_author(ctx: Context, author: Author, problems: dict[str, str]) -> Author:
    name = _clean_text(author.name, MAX_NAME, "author.name", problems)
    email = author.email.strip()
    if email:
        email, refused = _checked_email(ctx, email)
        if refused is not None:
            problems["author.email"] = f"is not a valid e-mail address: {refused}"
    website = author.website.strip()
    if website:
        if len(website) > MAX_WEBSITE:
            problems["author.website"] = f"must be at most {MAX_WEBSITE} characters"
        elif not _is_web_address(website):
            problems["author.website"] = "must be an http:// or https:// address"
    return Author(name=name, email=email, website=website)


def _checked_email(ctx: Context, email: str) -> tuple[str, str | None]:
    """The address as ``email_validator`` writes it, or as typed with why it refused it; each address
    checked once per process (``Context.email_checks``): the check depends on nothing but the text. One too
    long to be an address is checked every time: kept, ten thousand would hold a request's size each."""
    checked = ctx.email_checks.get(email)
    if checked is None:
        try:
            checked = (validate_email(email, check_deliverability=False).normalized, None)
        except EmailNotValidError as exc:
            checked = (email, str(exc))
        if len(email) <= MAX_EMAIL:
            ctx.email_checks.put(email, checked)
    return checked


def _is_web_address(website: str) -> bool:
    try:
        parts = urlsplit(website)
    except ValueError:  # an unbalanced "[" in the host
        return False
    # No control characters either: PostgreSQL refuses NUL outright, and none belongs in a link.
    return (
        parts.scheme.lower() in ("http", "https")
        and bool(parts.netloc)
        and not any(c.isspace() or unicodedata.category(c) == "Cc" for c in website)
    )


def _now() -> datetime:
    return datetime.now(UTC)

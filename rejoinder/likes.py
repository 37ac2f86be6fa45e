"""Likes: *Liked by 3 people*. One like per reader id and comment, however often it is sent.

A reader id is whatever the browser sends, so a script can invent one per request. With the site's spam
filter on, likes are therefore rate-limited per client address and per liker id, and a comment counts
at most one like per address within ``like_address_hours``: a second one from the same address under
another id is answered as liked but not counted (docs/spam.md, "Likes"). Whatever the site, every
address is also held to the server's ``like_rate_limit``, checked before anything is read, so a flood is
refused without a statement (and then at the door, by ``refusals``, until its Retry-After).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection

from rejoinder.addresses import subscriber
from rejoinder.context import Context
from rejoinder.errors import CommentNotFound, InvalidInput, RateLimited, RejoinderError
from rejoinder.events import CommentLiked
from rejoinder.identity import liker_key as identity_liker_key
from rejoinder.model import CommentStatus, Site, SiteSettings
from rejoinder.ratelimits import refusal, refuse_over, refuse_over_gathered
from rejoinder.sites import known_site, site_settings
from rejoinder.store import comments as comment_store
from rejoinder.store import likes as store

LIKER_HEADER = "X-Rejoinder-Liker"
ONE_LIKE_PER_ADDRESS = "like-address"  # the rate-limit scope that remembers which address liked what


@dataclass(frozen=True)
class LikeState:
    likes: int
    liked: bool


@dataclass(frozen=True)
class _Liker:
    key: str  # the liker's keyed id: a browser's random id, or a logged-in reader's identity
    remote_addr: str
    verified: bool  # a logged-in reader: one like each wherever they are, so no per-address counting


@dataclass(frozen=True)
class _Admission:
    """What the site's like rules decided before anything is written."""

    site: Site | None  # None: the site's spam filter is off, and with it these rules
    rules: SiteSettings | None
    address: str  # the client's address as likes count it ("" when unknown)
    counted: bool  # False: this address liked the comment within the window; answer, do not count
    site_id: int  # the comment's site, whose rules these are (or that has none)


@dataclass(frozen=True)
class _Liking:
    """What one like's transaction found and did."""

    likes: int = 0  # the comment's count after it
    changed: bool = False  # a like was added or taken back
    admitted: _Admission | None = None
    # Not a published comment, or past a rate limit: raised once the transaction is over, as the batch it
    # shares with other writers would otherwise be rolled back and run again one by one.
    refused: RejoinderError | None = None
    # The comment's site, whose rules are counted in Redis and were not asked yet: nothing was written.
    undecided: Site | None = None


def set_like(
    ctx: Context,
    comment_id: int,
    liker: str | None,
    liked: bool,
    remote_addr: str = "",
    identity_id: int | None = None,
) -> LikeState:
    """Like (``liked=True``) or unlike a comment for one reader; repeating it changes nothing. A logged-in
    reader (``identity_id``) likes as that identity, the same on every device."""
    key = _liker_key(ctx, liker, identity_id)
    who = _Liker(key, remote_addr, identity_id is not None)
    _refuse_a_flood(ctx, remote_addr)
    decided: list[_Admission | RateLimited] = []
    stored = ctx.db.transaction(_plan_like(ctx, comment_id, who, liked, decided))
    if stored.undecided is not None:
        decided.append(_decide(ctx, stored.undecided, comment_id, who, liked))
        stored = ctx.db.transaction(_plan_like(ctx, comment_id, who, liked, decided))
    return _finish(ctx, comment_id, liked, stored)


async def set_like_async(
    ctx: Context,
    comment_id: int,
    liker: str | None,
    liked: bool,
    remote_addr: str = "",
    identity_id: int | None = None,
) -> LikeState:
    """``set_like`` for the event loop: on SQLite the write joins the loop's group commit."""
    key = _liker_key(ctx, liker, identity_id)
    who = _Liker(key, remote_addr, identity_id is not None)
    flood: _FloodCheck | None = None
    if ctx.spam.rate_limits.shared and ctx.db.backend == "postgresql":
        # Counted in Redis, a round trip: by the committer's thread, for its whole batch at once, before
        # any statement (``_look_ahead``), so a like is handed to one thread, not two.
        flood = _FloodCheck(ctx, remote_addr)
    elif ctx.spam.rate_limits.shared:
        # Counted in Redis: a round trip, which would stop the event loop (and every reader) if asked from
        # it, and SQLite's batches run on the loop. In a thread, with the other likes' asked meanwhile.
        limits, rule = ctx.spam.rate_limits, ctx.settings.like_rate_limit
        await refuse_over_gathered(limits, "like", rule, remote_addr, "likes", ctx.refusals)
    else:
        _refuse_a_flood(ctx, remote_addr)
    decided: list[_Admission | RateLimited] = []
    question = _Ahead(ctx, comment_id, who.key, liked, decided, flood)
    ahead = (_look_ahead, question) if ctx.db.backend == "postgresql" else None
    plan = _plan_like(ctx, comment_id, who, liked, decided, question)
    stored = await ctx.db.transaction_async(plan, ahead=ahead, small=True)
    if stored.undecided is not None:
        # The site's rules are counted in Redis: asked between two transactions (the first only read the
        # comment), off the loop, instead of holding the batch the like is written with.
        decided.append(await asyncio.to_thread(_decide, ctx, stored.undecided, comment_id, who, liked))
        stored = await ctx.db.transaction_async(plan, ahead=ahead, small=True)
    if stored.changed and not liked:  # may free the address's like of the comment in Redis: off the loop
        return await asyncio.to_thread(_finish, ctx, comment_id, liked, stored)
    return _finish(ctx, comment_id, liked, stored)


def _liker_key(ctx: Context, liker: str | None, identity_id: int | None = None) -> str:
    if identity_id is not None:
        return identity_liker_key(ctx, identity_id)
    liker = (liker or "").strip()
    if not is_liker_id(liker):
        raise InvalidInput(
            f"{LIKER_HEADER} must be the reader's random id",
            {LIKER_HEADER: "must be 8-128 printable ASCII characters"},
        )
    return ctx.signer.reader_key("like", liker)


def is_liker_id(liker: str) -> bool:
    """Whether ``liker`` (stripped of surrounding spaces) is an id a like accepts."""
    return 8 <= len(liker) <= 128 and liker.isascii() and liker.isprintable()


@dataclass
class _FloodCheck:
    """The server's bound on likes (``like_rate_limit``) for one like, asked with its batch's others."""

    ctx: Context
    address: str
    asked: bool = False
    refused: RateLimited | None = None


@dataclass
class _Placement:
    """A like made (or the comment read) by its batch's statement: as ``store.change_like_placed`` answers,
    with the sites it wrote for."""

    placed: store.PlacedLike | None
    sites: tuple[int, ...]


@dataclass
class _Ahead:
    """A like's questions to its batch (PostgreSQL): the server's bound on likes when it is counted in
    Redis, and the like itself, made with the batch's other likes in one statement where it can be."""

    ctx: Context
    comment_id: int
    liker_key: str
    liked: bool
    decided: list[_Admission | RateLimited]
    flood: _FloodCheck | None
    placement: _Placement | None = None  # made by this transaction's look-ahead, for the like to take


def _look_ahead(conn: Connection, asked: list[_Ahead]) -> None:
    """A ``LookAhead`` of a batch of likes (``Database.transaction``), before any of them runs: the
    server's bound for all of them in one round trip to Redis, then the likes in one statement, each a
    round trip the whole batch waited for, which makes those of comments on sites without like rules (as
    the sites' rows say) and reads the others' comments. A like whose site's rules were asked (its second
    transaction), an unlike, or a second like of a comment in the batch is left to its own statement."""
    floods = [question.flood for question in asked if question.flood is not None]
    if floods:
        _count_floods(conn, floods)
    for question in asked:
        question.placement = None  # from an earlier transaction of the batch that rolled back
    known = asked[0].ctx.sites_without_like_rules.known()  # None: not trusted, the sites' rows are read
    sites = known or ()
    together: dict[int, _Ahead] = {}
    for question in asked:
        refused = question.flood is not None and question.flood.refused is not None
        if question.liked and not question.decided and not refused and (sites or known is None):
            together.setdefault(question.comment_id, question)
    if not together:
        return
    likes = [(question.comment_id, question.liker_key) for question in together.values()]
    ctx = asked[0].ctx
    events = _like_events(ctx)
    placed = store.place_likes(conn, likes, datetime.now(UTC), sites, unruled=known is None, events=events)
    for comment_id, question in together.items():
        question.placement = _Placement(placed.get(comment_id), sites)
    # Their outbox rows are written: handed on for the batch at once, as its transaction would hand them.
    _written(ctx, conn, list(placed.values()))


def _like_events(ctx: Context) -> store.LikeEvents:
    """The outbox rows a like statement writes: ``CommentLiked``, as ``ctx.events.record`` would write it."""
    return store.LikeEvents(CommentLiked.topic(), ctx.events.delivered_when_written(CommentLiked))


def _liked(placed: store.PlacedLike) -> CommentLiked:
    return CommentLiked(placed.site_key, placed.thread_url, placed.comment)


def _written(ctx: Context, conn: Connection, placed: list[store.PlacedLike]) -> None:
    """The events of likes whose statement wrote their outbox rows (``LikeEvents``), to be delivered."""
    made = [(like.event_id, _liked(like)) for like in placed if like.event_id is not None]
    if made:
        ctx.events.written(conn, made)


def _count_floods(_conn: Connection, checks: list[_FloodCheck]) -> None:
    """The server's bound for every like of the batch, in one round trip to Redis, before any statement,
    so a refused like reads nothing. A like asked already (its batch failed and runs again piece by piece,
    or its site's rules were asked between two transactions) is not counted again."""
    waiting = [check for check in checks if not check.asked]
    if not waiting:
        return
    ctx = waiting[0].ctx
    rule = ctx.settings.like_rate_limit
    found = ctx.spam.rate_limits.hit_each([(0, [("like", rule, check.address)]) for check in waiting])
    for check, exceeded in zip(waiting, found, strict=True):
        check.asked = True
        check.refused = refusal(exceeded, "like", check.address, "likes", ctx.refusals)


def _refuse_a_flood(ctx: Context, remote_addr: str) -> None:
    """The server's own bound on likes per address (``like_rate_limit``), for every site."""
    limits, rule = ctx.spam.rate_limits, ctx.settings.like_rate_limit
    refuse_over(limits, "like", rule, remote_addr, "likes", ctx.refusals)


def liking_address(remote_addr: str) -> str:
    """The address likes are limited by: an IPv6 client by its /64 network, which one subscriber usually
    has whole (counting single addresses would give a script 2⁶⁴ of them); an IPv4 client by its address."""
    return subscriber(remote_addr)


def _window(rules: SiteSettings) -> str:
    """The rate-limit rule that says "once within ``like_address_hours``"."""
    return f"1/{max(1, round(rules.like_address_hours * 60))} minutes"


def _address_liked(ctx: Context, comment_id: int, address: str) -> str:
    """What remembers that an address liked a comment: a keyed hash, as it is kept for a day (in Redis
    too), longer than any other rate-limit key holds an address."""
    return ctx.signer.reader_key("like-address", f"{comment_id} {address}")


def _admit(ctx: Context, site: Site, comment_id: int, who: _Liker, liked: bool) -> _Admission:
    """The site's like rules, in the like's transaction before anything is written: rate limits (429 past
    them) and one counted like per address and comment within the window (a verified reader counts once
    as themselves instead)."""
    rules = site_settings(ctx, site)
    if not rules.spam_filter:
        return _Admission(None, None, "", True, site.id)  # no rules, so no address is counted or freed
    address = liking_address(who.remote_addr)
    liker_key = who.key
    exceeded = ctx.spam.rate_limits.hit(
        site.id,
        [
            ("like-ip", rules.like_rate_limit_ip, address),
            ("like-liker", rules.like_rate_limit_liker, liker_key),
        ],
    )
    if exceeded is not None:
        field, whom = (
            ("client", "this address") if exceeded.scope == "like-ip" else (LIKER_HEADER, "this reader")
        )
        raise RateLimited(
            f"too many likes from {whom}; try again in {exceeded.retry_after} s",
            {field: f"allows {exceeded.limit}"},
            retry_after=exceeded.retry_after,
        )
    counted = True
    if liked and address and rules.like_address_hours > 0 and not who.verified:
        counted = ctx.spam.rate_limits.first(
            site.id, ONE_LIKE_PER_ADDRESS, _window(rules), _address_liked(ctx, comment_id, address)
        )
    return _Admission(site, rules, address, counted, site.id)


def _decide(ctx: Context, site: Site, comment_id: int, who: _Liker, liked: bool) -> _Admission | RateLimited:
    try:
        return _admit(ctx, site, comment_id, who, liked)
    except RateLimited as refused:
        return refused


def _plan_like(
    ctx: Context,
    comment_id: int,
    who: _Liker,
    liked: bool,
    decided: list[_Admission | RateLimited],
    ahead: _Ahead | None = None,
) -> Callable[[Connection], _Liking]:
    """The like's transaction: the comment (with its thread's URL and its site's key), the site's rules
    (the site from the context's memo) unless ``decided`` holds them already, then the like and its count.

    Rules counted in Redis (the site's spam filter on, in a deployment with Redis) are about ten round
    trips: asked in the transaction, they would hold the batch it shares with other writers (and on
    SQLite the event loop). Then the transaction writes nothing and names the site (``undecided``); the
    caller asks the rules outside and runs it again with them. A site without the filter has no rules to
    ask, so its likes take one transaction and no read of their own."""

    def store_it(conn: Connection) -> _Liking:
        flood = ahead.flood if ahead is not None else None
        if flood is not None:
            _count_floods(conn, [flood])  # asked already with the batch's others, unless run without it
            if flood.refused is not None:
                return _Liking(refused=flood.refused)
        if store.changes_in_one_statement(conn):
            placement = None
            if ahead is not None:  # taken, so that it is never read again in another transaction
                placement, ahead.placement = ahead.placement, None
            return _in_one_statement(ctx, conn, comment_id, who, liked, decided, placement)
        placed = comment_store.get_comment_placed(conn, comment_id)
        if placed is None or placed[0].status is not CommentStatus.PUBLISHED:
            return _Liking(refused=_no_comment(comment_id))
        comment, thread_url, site_key = placed
        if not decided:
            site = known_site(ctx, conn, site_key)
            if ctx.spam.rate_limits.shared and site_settings(ctx, site).spam_filter:
                return _Liking(undecided=site)
            # Asked once: the rules count the like against the limits, and if the batch this like shares
            # fails, it runs again alone, where a second asking would take the first for another like.
            decided.append(_decide(ctx, site, comment_id, who, liked))
        admitted = _counted(decided[0], comment.likes)
        if isinstance(admitted, _Liking):
            return admitted
        counted = store.change_like(conn, comment_id, who.key, liked, datetime.now(UTC))
        if counted is None:  # on PostgreSQL a concurrent like may have committed since the read above
            return _Liking(comment_store.like_count(conn, comment_id), False, admitted)
        likes, version = counted
        comment = dataclasses.replace(comment, likes=likes, version=version)
        ctx.events.record(conn, CommentLiked(site_key, thread_url, comment))
        return _Liking(likes, True, admitted)

    return store_it


def _in_one_statement(
    ctx: Context,
    conn: Connection,
    comment_id: int,
    who: _Liker,
    liked: bool,
    decided: list[_Admission | RateLimited],
    placement: _Placement | None = None,
) -> _Liking:
    """``_plan_like`` on PostgreSQL: the comment's read and the like in one statement, which writes only
    for a site whose rules were asked (``decided``) or that has none (``Context.sites_without_like_rules``,
    or, for a like whose rules were not asked, the site's row as the statement reads it: while the fan-out
    has unread news the memo is not trusted, and the row needs no trust).
    A comment on any other site is read, its site's rules are decided as in ``_plan_like``, and the like
    is written by a second statement (once per site and process, while its spam filter is off).
    ``placement``: that first statement, made already with the batch's other likes (``_look_ahead``)."""
    admitted = decided[0] if decided else None
    unruled = False  # True while the memo is not to be trusted: the statement reads the site's row
    if admitted is None:
        known = ctx.sites_without_like_rules.known()
        sites, unruled = known or (), known is None
    elif isinstance(admitted, RateLimited) or not admitted.counted:
        sites = ()
    else:
        sites = (admitted.site_id,)
    now = datetime.now(UTC)
    events = _like_events(ctx) if liked else None  # an unlike's event is written with the transaction's
    if placement is not None:  # its event, if it made the like, was handed on by the look-ahead
        placed, sites = placement.placed, placement.sites
    else:
        placed = store.change_like_placed(
            conn, comment_id, who.key, liked, now, sites, unruled=unruled, events=events
        )
        _written(ctx, conn, [placed] if placed is not None else [])
    if placed is None or placed.comment.status is not CommentStatus.PUBLISHED:
        return _Liking(refused=_no_comment(comment_id))
    if admitted is None and placed.site_id not in sites and not placed.unruled:
        generation = ctx.sites_without_like_rules.generation
        site = known_site(ctx, conn, placed.site_key)
        # The same rule as the statement's "unruled" (store/likes._likes_statement): change both together.
        if not site_settings(ctx, site).spam_filter:
            ctx.sites_without_like_rules.add(site.id, generation)
        elif ctx.spam.rate_limits.shared:
            return _Liking(undecided=site)
        # Asked once, as in ``_plan_like``.
        decided.append(_decide(ctx, site, comment_id, who, liked))
        counted = _counted(decided[0], placed.comment.likes)
        if isinstance(counted, _Liking):
            return counted
        admitted = counted
        sites = (site.id,)
        placed = store.change_like_placed(conn, comment_id, who.key, liked, now, sites, events=events)
        if placed is None or placed.comment.status is not CommentStatus.PUBLISHED:  # gone since
            return _Liking(refused=_no_comment(comment_id))
        _written(ctx, conn, [placed])
    elif isinstance(admitted, RateLimited):
        return _Liking(refused=admitted)
    if admitted is None:  # a site without rules
        admitted = _Admission(None, None, "", True, placed.site_id)
    if not placed.changed:
        if placed.site_id in sites or placed.unruled:
            # Liked twice, perhaps by a concurrent like that committed while this one waited for it: the
            # statement's count is from before that commit, a new statement sees it.
            return _Liking(comment_store.like_count(conn, comment_id), False, admitted)
        return _Liking(placed.comment.likes, False, admitted)
    if placed.event_id is None:  # an unlike, whose statement wrote no outbox row
        ctx.events.record(conn, _liked(placed))
    return _Liking(placed.comment.likes, True, admitted)


def _counted(admitted: _Admission | RateLimited, likes: int) -> _Admission | _Liking:
    """The site's rules' answer: a like refused or not counted is answered at once (``likes``: the
    comment's count as read); one to count goes on with its admission."""
    if isinstance(admitted, RateLimited):
        return _Liking(refused=admitted)
    if not admitted.counted:
        return _Liking(likes, False, admitted)
    return admitted


def _no_comment(comment_id: int) -> CommentNotFound:
    return CommentNotFound(f"there is no comment {comment_id}", {"comment_id": "is not a published comment"})


def _finish(ctx: Context, comment_id: int, liked: bool, stored: _Liking) -> LikeState:
    if stored.refused is not None:
        raise stored.refused
    if stored.changed and not liked and stored.admitted is not None:
        _free_the_address(ctx, comment_id, stored.admitted)
    return LikeState(likes=stored.likes, liked=liked)


def _free_the_address(ctx: Context, comment_id: int, admitted: _Admission) -> None:
    """A like taken back frees its address's one like of the comment: the reader may like it again."""
    site, rules = admitted.site, admitted.rules
    if site and rules and rules.like_address_hours > 0 and admitted.address:
        liked_by = _address_liked(ctx, comment_id, admitted.address)
        ctx.spam.rate_limits.forget(site.id, ONE_LIKE_PER_ADDRESS, _window(rules), liked_by)

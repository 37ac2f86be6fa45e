"""Thread snapshots: every visible comment of one thread, in memory, updated by each write.

Pure: no I/O. ``threads.read_page`` loads a snapshot once and cuts pages from it; the writes this
process makes are applied to it (``with_posted``, ``with_changed``) instead of reloading it, so a busy
thread costs one database read, not one per write. A snapshot no write has reached lately is held packed
(``PackedSnapshot``): a sixth of the bytes, made into comments again for the next write or page made.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import marshal
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat
from operator import attrgetter

from rejoinder.cache import ReadCache
from rejoinder.events import CommentChanged, CommentPosted, ThreadChanged, public
from rejoinder.model import (
    VISIBLE_STATUSES,
    Author,
    Comment,
    CommentStatus,
    PageKey,
    SortOrder,
    Thread,
    Verified,
)

# Rough bytes per comment besides its HTML, for the cache's memory budget.
COMMENT_OVERHEAD = 400
# A packed snapshot's bytes besides its data: the object and its tuple of commenters.
PACKED_OVERHEAD = 200
# zlib's fastest level: packing is on a write's path.
PACK_LEVEL = 1
_STATUSES = tuple(CommentStatus)
_STATUS_CODES = {status: code for code, status in enumerate(_STATUSES)}
# A packed snapshot's columns kept as they are, in ``Comment``'s order (``PackedSnapshot.unpacked``).
_PLAIN = tuple(
    attrgetter(name)
    for name in ("id", "parent_id", "root_id", "html", "likes", "version", "edited_by_moderator", "pinned")
) + (attrgetter("identity_id"),)
_ROOT, _THREAD, _AUTHOR, _EMAIL = (attrgetter(name) for name in ("root_id", "thread_id", "author", "email"))
_BODY, _ADDRESS, _AGENT = (attrgetter(name) for name in ("body", "remote_addr", "user_agent"))
_CREATED, _EDITED, _STATUS, _VERIFIED = (
    attrgetter(name) for name in ("created_at", "edited_at", "status", "verified")
)


def _position(comment: Comment) -> tuple[object, int]:
    return (comment.created_at, comment.id)


def _key(after: PageKey) -> tuple[object, int]:
    """Where a page ends, as ``_position`` places a comment."""
    return (after.created_at, after.id)


_PINNED = attrgetter("pinned")


def _size(comment: Comment) -> int:
    return len(comment.html) + len(comment.author.name) + len(comment.author.website) + COMMENT_OVERHEAD


@dataclass(frozen=True)
class ThreadSnapshot:
    thread: Thread
    max_depth: int  # the site's, when the snapshot was loaded
    top_level: tuple[Comment, ...]  # oldest first
    replies: Mapping[int, tuple[Comment, ...]]  # top-level id -> every reply below it, oldest first
    size: int  # roughly, in bytes, for the cache's budget

    @property
    def comment_count(self) -> int:
        """The thread's published comments, as its page tells them and as counts requests are answered."""
        return self.thread.comment_count

    is_packed = False

    def packed(self) -> PackedSnapshot | ThreadSnapshot:
        """The snapshot in its compact form, or itself if one of its comments holds what that form does not
        keep (a private field, a time not in UTC): memory only, either way."""
        return PackedSnapshot.of(self) or self

    def unpacked(self) -> ThreadSnapshot:
        return self

    @classmethod
    def of(
        cls,
        thread: Thread,
        max_depth: int,
        comments: Iterable[Comment],
        authors: dict[tuple[str, str], Author] | None = None,
    ) -> ThreadSnapshot:
        """From the thread's visible comments, oldest first. ``authors`` (name and website to author) is
        shared with other snapshots, so that each commenter is held once (``ReadCache.authors``)."""
        top: list[Comment] = []
        replies: dict[int, list[Comment]] = {}
        # One author object per commenter, not per comment: a thread's regulars write most of it.
        if authors is None:
            authors = {}
        size = 0
        for comment in comments:
            size += _size(comment)
            comment = public(comment)
            author = comment.author
            comment.author = authors.setdefault((author.name, author.website), author)
            # The thread's id object, not the one each row brought (32 bytes a comment).
            comment.thread_id = thread.id
            if comment.root_id is None:
                top.append(comment)
            else:
                replies.setdefault(comment.root_id, []).append(comment)
        grouped = {root: tuple(group) for root, group in replies.items()}
        return cls(thread, max_depth, tuple(top), grouped, size)

    def top_level_page(self, sort: SortOrder, after: PageKey | None, limit: int) -> list[Comment]:
        """Up to ``limit`` top-level comments after ``after`` in ``sort`` order.

        The same cut, in the same order, as ``store.comments.top_level_page`` makes in SQL.
        """
        if sort is not SortOrder.TOP:
            return self._in_time_order(sort is SortOrder.NEWEST, after, limit)
        ordered = sorted(self.top_level, key=lambda c: (-c.likes, c.created_at, c.id))
        top = []
        for comment in ordered:
            if comment.pinned:
                continue  # listed above the first page instead (``pinned``)
            if after is None or _is_after(comment, after):
                top.append(comment)
                if len(top) == limit:
                    break
        return top

    def _in_time_order(self, newest_first: bool, after: PageKey | None, limit: int) -> list[Comment]:
        """``top_level_page`` oldest or newest first. The comments are held in that order, so the page's
        start is found by bisection and the pinned ones are passed over in C: a thread read past its first
        1,000 top-level comments had each of its pages made after a write cost a Python step, a cursor
        comparison included, for every comment before the page's end."""
        comments = self.top_level
        ordered: Iterable[Comment]
        if newest_first:
            end = len(comments) if after is None else bisect.bisect_left(comments, _key(after), key=_position)
            ordered = reversed(comments[:end])
        else:
            start = 0 if after is None else bisect.bisect_right(comments, _key(after), key=_position)
            ordered = itertools.islice(comments, start, None)
        return list(itertools.islice(itertools.filterfalse(_PINNED, ordered), limit))

    def pinned(self) -> list[Comment]:
        """The pinned top-level comments, oldest first (``store.comments.pinned_comments``)."""
        return list(filter(_PINNED, self.top_level))

    def replies_under(self, top: Iterable[Comment]) -> list[Comment]:
        """Every reply below the given top-level comments, parents before their replies."""
        return [reply for comment in top for reply in self.replies.get(comment.id, ())]

    def with_posted(
        self, comment: Comment, authors: dict[tuple[str, str], Author] | None = None
    ) -> ThreadSnapshot:
        """The snapshot after ``comment`` was posted (held comments change nothing readers see). ``authors``
        as for ``of``."""
        if comment.status not in VISIBLE_STATUSES:
            return self
        snapshot = self._placed(comment, authors)
        if comment.status is CommentStatus.PUBLISHED and not self._has(comment):
            count = self.thread.comment_count + 1
            snapshot = dataclasses.replace(
                snapshot, thread=dataclasses.replace(self.thread, comment_count=count)
            )
        return snapshot

    def with_changed(
        self, comment: Comment, authors: dict[tuple[str, str], Author] | None = None
    ) -> ThreadSnapshot:
        """The snapshot after ``comment`` was edited, liked, deleted or had its status changed. ``authors`` as
        for ``of``."""
        before = self._find(comment)
        if before is None:
            return self.with_posted(comment, authors)
        if before.version >= comment.version:
            return self  # events of concurrent writes may arrive out of order: keep the newer copy
        # Held or spam now, it stays (as a placeholder, see tree.py) while replies hang below it.
        shown = comment.status in VISIBLE_STATUSES or self._has_replies(comment)
        snapshot = self._placed(comment, authors) if shown else self._without(before)
        delta = (comment.status is CommentStatus.PUBLISHED) - (before.status is CommentStatus.PUBLISHED)
        if delta:
            count = self.thread.comment_count + delta
            snapshot = dataclasses.replace(
                snapshot, thread=dataclasses.replace(self.thread, comment_count=count)
            )
        return snapshot

    def _group(self, comment: Comment) -> tuple[Comment, ...]:
        return self.top_level if comment.root_id is None else self.replies.get(comment.root_id, ())

    def _find(self, comment: Comment) -> Comment | None:
        group = self._group(comment)
        i = bisect.bisect_left(group, _position(comment), key=_position)
        return group[i] if i < len(group) and group[i].id == comment.id else None

    def _has_replies(self, comment: Comment) -> bool:
        return any(
            reply.parent_id == comment.id for reply in self.replies.get(comment.root_id or comment.id, ())
        )

    def _has(self, comment: Comment) -> bool:
        return self._find(comment) is not None

    def _placed(
        self, comment: Comment, authors: dict[tuple[str, str], Author] | None = None
    ) -> ThreadSnapshot:
        """A new snapshot with ``comment`` inserted at its place, or replacing its earlier version."""
        comment = self._kept(comment, authors)
        group = list(self._group(comment))
        i = bisect.bisect_left(group, _position(comment), key=_position)
        size = self.size + _size(comment)
        if i < len(group) and group[i].id == comment.id:
            size -= _size(group[i])
            group[i] = comment
        else:
            group.insert(i, comment)
        return self._with_group(comment, group, size)

    def _kept(self, comment: Comment, authors: dict[tuple[str, str], Author] | None) -> Comment:
        """The comment as the snapshot keeps it: public (``events.public``), and holding what the snapshot
        holds already — its commenter (``authors``), the thread's id, its root's and parent's ids — instead of
        the copies the write brought: about 140 bytes less for each comment posted into a kept snapshot."""
        comment = public(comment)  # what readers may not see is dropped in one place, for every subscriber
        author = comment.author
        if authors is not None:
            author = authors.setdefault((author.name, author.website), author)
        root_id, parent_id = comment.root_id, comment.parent_id
        if root_id is not None:
            group = self.replies.get(root_id, ())
            root_id = group[0].root_id if group else self._id_of(self.top_level, root_id)
            parent_id = root_id if parent_id == root_id else self._id_of(group, parent_id)
        kept = (author, self.thread.id, root_id, parent_id)
        own = (comment.author, comment.thread_id, comment.root_id, comment.parent_id)
        if all(a is b for a, b in zip(kept, own, strict=True)):
            return comment  # holds nothing of its own already
        # A copy, not the comment given changed: that may be the event's, which other subscribers read too.
        return dataclasses.replace(
            comment, author=author, thread_id=self.thread.id, root_id=root_id, parent_id=parent_id
        )

    @staticmethod
    def _id_of(group: tuple[Comment, ...], comment_id: int | None) -> int | None:
        """The id object of the comment of that id in ``group``, or ``comment_id`` if none is."""
        for comment in group:
            if comment.id == comment_id:
                return comment.id
        return comment_id

    def _without(self, comment: Comment) -> ThreadSnapshot:
        group = [c for c in self._group(comment) if c.id != comment.id]
        return self._with_group(comment, group, self.size - _size(comment))

    def _with_group(self, comment: Comment, group: list[Comment], size: int) -> ThreadSnapshot:
        if comment.root_id is None:
            return dataclasses.replace(self, top_level=tuple(group), size=size)
        return dataclasses.replace(self, replies={**self.replies, comment.root_id: tuple(group)}, size=size)


@dataclass(frozen=True, slots=True)
class PackedSnapshot:
    """A thread's snapshot as a few bytes: its comments' fields in columns (times as ISO text, each commenter
    as a number), marshalled and compressed. A comment held in a ``ThreadSnapshot`` takes about 550 bytes
    (its record, its HTML, its time and id objects); packed, 80-100 on the shared harness's threads.
    ``unpacked`` makes it a ``ThreadSnapshot`` of equal comments again, for a write or a page made from it:
    new objects, so a page layout made of the old ones is let go (``ReadCache.cooled``)."""

    thread: Thread
    max_depth: int
    authors: tuple[Author, ...]  # the objects ``ReadCache.authors`` shares, kept as they were
    data: bytes
    unpacked_size: int  # the ``size`` of the snapshot it was packed from
    size: int

    @property
    def comment_count(self) -> int:
        return self.thread.comment_count

    is_packed = True

    def packed(self) -> PackedSnapshot:
        return self

    @classmethod
    def of(cls, snapshot: ThreadSnapshot) -> PackedSnapshot | None:
        """``snapshot`` packed, or None if a comment holds what the packed form does not keep. Column by
        column, each in C (``map``): a Python step a comment costs as much as the rest together."""
        comments = [*snapshot.top_level, *itertools.chain.from_iterable(snapshot.replies.values())]
        thread_id = snapshot.thread.id
        if any(map(_BODY, comments)) or any(map(_ADDRESS, comments)) or any(map(_AGENT, comments)):
            return None  # never in a snapshot (``events.public``)
        if any(map(thread_id.__ne__, map(_THREAD, comments))):
            return None
        by_identity = {id(author): author for author in map(_AUTHOR, comments)}
        if any(map(_EMAIL, by_identity.values())):
            return None
        number = {key: n for n, key in enumerate(by_identity)}
        edited = list(map(_EDITED, comments))
        verified = list(map(_VERIFIED, comments))
        columns = (
            len(snapshot.top_level),
            *(list(map(field, comments)) for field in _PLAIN),
            list(map(datetime.isoformat, map(_CREATED, comments))),
            [None if moment is None else moment.isoformat() for moment in edited] if any(edited) else None,
            list(map(number.__getitem__, map(id, map(_AUTHOR, comments)))),
            list(map(_STATUS_CODES.__getitem__, map(_STATUS, comments))),
            [
                None if v is None else (v.provider, v.provider_name, v.profile_url, v.avatar_url)
                for v in verified
            ]
            if any(verified)
            else None,
        )
        data = zlib.compress(marshal.dumps(columns), PACK_LEVEL)
        size = len(data) + PACKED_OVERHEAD + 8 * len(by_identity)
        return cls(
            snapshot.thread, snapshot.max_depth, tuple(by_identity.values()), data, snapshot.size, size
        )

    def unpacked(self) -> ThreadSnapshot:
        """The snapshot it was packed from: equal comments, field for field, in the same places."""
        (
            top_count, ids, parents, roots, html, likes, versions, moderated, pinned, identities, created,
            edited, authors, statuses, verified,
        ) = marshal.loads(zlib.decompress(self.data))  # fmt: skip
        n = len(ids)
        comments = list(
            map(
                Comment, ids, repeat(self.thread.id, n), parents, roots,
                map(self.authors.__getitem__, authors), repeat("", n), html,
                map(_STATUSES.__getitem__, statuses), map(datetime.fromisoformat, created),
                repeat(None, n) if edited is None else map(_moment, edited), likes, repeat("", n),
                repeat("", n), versions, moderated, pinned, identities,
                repeat(None, n) if verified is None else map(_verified, verified),
            )
        )  # fmt: skip
        replies = {root: tuple(group) for root, group in itertools.groupby(comments[top_count:], _ROOT)}
        top = tuple(comments[:top_count])
        return ThreadSnapshot(self.thread, self.max_depth, top, replies, self.unpacked_size)


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _verified(fields: tuple[str, str, str | None, str | None] | None) -> Verified | None:
    return None if fields is None else Verified(*fields)


def _is_after(comment: Comment, key: PageKey) -> bool:
    position, last = (comment.created_at, comment.id), (key.created_at, key.id)
    if key.sort is SortOrder.NEWEST:
        return position < last
    if key.sort is SortOrder.TOP:
        return comment.likes < key.likes or (comment.likes == key.likes and position > last)
    return position > last


def apply_to_cache(cache: ReadCache, event: ThreadChanged) -> None:
    """Subscriber: bring the thread's snapshot up to date with a committed write, drop its responses."""

    def updated(held: ThreadSnapshot | PackedSnapshot) -> tuple[ThreadSnapshot, int]:
        assert isinstance(event, CommentChanged)
        snapshot = held.unpacked()
        if isinstance(event, CommentPosted):
            snapshot = snapshot.with_posted(event.comment, cache.authors())
        else:
            snapshot = snapshot.with_changed(event.comment, cache.authors())
        return snapshot, snapshot.size

    # Anything but a comment change (a thread closed, say) reloads the snapshot.
    cache.invalidate(
        (event.site_key, event.thread_url), updated if isinstance(event, CommentChanged) else None
    )

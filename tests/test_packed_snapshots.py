"""Snapshots of threads not written to lately are held packed (``snapshots.PackedSnapshot``), those of the
threads written to last as comments, up to their share of the read cache (``ReadCache.warm``). Packed or
not, a thread's pages are the same bytes under the same ETag."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from rejoinder import threads
from rejoinder.cache import ReadCache
from rejoinder.context import Context
from rejoinder.events import CommentLiked, CommentPosted
from rejoinder.model import Author, Comment, CommentStatus, SortOrder, Thread, Verified
from rejoinder.snapshots import PackedSnapshot, ThreadSnapshot, apply_to_cache
from rejoinder.web.page_parts import PageParts
from rejoinder.web.serialize import Fragments, thread_page
from rejoinder.web.snapshot_pages import page_from_snapshot
from tests.helpers import ARTICLE, post

SITE = "test"
START = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
PUBLISHED, DELETED, PENDING = CommentStatus.PUBLISHED, CommentStatus.DELETED, CommentStatus.PENDING
WORDS = [f"word{n}" for n in range(2000)]


def thread_of(thread_id: int, count: int = 0) -> Thread:
    return Thread(thread_id, 1, f"https://blog.example/{thread_id}", "A title", START, False, count)


def comment(
    id: int, thread_id: int = 1, parent: Comment | None = None, author: Author | None = None, **fields: Any
) -> Comment:
    root = None if parent is None else (parent.root_id or parent.id)
    html = "<p>" + " ".join(random.Random(id).choices(WORDS, k=30)) + "</p>"
    made = Comment(
        id, thread_id, None if parent is None else parent.id, root, author or Author(f"reader {id % 5}"),
        "", html, PUBLISHED, START + timedelta(seconds=id, microseconds=id * 7), None, id % 3,
    )  # fmt: skip
    return dataclasses.replace(made, **fields)


def varied_thread() -> ThreadSnapshot:
    """A thread with something of everything a snapshot holds: pinned, edited, verified, deleted and held
    comments, replies at several depths, likes, one commenter's comments sharing their author."""
    ada = Author("Ada", "", "https://ada.example")
    first = comment(100001, author=ada, pinned=True, version=4)
    second = comment(100002, edited_at=START + timedelta(days=1), edited_by_moderator=True)
    badge = Verified("github", "GitHub", "https://github.com/ada", None)
    reply = comment(100003, parent=first, author=ada, verified=badge, identity_id=17)
    deeper = comment(100004, parent=reply, status=DELETED)
    held = comment(100005, parent=second, status=PENDING)  # a placeholder above a reply
    under_held = comment(100006, parent=held)
    other_zone = comment(100007, created_at=datetime(2026, 12, 6, 11, 0, tzinfo=timezone(timedelta(hours=2))))
    rows = [first, second, reply, deeper, held, under_held, other_zone]
    rows.sort(key=lambda c: (c.created_at, c.id))
    return ThreadSnapshot.of(thread_of(1, 5), 3, rows, {})


def pages(snapshot: ThreadSnapshot) -> list[bytes]:
    made = []
    for sort in SortOrder:
        for limit in (1000, 1):
            page = threads.cut_page(snapshot, sort, limit, None)
            made.append(thread_page(page, Fragments(), False).body)
    return made


def test_a_packed_snapshot_unpacks_to_equal_comments_in_the_same_places() -> None:
    snapshot = varied_thread()
    packed = snapshot.packed()
    assert isinstance(packed, PackedSnapshot) and packed.is_packed and not snapshot.is_packed
    unpacked = packed.unpacked()
    assert unpacked.top_level == snapshot.top_level
    assert unpacked.replies == snapshot.replies
    assert (unpacked.thread, unpacked.max_depth, unpacked.size) == (snapshot.thread, 3, snapshot.size)
    # The commenters are the objects the snapshot held (shared with other snapshots), not copies.
    assert [c.author for c in unpacked.top_level] == [c.author for c in snapshot.top_level]
    assert all(a.author is b.author for a, b in zip(unpacked.top_level, snapshot.top_level, strict=True))
    # A reply's root id is its root's own id object, as in a snapshot loaded from rows.
    root = next(c for c in unpacked.top_level if c.id == 100001)
    assert len(unpacked.replies[root.id]) == 2
    assert all(reply.root_id is root.id for reply in unpacked.replies[root.id])
    assert pages(unpacked) == pages(snapshot)


def test_a_snapshot_whose_comments_hold_what_packing_drops_is_kept_as_it_is() -> None:
    """Never so in a snapshot (``events.public`` empties those fields); packed, they would come back empty."""
    rows = [comment(1), comment(2, body="the source text"), comment(3, author=Author("Bo", "bo@example.com"))]
    for row in rows[1:]:
        snapshot = ThreadSnapshot.of(thread_of(1, 2), 3, [rows[0], row])
        object.__setattr__(snapshot, "top_level", (rows[0], row))  # as it was given, not made public
        assert snapshot.packed() is snapshot


def test_a_packed_snapshot_is_a_fraction_of_its_comments() -> None:
    rows: list[Comment] = []
    for n in range(1, 301):
        rows.append(comment(n, parent=rows[n // 3] if n % 5 == 0 else None))
    snapshot = ThreadSnapshot.of(thread_of(1, 300), 3, sorted(rows, key=lambda c: (c.created_at, c.id)))
    packed = snapshot.packed()
    html = sum(len(c.html) for c in rows)
    assert packed.size < html / 2 < snapshot.size / 4


def cache_with(*thread_ids: int, warm_bytes: int) -> ReadCache:
    """A cache holding a snapshot of each thread as a read leaves it, with comments 1-10 of each."""
    cache = ReadCache(64 * 1024 * 1024, max_warm_bytes=warm_bytes)
    for thread_id in thread_ids:
        rows = [comment(thread_id * 100 + n, thread_id) for n in range(10)]
        snapshot = ThreadSnapshot.of(thread_of(thread_id, 10), 3, rows, cache.authors())
        key = (SITE, snapshot.thread.url)
        cache.put_snapshot(key, cache.generation(key), snapshot, snapshot.size)
    return cache


def write(cache: ReadCache, thread_id: int, n: int) -> None:
    new = comment(thread_id * 100 + n, thread_id)
    apply_to_cache(cache, CommentPosted(SITE, thread_of(thread_id).url, new))


def key_of(thread_id: int) -> tuple[str, str]:
    return (SITE, thread_of(thread_id).url)


def test_a_read_keeps_its_snapshot_packed_and_a_write_unpacks_it() -> None:
    cache = cache_with(1, warm_bytes=1024 * 1024)
    assert not cache.warm(key_of(1))
    read = cache.snapshot(key_of(1))
    assert isinstance(read, ThreadSnapshot) and len(read.top_level) == 10
    write(cache, 1, 50)
    assert cache.warm(key_of(1))
    written = cache.snapshot(key_of(1))
    assert written is cache.snapshot(key_of(1))  # held as it is, not unpacked for each read
    assert [c.id for c in written.top_level] == [*(c.id for c in read.top_level), 150]
    assert written.comment_count == 11 == cache.counts([key_of(1)])[key_of(1)]
    liked = dataclasses.replace(written.top_level[0], likes=9, version=2)
    apply_to_cache(cache, CommentLiked(SITE, thread_of(1).url, liked))
    assert cache.snapshot(key_of(1)).top_level[0] == liked


def test_the_snapshots_written_to_longest_ago_are_packed_beyond_their_share() -> None:
    cache = cache_with(1, 2, 3, warm_bytes=0)
    size = ThreadSnapshot.of(thread_of(1), 3, [comment(n) for n in range(11)]).size
    cache.max_warm_bytes = 2 * size + size // 2  # room for two threads of 11 comments, not three
    for thread_id in (1, 2, 3):
        write(cache, thread_id, 50)
    assert [cache.warm(key_of(n)) for n in (1, 2, 3)] == [False, True, True]
    assert cache.cooled() == [key_of(1)] and cache.cooled() == []
    write(cache, 2, 51)
    write(cache, 1, 51)  # unpacked again: now 3 is the one written to longest ago
    assert [cache.warm(key_of(n)) for n in (1, 2, 3)] == [True, True, False]
    assert cache.cooled() == [key_of(3)]
    assert [c.id for c in cache.snapshot(key_of(1)).top_level][-2:] == [150, 151]
    cache.max_warm_bytes = 0
    write(cache, 2, 52)  # the thread written to last stays, whatever the share
    assert [cache.warm(key_of(n)) for n in (1, 2, 3)] == [False, True, False]


def test_the_layouts_of_a_thread_held_packed_are_let_go() -> None:
    cache = cache_with(1, 2, warm_bytes=64 * 1024 * 1024)
    ctx: Any = SimpleNamespace(cache=cache)
    parts = PageParts(Fragments())

    def read(thread_id: int) -> bytes:
        variant = f"url={thread_id}".encode()  # a query names its thread
        made = page_from_snapshot(ctx, parts, variant, key_of(thread_id), SortOrder.OLDEST, 1000, None)
        assert made is not None
        return made.body

    read(1)
    assert not parts._layouts  # not written to lately: answered whole, nothing of it kept
    write(cache, 1, 50)
    write(cache, 2, 50)
    before = read(1), read(2)
    assert {layout.thread_key for layout in parts._layouts.values()} == {key_of(1), key_of(2)}
    cache.max_warm_bytes = 0
    write(cache, 2, 51)  # thread 1 is packed
    after = read(2)
    assert [layout.thread_key for layout in parts._layouts.values()] == [key_of(2)]
    assert parts._size == sum(layout.size() for layout in parts._layouts.values())
    cache.invalidate(
        key_of(1), lambda snapshot: (snapshot, snapshot.size)
    )  # its answer dropped, not its snapshot
    assert read(1) == before[0] and after != before[1]


async def test_a_packed_threads_pages_are_the_warm_ones_and_the_databases(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    other = ARTICLE + "-other"
    rng = random.Random(3)
    posted: list[dict[str, Any]] = []
    for n in range(30):
        parent = rng.choice(posted)["comment"]["id"] if posted and n % 3 == 0 else None
        posted.append(
            await post(client, f"comment {n} " + " ".join(rng.choices(WORDS, k=12)), parent_id=parent)
        )
    await post(client, "elsewhere", url=other)
    views = [
        {"sort": sort, "limit": str(limit)} for sort in ("oldest", "newest", "top") for limit in (1000, 4)
    ]

    async def read(url: str, view: dict[str, str]) -> tuple[bytes, str]:
        response = await client.get("/api/v1/comments", params={"site": site, "url": url, **view})
        assert response.status_code == 200, response.text
        return response.content, response.headers["etag"]

    await read(other, views[0])
    await read(ARTICLE, views[0])  # the snapshot is loaded, and held packed
    assert not ctx.cache.warm((site, ARTICLE))
    await post(client, "the last word", parent_id=posted[4]["comment"]["id"])
    warm = [await read(ARTICLE, view) for view in views]  # the thread written to last: warm
    assert ctx.cache.warm((site, ARTICLE))
    ctx.cache.max_warm_bytes = 0
    await post(client, "written to since", url=other)
    assert not ctx.cache.warm((site, ARTICLE))
    ctx.cache.invalidate((site, ARTICLE), lambda snapshot: (snapshot, snapshot.size))  # answers dropped
    packed = [await read(ARTICLE, view) for view in views]
    ctx.cache.clear()
    fresh = [await read(ARTICLE, view) for view in views]  # from the database
    assert warm == packed == fresh


@pytest.mark.parametrize("count", [0, 1])
def test_an_empty_or_single_comment_thread_packs(count: int) -> None:
    snapshot = ThreadSnapshot.of(thread_of(1, count), 3, [comment(1)][:count])
    unpacked = snapshot.packed().unpacked()
    assert (unpacked.top_level, dict(unpacked.replies)) == (snapshot.top_level, dict(snapshot.replies))

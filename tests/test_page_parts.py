"""A thread's page made again after writes is patched from the page before it (``web/page_parts.py``): the
parts of top-level comments a write left alone are copied from the old bytes. Whatever the writes, the
page is the one made whole from the same snapshot (``serialize.thread_page``) byte for byte, under the same
ETag, and its answer through the app is the database's."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import orjson
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rejoinder import threads
from rejoinder.cache import ReadCache
from rejoinder.context import Context
from rejoinder.events import CommentLiked, CommentModerated, CommentPosted
from rejoinder.model import Author, Comment, CommentStatus, SortOrder, Thread
from rejoinder.settings import Settings
from rejoinder.sites import create_site
from rejoinder.snapshots import ThreadSnapshot, apply_to_cache
from rejoinder.tree import Node
from rejoinder.web.app import create_app
from rejoinder.web.page_parts import PageParts
from rejoinder.web.serialize import Fragments, MadePage, thread_page
from rejoinder.wiring import open_context
from tests.conftest import SITE_ORIGIN
from tests.helpers import comment_payload

SITE, URL = "test", "https://blog.example/patched"
KEY = (SITE, URL)
START = datetime(2026, 12, 5, 21, 0, tzinfo=UTC)
PUBLISHED = CommentStatus.PUBLISHED
STATUSES = [CommentStatus.PUBLISHED] * 3 + [CommentStatus.PENDING, CommentStatus.SPAM, CommentStatus.DELETED]
# (sort, limit): whole threads as the widget and the shared harness read them, and short pages whose
# second page is read with the first one's cursor.
VIEWS = [("oldest", 1000), ("newest", 1000), ("top", 1000), ("oldest", 3), ("newest", 2), ("top", 2)]

# A write: what it does and to which of the comments so far (an index taken modulo their number).
WRITES = st.one_of(
    st.tuples(st.just("post"), st.none(), st.sampled_from(STATUSES)),
    st.tuples(st.just("reply"), st.integers(0, 1000), st.sampled_from(STATUSES)),
    st.tuples(st.just("like"), st.integers(0, 1000), st.integers(-1, 2)),
    st.tuples(st.just("edit"), st.integers(0, 1000), st.none()),
    st.tuples(st.just("status"), st.integers(0, 1000), st.sampled_from(STATUSES)),
    st.tuples(st.just("pin"), st.integers(0, 1000), st.none()),
    st.tuples(st.just("reload"), st.none(), st.none()),
    st.tuples(st.just("cool"), st.none(), st.none()),
)
OTHER = (SITE, "https://blog.example/written-to-since")


class WrittenThread:
    """A thread's comments as the database holds them, and the snapshot memory holds, changed by writes
    that reach the snapshot as their events do."""

    def __init__(self, max_depth: int) -> None:
        self.cache = ReadCache(64 * 1024 * 1024)
        self.ctx: Any = SimpleNamespace(cache=self.cache)
        self.thread = Thread(1, 1, URL, "Patched", START, False, 0)
        self.max_depth = max_depth
        self.comments: dict[int, Comment] = {}
        self.reload()

    def reload(self) -> None:
        """The snapshot loaded again from the rows: every comment a new object."""
        shown = [dataclasses.replace(c) for c in self.comments.values() if self._loaded(c)]
        count = sum(c.status is CommentStatus.PUBLISHED for c in self.comments.values())
        thread = dataclasses.replace(self.thread, comment_count=count)
        self.cache.invalidate(KEY)
        snapshot = ThreadSnapshot.of(
            thread, self.max_depth, sorted(shown, key=lambda c: (c.created_at, c.id))
        )
        self.cache.put_snapshot(KEY, self.cache.generation(KEY), snapshot, snapshot.size)

    def _loaded(self, comment: Comment) -> bool:
        """Whether a fresh snapshot holds the comment: visible, or held above a visible reply."""
        if comment.status in (CommentStatus.PUBLISHED, CommentStatus.DELETED):
            return True
        return any(c.parent_id == comment.id and self._loaded(c) for c in self.comments.values())

    def cool(self) -> None:
        """Another thread written to since, with room for one warm snapshot: this one is held packed."""
        self.cache.max_warm_bytes = 0
        if self.cache.snapshot(OTHER) is None:
            other = dataclasses.replace(self.thread, id=2, url=OTHER[1])
            self.cache.put_snapshot(OTHER, self.cache.generation(OTHER), ThreadSnapshot.of(other, 3, []), 1)
        new_id = 1_000_000 + len(self.comments)
        comment = Comment(new_id, 2, None, None, Author("Bo"), "", "<p>.</p>", PUBLISHED, START, None, 0)
        apply_to_cache(self.cache, CommentPosted(SITE, OTHER[1], comment))
        assert not self.cache.warm(KEY)

    def write(self, what: str, which: int | None, value: Any) -> None:
        if what == "reload":
            return self.reload()
        if what == "cool":
            return self.cool()
        ids = sorted(self.comments)
        if what in ("post", "reply"):
            parent = (
                self.comments[ids[which % len(ids)]]
                if what == "reply" and ids and which is not None
                else None
            )
            new_id = len(ids) + 1
            comment = Comment(
                id=new_id,
                thread_id=1,
                parent_id=None if parent is None else parent.id,
                root_id=None if parent is None else (parent.root_id or parent.id),
                author=Author(f"reader {new_id % 4}"),
                body="",
                html=f"<p>comment {new_id}</p>",
                status=value,
                created_at=START + timedelta(seconds=new_id // 2),  # pairs at one time: ids break the tie
                edited_at=None,
                likes=0,
            )
            self.comments[new_id] = comment
            return apply_to_cache(self.cache, CommentPosted(SITE, URL, comment))
        if not ids or which is None:
            return None
        old = self.comments[ids[which % len(ids)]]
        if what == "like":
            new = dataclasses.replace(old, likes=max(0, old.likes + value))
        elif what == "edit":
            new = dataclasses.replace(old, html=old.html + "<p>edited</p>", edited_at=START)
        elif what == "status":
            new = dataclasses.replace(old, status=value)
        elif old.root_id is None:  # "pin": top-level comments only
            new = dataclasses.replace(old, pinned=not old.pinned)
        else:
            return None
        new.version = old.version + 1
        self.comments[new.id] = new
        event = CommentLiked if what == "like" else CommentModerated
        return apply_to_cache(self.cache, event(SITE, URL, new))

    def pages(self, parts: PageParts) -> Iterator[tuple[MadePage, MadePage]]:
        """Each view's pages (bodies and ETags), patched and made whole."""
        for sort_name, limit in VIEWS:
            sort, cursor = SortOrder(sort_name), None
            for _ in range(2):  # a view's first two pages
                variant = f"{sort_name}/{limit}/{cursor}".encode()
                cut = threads.remembered_cut(self.ctx, KEY, sort, limit, cursor)
                whole = threads.remembered_page(self.ctx, KEY, sort, limit, cursor)
                assert cut is not None and whole is not None
                yield parts.page(variant, KEY, cut, True), thread_page(whole, Fragments(), False)
                cursor = whole.next_cursor
                if cursor is None:
                    break


@settings(max_examples=300, deadline=None)
@given(
    max_depth=st.sampled_from([2, 3, 5]),
    writes=st.lists(st.tuples(WRITES, st.booleans()), max_size=40),
)
def test_a_patched_page_is_the_page_made_whole_whatever_the_writes(
    max_depth: int, writes: list[tuple[tuple[str, Any, Any], bool]]
) -> None:
    thread = WrittenThread(max_depth)
    parts = PageParts(Fragments())
    for (what, which, value), read_after in writes:
        thread.write(what, which, value)
        if read_after:  # otherwise the next page is patched across several writes
            for patched, whole in thread.pages(parts):
                assert patched == whole
    for patched, whole in thread.pages(parts):
        assert patched == whole


class Counted(PageParts):
    """Counts the parts made, rather than copied from the page before."""

    made: list[int]

    def _trees(
        self, roots: list[Comment], groups: list[tuple[Comment, ...]], max_depth: int
    ) -> list[Node | None]:
        self.made += [root.id for root in roots]
        return super()._trees(roots, groups, max_depth)


def test_a_write_makes_only_the_part_it_changed() -> None:
    thread = WrittenThread(3)
    for n in range(40):
        thread.write("reply" if n % 4 == 3 else "post", n * 7, CommentStatus.PUBLISHED)
    parts = Counted(Fragments())
    parts.made = []

    def made_after(what: str, which: int | None, value: Any = None) -> list[int]:
        thread.write(what, which, value)
        parts.made = []
        cut = threads.remembered_cut(thread.ctx, KEY, SortOrder.OLDEST, 1000, None)
        whole = threads.remembered_page(thread.ctx, KEY, SortOrder.OLDEST, 1000, None)
        assert cut is not None and whole is not None
        assert parts.page(b"oldest", KEY, cut, True) == thread_page(whole, Fragments(), False)
        return parts.made

    def root_of(comment_id: int) -> int:
        return thread.comments[comment_id].root_id or comment_id

    assert len(made_after("reload", None)) == 30  # the first page: every part
    assert made_after("post", None, CommentStatus.PUBLISHED) == [41]
    assert made_after("reply", 1, CommentStatus.PUBLISHED) == [root_of(2)]
    assert made_after("like", 41, 1) == [root_of(42)]
    assert made_after("edit", 4) == [root_of(5)]
    assert made_after("status", 5, CommentStatus.DELETED) == [root_of(6)]
    assert made_after("reload", None) == []  # equal comments, though new objects, make equal parts


def test_a_page_whose_layout_was_kept_for_another_thread_or_depth_is_made_whole() -> None:
    thread = WrittenThread(3)
    for n in range(6):
        thread.write("post" if n % 2 == 0 else "reply", n, CommentStatus.PUBLISHED)
    parts = Counted(Fragments())
    parts.made = []
    cut = threads.remembered_cut(thread.ctx, KEY, SortOrder.OLDEST, 1000, None)
    assert cut is not None
    first = parts.page(b"v", KEY, cut, True)
    assert len(parts.made) == 3
    elsewhere = ("test", "https://blog.example/another")
    assert parts.page(b"v", elsewhere, cut, True) == first
    assert len(parts.made) == 6
    snapshot = thread.cache.snapshot(KEY)
    flatter = threads.cut_page(dataclasses.replace(snapshot, max_depth=2), SortOrder.OLDEST, 1000, None)
    assert parts.page(b"v", elsewhere, dataclasses.replace(cut, max_depth=2), True) == thread_page(
        flatter, Fragments(), False
    )
    assert len(parts.made) == 9


def test_layouts_are_kept_within_their_budget_and_only_for_threads_written_to() -> None:
    thread = WrittenThread(3)
    for _ in range(30):
        thread.write("post", None, CommentStatus.PUBLISHED)
    cut = threads.remembered_cut(thread.ctx, KEY, SortOrder.OLDEST, 1000, None)
    assert cut is not None
    parts = PageParts(Fragments())
    parts.page(b"never written to", KEY, cut, False)
    assert not parts._layouts
    parts.page(b"one", KEY, cut, True)
    parts.max_bytes = 3 * parts._size
    for n in range(10):
        parts.page(f"query {n}".encode(), KEY, cut, True)
    assert list(parts._layouts) == [b"query 7", b"query 8", b"query 9"]
    assert parts._size == sum(layout.size() for layout in parts._layouts.values()) <= parts.max_bytes


def busy_thread_cut() -> threads.PageCut:
    thread = WrittenThread(3)
    for _ in range(30):
        thread.write("post", None, CommentStatus.PUBLISHED)
    cut = threads.remembered_cut(thread.ctx, KEY, SortOrder.OLDEST, 1000, None)
    assert cut is not None
    return cut


def test_a_page_made_again_and_again_keeps_its_layout_past_pages_made_once() -> None:
    cut = busy_thread_cut()
    parts = Counted(Fragments())
    parts.made = []
    parts.page(b"read most", KEY, cut, True)
    parts.page(b"read most", KEY, cut, True)  # made again after a write, as a busy thread's page is
    parts.max_bytes = 3 * parts._size
    for n in range(10):  # pages made once each, as those of the threads a single write reaches
        parts.page(f"once {n}".encode(), KEY, cut, True)
    assert list(parts._layouts) == [b"read most", b"once 8", b"once 9"]
    parts.made = []
    parts.page(b"read most", KEY, cut, True)
    assert parts.made == []  # patched from its kept layout: not a part made anew
    assert parts._size == sum(layout.size() for layout in parts._layouts.values()) <= parts.max_bytes


def test_a_page_whose_layout_was_dropped_is_known_when_made_again() -> None:
    cut = busy_thread_cut()
    parts = PageParts(Fragments())
    parts.page(b"a", KEY, cut, True)
    parts.max_bytes = 2 * parts._size
    for variant in (b"b", b"c", b"a", b"d", b"e"):  # "a" is dropped by "c", then made again
        parts.page(variant, KEY, cut, True)
    # Made twice, "a" outlasts the pages made once since, although it was made longer ago than they were.
    assert list(parts._layouts) == [b"a", b"e"]


def test_the_queue_of_layouts_to_drop_stays_bounded() -> None:
    cut = busy_thread_cut()
    parts = PageParts(Fragments())
    for n in range(500):
        parts.page(f"page {n % 3}".encode(), KEY, cut, True)
    assert len(parts._layouts) == 3
    assert len(parts._queue) <= 2 * 3 + 64


# Through the app, on both backends: the answers after writes (patched) are the database's.


class Reader:
    """The app, called from a synchronous test through an anyio portal."""

    def __init__(self, portal: BlockingPortal, app: FastAPI) -> None:
        self.portal, self.app = portal, app

    def __call__(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.portal.call(self._call, method, path, kw)

    async def _call(self, method: str, path: str, kw: dict[str, Any]) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            return await http.request(method, path, **kw)


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[Reader, Context]]:
    ctx = open_context(settings)
    create_site(ctx, SITE, "Test blog", [SITE_ORIGIN], spam_filter=False)
    try:
        with start_blocking_portal() as portal:
            yield Reader(portal, create_app(settings, context=ctx)), ctx
    finally:
        ctx.close()


API_WRITES = st.tuples(
    st.sampled_from(["post", "post", "reply", "like", "unlike", "edit", "delete"]), st.integers(0, 99)
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writes=st.lists(st.tuples(API_WRITES, st.booleans()), min_size=1, max_size=12))
def test_answers_after_writes_through_the_app_are_the_databases(
    served: tuple[Reader, Context], writes: list[tuple[tuple[str, int], bool]]
) -> None:
    call, ctx = served
    url = f"https://blog.example/{uuid.uuid4().hex}"  # a thread of its own for each example
    posted: list[dict[str, Any]] = []

    def read_all() -> list[tuple[bytes, str]]:
        answers = []
        for sort, limit in VIEWS[:4]:
            params = {"site": SITE, "url": url, "sort": sort, "limit": str(limit)}
            response = call("GET", "/api/v1/comments", params=params)
            assert response.status_code == 200, response.text
            answers.append((response.content, response.headers["etag"]))
        return answers

    def post(parent: int | None) -> None:
        response = call("POST", "/api/v1/comments", json=comment_payload("hello", url=url, parent_id=parent))
        if parent is not None and response.status_code == 422:
            return  # a reply to a deleted comment
        assert response.status_code == 201, response.text
        posted.append(response.json())

    post(None)
    read_all()  # the snapshot is loaded and the pages kept: every later one is patched
    for (what, which), read_after in writes:
        target = posted[which % len(posted)]
        comment_id, token = target["comment"]["id"], {"Authorization": f"Bearer {target['edit_token']}"}
        if what in ("post", "reply"):
            post(comment_id if what == "reply" else None)
        elif what in ("like", "unlike"):
            method = "PUT" if what == "like" else "DELETE"
            liker = {"X-Rejoinder-Liker": f"reader-{which:04d}"}
            call(method, f"/api/v1/comments/{comment_id}/like", headers=liker)
        elif what == "edit":
            call("PATCH", f"/api/v1/comments/{comment_id}", json={"body": f"edited {which}"}, headers=token)
        else:
            call("DELETE", f"/api/v1/comments/{comment_id}", headers=token)
        if read_after:
            read_all()
    patched = read_all()
    ctx.cache.clear()  # read again from the database
    assert read_all() == patched
    for body, etag in patched:
        assert etag == etag_of(body)


def etag_of(body: bytes) -> str:
    """A page's ETag as its bytes alone decide it: the digests of its head, of each top-level comment's JSON
    (with its replies) and of its tail (``serialize.page_etag``)."""
    page = orjson.loads(body)
    head = b'{"thread":' + orjson.dumps(page["thread"]) + b',"comments":['
    parts = [orjson.dumps(comment) for comment in page["comments"]]
    tail = b'],"next_cursor":' + orjson.dumps(page["next_cursor"]) + b"}"
    assert head + b",".join(parts) + tail == body
    digests = b"".join(hashlib.sha256(part).digest() for part in parts)
    framing = f"{len(head)}:{len(digests)}:".encode()
    return '"' + hashlib.sha256(framing + head + digests + tail).hexdigest()[:24] + '"'

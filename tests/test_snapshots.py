"""Thread snapshots kept current by writes give exactly the pages a fresh read from the database gives."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from rejoinder import threads
from rejoinder.context import Context
from rejoinder.model import Author, Comment, CommentStatus, Thread
from rejoinder.snapshots import ThreadSnapshot
from rejoinder.store import comments as comment_store
from rejoinder.store.schema import comments
from tests.helpers import ARTICLE, post, read

SORTS = ("oldest", "newest", "top")
NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
PUBLISHED = CommentStatus.PUBLISHED


async def all_pages(client: httpx.AsyncClient, sort: str, limit: int) -> list[dict[str, Any]]:
    pages, cursor = [], None
    while True:
        params: dict[str, Any] = {"site": "test", "url": ARTICLE, "sort": sort, "limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = await client.get("/api/v1/comments", params=params)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            return pages


async def every_view(client: httpx.AsyncClient) -> dict[tuple[str, int], list[dict[str, Any]]]:
    return {(sort, limit): await all_pages(client, sort, limit) for sort in SORTS for limit in (1, 7, 1000)}


async def busy_thread(client: httpx.AsyncClient) -> None:
    """Posts, replies at every depth, likes, edits and deletes, in a fixed random order."""
    rng = random.Random(7)
    posted: list[dict[str, Any]] = []
    for i in range(60):
        parent = rng.choice(posted)["comment"]["id"] if posted and rng.random() < 0.5 else None
        posted.append(await post(client, f"comment {i}", parent_id=parent))
    for i in range(80):
        target = rng.choice(posted)["comment"]["id"]
        await client.put(
            f"/api/v1/comments/{target}/like", headers={"X-Rejoinder-Liker": f"reader-{i % 9:04d}"}
        )
    for victim in rng.sample(posted, 8):
        headers = {"Authorization": f"Bearer {victim['edit_token']}"}
        if rng.random() < 0.5:
            await client.patch(
                f"/api/v1/comments/{victim['comment']['id']}", json={"body": "edited"}, headers=headers
            )
        else:
            await client.delete(f"/api/v1/comments/{victim['comment']['id']}", headers=headers)


async def test_a_snapshot_updated_by_writes_matches_a_fresh_one_and_sql_paging(
    client: httpx.AsyncClient, ctx: Context, site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await post(client, "the first comment loads the snapshot")
    await all_pages(client, "oldest", 1000)
    await busy_thread(client)
    kept_current = await every_view(client)

    ctx.cache.clear()
    reloaded = await every_view(client)

    ctx.cache.clear()
    monkeypatch.setattr(threads, "SNAPSHOT_MAX_COMMENTS", 0)
    paged_in_sql = await every_view(client)

    assert kept_current == reloaded == paged_in_sql
    whole = kept_current[("oldest", 1000)][0]
    published = [c for c in _flat(whole["comments"]) if c["status"] == "published"]
    assert whole["thread"]["comment_count"] == len(published) == 61 - _deleted(ctx)


async def test_a_snapshots_comments_are_read_from_their_rows_as_any_comment_is(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    """The first read of a thread turns its rows into comments by position; every other read asks each
    row by name. Both give the same comments, pinned, liked, edited and deleted ones included."""
    await busy_thread(client)
    with ctx.db.write() as conn:
        oldest = select(comments.c.id, comments.c.thread_id).order_by(comments.c.id).limit(1)
        first, thread_id = conn.execute(oldest).one()
        marked = update(comments).where(comments.c.id == first)
        conn.execute(marked.values(pinned=True, edited_by_moderator=True))
    with ctx.db.read() as conn:
        by_position = comment_store.visible_comments(conn, thread_id)
        query = select(*comment_store.PUBLIC_COLUMNS).where(comments.c.thread_id == thread_id)
        by_name = {row.id: comment_store._comment(row) for row in conn.execute(query)}
    assert len(by_position) > 50
    assert any(comment.pinned and comment.edited_by_moderator for comment in by_position)
    assert by_position == [by_name[comment.id] for comment in by_position]


def _flat(comments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [x for c in comments for x in [c, *_flat(c["replies"])]]


def _deleted(ctx: Context) -> int:
    with ctx.db.read() as conn:
        return conn.execute(select(func.count()).where(comments.c.status == "deleted")).scalar_one()


def test_events_arriving_out_of_order_keep_the_newer_copy() -> None:
    from datetime import UTC, datetime

    from rejoinder.model import Author, Comment, CommentStatus, Thread
    from rejoinder.snapshots import ThreadSnapshot

    now = datetime.now(UTC)
    thread = Thread(id=1, site_id=1, url="/a", title="", created_at=now, closed=False, comment_count=1)

    def version(v: int, likes: int) -> Comment:
        return Comment(
            id=7,
            thread_id=1,
            parent_id=None,
            root_id=None,
            author=Author("Ada"),
            body="",
            html="<p>x</p>",
            status=CommentStatus.PUBLISHED,
            created_at=now,
            edited_at=None,
            likes=likes,
            version=v,
        )

    snapshot = ThreadSnapshot.of(thread, 5, [version(1, 0)])
    snapshot = snapshot.with_changed(version(3, 2)).with_changed(version(2, 1))
    assert [(c.version, c.likes) for c in snapshot.top_level] == [(3, 2)]
    assert snapshot.thread.comment_count == 1


def test_a_snapshot_holds_one_author_object_per_commenter() -> None:
    def comment(id: int, parent: int | None, root: int | None, name: str) -> Comment:
        return Comment(id, 7000, parent, root, Author(name), "", "<p>hi</p>", PUBLISHED, NOW, None, 0)

    thread = Thread(7000, 1, ARTICLE, "", NOW, False, 3)
    rows = [comment(100001, None, None, "Ada"), comment(100002, 100001, 100001, "Bo")]
    rows.append(comment(100003, 100002, 100001, "Ada"))
    snapshot = ThreadSnapshot.of(thread, 5, rows)
    (top,) = snapshot.top_level
    answer, another = snapshot.replies[top.id]
    assert another.author is top.author and answer.author is not top.author


async def test_snapshots_of_different_threads_share_their_commenters(
    client: httpx.AsyncClient, ctx: Context, site: str
) -> None:
    """The same people write in many threads: each is held once by every snapshot of the process."""
    other = ARTICLE + "-another"
    await post(client, "a first word", website="https://ada.example")
    await post(client, "a second word", url=other, website="https://ada.example")
    await post(client, "and mine", url=other, name="Bo")
    await read(client)
    await read(client, other)
    first = ctx.cache.snapshot(threads.thread_key(site, ARTICLE))
    second = ctx.cache.snapshot(threads.thread_key(site, other))
    assert first is not None and second is not None
    ada, bo = (comment.author for comment in second.top_level)
    assert first.top_level[0].author is ada and bo.name == "Bo" and bo is not ada


def test_a_comment_posted_into_a_snapshot_holds_what_the_snapshot_holds_already() -> None:
    """Not the copies the write brought: its commenter, the thread's id, its root's and parent's ids."""

    def comment(id: int, parent: int | None, root: int | None, name: str, email: str = "") -> Comment:
        # int(str(…)): an id object of its own, as a row or a request brings it
        parent, root = (None if x is None else int(str(x)) for x in (parent, root))
        thread_id, author = int(str(7000)), Author(name, email)
        return Comment(id, thread_id, parent, root, author, "", "<p>hi</p>", PUBLISHED, NOW, None, 0)

    thread = Thread(7000, 1, ARTICLE, "", NOW, False, 3)
    authors: dict[tuple[str, str], Author] = {}
    rows = [comment(100001, None, None, "Ada"), comment(100002, 100001, 100001, "Bo")]
    snapshot = ThreadSnapshot.of(thread, 5, rows, authors)
    (top,) = snapshot.top_level
    (answer,) = snapshot.replies[top.id]

    posted = comment(100003, 100002, 100001, "Ada", "ada@example.com")
    posted.body, posted.remote_addr = "hi", "192.0.2.1"
    after = snapshot.with_posted(posted, authors)
    (kept,) = (c for c in after.replies[top.id] if c.id == 100003)
    assert kept.author is top.author and kept.author.email == ""
    assert kept.thread_id is thread.id and kept.root_id is answer.root_id and kept.parent_id is answer.id
    assert (kept.body, kept.remote_addr) == ("", "")
    # The event's comment, which other subscribers read, is left as it was.
    assert posted.author.email == "ada@example.com" and posted.body == "hi"

    first_reply = comment(100004, 100001, 100001, "Cy")
    alone = ThreadSnapshot.of(thread, 5, rows[:1], {}).with_posted(first_reply)
    (kept,) = alone.replies[top.id]
    assert kept.root_id is alone.top_level[0].id and kept.parent_id is kept.root_id
    liked = dataclasses.replace(kept, likes=1, version=2)
    assert alone.with_changed(liked).replies[top.id][0].author is kept.author

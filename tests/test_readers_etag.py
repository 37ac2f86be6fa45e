"""A thread page's ETag is made of its parts' digests (``serialize.page_etag``): a page patched after a write
hashes only the parts it makes again, and the tag is still the bytes' alone — the same for the same page
however it was made, another for any other."""

from __future__ import annotations

from typing import Any

import pytest

from rejoinder import threads
from rejoinder.model import CommentStatus, SortOrder
from rejoinder.web import page_parts, serialize
from rejoinder.web.page_parts import PageParts
from rejoinder.web.serialize import Fragments, MadePage, page_etag, thread_page
from tests.test_page_parts import KEY, WrittenThread, etag_of


def written_thread(posts: int) -> WrittenThread:
    thread = WrittenThread(3)
    for n in range(posts):
        thread.write("reply" if n % 4 == 3 else "post", n * 7, CommentStatus.PUBLISHED)
    return thread


def pages(thread: WrittenThread, parts: PageParts) -> tuple[MadePage, MadePage]:
    """The oldest-first page patched by ``parts``, and made whole from the same snapshot."""
    cut = threads.remembered_cut(thread.ctx, KEY, SortOrder.OLDEST, 1000, None)
    whole = threads.remembered_page(thread.ctx, KEY, SortOrder.OLDEST, 1000, None)
    assert cut is not None and whole is not None
    return parts.page(b"oldest", KEY, cut, True), thread_page(whole, Fragments(), False)


def test_a_patched_page_hashes_only_the_parts_it_made(monkeypatch: pytest.MonkeyPatch) -> None:
    thread = written_thread(40)
    parts = PageParts(Fragments())
    pages(thread, parts)
    hashed: list[bytes] = []

    def counted(part: bytes) -> bytes:
        hashed.append(part)
        return serialize.part_digest(part)

    monkeypatch.setattr(page_parts, "part_digest", counted)
    for write in [
        ("like", 12, 1),
        ("reply", 3, CommentStatus.PUBLISHED),
        ("post", None, CommentStatus.PUBLISHED),
    ]:
        hashed.clear()
        thread.write(*write)
        patched, whole = pages(thread, parts)
        assert len(hashed) == 1, write
        assert patched == whole and patched.etag == etag_of(patched.body)


def test_the_tag_changes_with_the_bytes_and_only_with_them() -> None:
    thread = written_thread(12)
    parts = PageParts(Fragments())
    seen: dict[str, bytes] = {}
    writes: list[tuple[str, int | None, Any]] = [
        ("like", 4, 1),
        ("like", 4, -1),  # the bytes of two writes before: the tag of two writes before
        ("edit", 2, None),
        ("status", 6, CommentStatus.DELETED),
        ("pin", 1, None),
        ("reload", None, None),  # the same bytes again
    ]
    for write in [*writes, None]:
        patched, whole = pages(thread, parts)
        assert patched == whole
        assert seen.setdefault(patched.etag, patched.body) == patched.body
        if write is not None:
            thread.write(*write)
    assert len(set(seen.values())) == len(seen) == 5  # seven pages, two of them again


def test_bytes_moved_between_the_head_the_parts_and_the_tail_change_the_tag() -> None:
    digest = serialize.part_digest(b'{"id":1,"replies":[]}')
    head, tail = b'{"thread":{},"comments":[', b'],"next_cursor":null}'
    tags = {
        page_etag(head, digest, tail),
        page_etag(head + digest, b"", tail),
        page_etag(head, b"", digest + tail),
        page_etag(head, digest + digest, tail),
    }
    assert len(tags) == 4

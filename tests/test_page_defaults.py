"""A thread page leaves a comment's flags out while they hold the schema's defaults
(``serialize.page_comment``); an answer about one comment carries them all. Both backends for the API's
part."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import product
from typing import Any

import httpx
from sqlalchemy import update

from rejoinder.context import Context
from rejoinder.model import Author, Comment, CommentStatus, Verified
from rejoinder.store.schema import comments
from rejoinder.web.schemas import CommentOut
from rejoinder.web.serialize import PAGE_DEFAULTS, page_comment, public_comment
from tests.helpers import flatten, post, read

BADGE = Verified("github", "GitHub", "https://github.com/ada", None)


def _comment(edited: bool, pinned: bool, verified: Verified | None, status: CommentStatus) -> Comment:
    when = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
    return Comment(
        id=7, thread_id=1, parent_id=None, root_id=None, author=Author("Ada", website="https://ada.example"),
        body="hi", html="<p>hi</p>", status=status, created_at=when, edited_at=when if edited else None,
        likes=2, edited_by_moderator=edited, pinned=pinned, verified=verified,
    )  # fmt: skip


def test_a_page_comment_reads_as_the_whole_comment_once_the_schemas_defaults_fill_it() -> None:
    for edited, pinned, verified, status in product(
        (False, True), (False, True), (None, BADGE), (CommentStatus.PUBLISHED, CommentStatus.DELETED)
    ):
        comment = _comment(edited, pinned, verified, status)
        whole, lean = public_comment(comment), page_comment(comment)
        assert CommentOut.model_validate({**lean, "replies": []}) == CommentOut.model_validate(whole)
        left_out = {name for name in PAGE_DEFAULTS if name not in lean}
        assert left_out == {name for name in PAGE_DEFAULTS if not whole[name]}
        assert set(lean) | left_out | {"replies"} == set(whole)


async def test_a_guests_comment_on_a_page_has_no_flags_and_the_answer_to_its_post_has_them_all(
    client: httpx.AsyncClient, site: str
) -> None:
    posted = (await post(client, "plain words"))["comment"]
    assert {name: posted[name] for name in PAGE_DEFAULTS} == {
        "edited_by_moderator": False,
        "pinned": False,
        "verified": None,
    }
    (shown,) = flatten((await read(client))["comments"])
    assert shown["id"] == posted["id"] and not set(PAGE_DEFAULTS) & set(shown)
    assert {k: v for k, v in posted.items() if k not in PAGE_DEFAULTS} == shown


async def test_set_flags_are_on_the_page(client: httpx.AsyncClient, ctx: Context, site: str) -> None:
    plain = (await post(client, "plain"))["comment"]["id"]
    dressed = (await post(client, "edited, pinned, by a verified reader"))["comment"]["id"]
    with ctx.db.write() as conn:
        conn.execute(
            update(comments)
            .where(comments.c.id == dressed)
            .values(verified=BADGE.as_json(), pinned=True, edited_by_moderator=True)
            .values(version=comments.c.version + 1)
        )
    ctx.cache.clear()  # the rows changed behind the services' back
    by_id: dict[int, dict[str, Any]] = {c["id"]: c for c in flatten((await read(client))["comments"])}
    assert not set(PAGE_DEFAULTS) & set(by_id[plain])
    flags = {name: by_id[dressed][name] for name in PAGE_DEFAULTS}
    assert flags == {"edited_by_moderator": True, "pinned": True, "verified": BADGE.as_json()}

"""The verdict judges a submission's reading, made before the transaction by every caller: a post, an
edit, Akismet's check. A reading made against another language than the site's is refused by the judge,
and one made before the site's settings changed is read again where the transaction finds them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from rejoinder import antispam
from rejoinder.antispam import check_submission
from rejoinder.comments import Client, NewComment, post_comment
from rejoinder.context import Context
from rejoinder.model import Author, SiteSettings
from rejoinder.sites import cached_site, create_site, site_settings, update_site
from rejoinder.spam import reading
from rejoinder.spam.judge import Inputs, judge
from rejoinder.spam.model import Model
from rejoinder.spam.submission import Submission
from tests.conftest import SITE_ORIGIN
from tests.test_spam_pipeline import FRIENDLY, GUARDED, QUIET, stored

# German beside a link: foreign on an English site without a page to compare with, at home on a German one.
GERMAN = (
    "Vielen Dank für den Artikel, genau das habe ich schon lange gesucht und es hat mir sehr geholfen: "
    "https://beispiel.example/seite"
)
FOREIGN = "written in German, the site in English"


@pytest.fixture
def open_now(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The store's transactions open at the moment, by kind ("read", "write"), innermost last."""
    opened: list[str] = []

    def noting(kind: str, original: Callable[..., Any]) -> Callable[..., Any]:
        @contextmanager
        def transaction(*args: Any, **kw: Any) -> Iterator[Any]:
            opened.append(kind)
            try:
                with original(*args, **kw) as conn:
                    yield conn
            finally:
                opened.pop()

        return transaction

    monkeypatch.setattr(ctx.db, "write", noting("write", ctx.db.write))
    monkeypatch.setattr(ctx.db, "read", noting("read", ctx.db.read))
    return opened


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch, open_now: list[str]) -> list[tuple[str, str]]:
    """Every submission read (its text), with the kind of transaction open meanwhile ("" for none)."""
    noted: list[tuple[str, str]] = []
    original = reading.read

    def noting(sub: Submission, site_language: str) -> reading.Reading:
        noted.append((sub.text, open_now[-1] if open_now else ""))
        return original(sub, site_language)

    monkeypatch.setattr(reading, "read", noting)
    return noted


def test_the_judge_refuses_a_reading_against_another_language_than_the_sites() -> None:
    sub = Submission(GERMAN, Author("Reader"))
    english = SiteSettings(max_depth=5, edit_window_seconds=900, language="en")
    german = SiteSettings(max_depth=5, edit_window_seconds=900, language="de")
    read = antispam.read(english, sub)
    assert FOREIGN in judge(Inputs(Model.shipped()), sub, english, reading=read, thread_id=None).reasons
    with pytest.raises(ValueError, match="against .English., not the site.s .German."):
        judge(Inputs(Model.shipped()), sub, german, reading=read, thread_id=None)
    again = antispam.reading_for(german, sub, read)
    assert again.site_language == "German"
    assert FOREIGN not in judge(Inputs(Model.shipped()), sub, german, reading=again, thread_id=None).reasons


def test_a_post_read_before_its_site_changed_language_is_judged_in_the_new_one(
    ctx: Context, monkeypatch: pytest.MonkeyPatch, reads: list[tuple[str, str]]
) -> None:
    create_site(ctx, GUARDED, "Guarded", [SITE_ORIGIN], **QUIET, language="en")
    original = ctx.db.transaction

    def site_changes_first(work: Any, **kw: Any) -> Any:
        # The post has been read (against English); its site turns German before its transaction.
        update_site(ctx, GUARDED, language="de")
        assert site_settings(ctx, cached_site(ctx, GUARDED)).language == "de"
        return original(work, **kw)

    monkeypatch.setattr(ctx.db, "transaction", site_changes_first)
    new = NewComment(GUARDED, "https://blog.example/2026/11/tide-pools", GERMAN, author=Author("Leser"))
    posted = post_comment(ctx, new, Client("198.51.100.7"))
    assert reads == [(GERMAN, ""), (GERMAN, "write")]  # ahead, and again in the transaction
    assert FOREIGN not in stored(ctx, posted.comment.id).spam_reasons


async def test_an_edit_is_read_once_before_its_write_transaction(
    client: httpx.AsyncClient, ctx: Context, reads: list[tuple[str, str]]
) -> None:
    create_site(ctx, GUARDED, "Guarded", [SITE_ORIGIN], **QUIET)
    posted = await client.post(
        "/api/v1/comments",
        json={"site": GUARDED, "url": "https://blog.example/a", "body": FRIENDLY, "author": {"name": "Ada"}},
    )
    assert posted.status_code == 201, posted.text
    reads.clear()
    edited = FRIENDLY + " Edited: the anemones were in the second pool."
    response = await client.patch(
        f"/api/v1/comments/{posted.json()['comment']['id']}",
        json={"body": edited},
        headers={"Authorization": f"Bearer {posted.json()['edit_token']}"},
    )
    assert response.status_code == 200, response.text
    assert reads == [(edited, "")]


async def test_an_edit_under_a_site_that_changed_language_meanwhile_is_read_again(
    client: httpx.AsyncClient, ctx: Context, monkeypatch: pytest.MonkeyPatch, reads: list[tuple[str, str]]
) -> None:
    create_site(ctx, GUARDED, "Guarded", [SITE_ORIGIN], **QUIET, language="en")
    posted = await client.post(
        "/api/v1/comments",
        json={"site": GUARDED, "url": "https://blog.example/a", "body": FRIENDLY, "author": {"name": "Ada"}},
    )
    assert posted.status_code == 201, posted.text
    comment_id = posted.json()["comment"]["id"]
    original, changed = ctx.db.write, []

    def site_changes_first(**kw: Any) -> Any:
        if not changed:  # the edit's write, after its reading: the site turns German first
            changed.append(True)
            update_site(ctx, GUARDED, language="de")
        return original(**kw)

    reads.clear()
    monkeypatch.setattr(ctx.db, "write", site_changes_first)
    response = await client.patch(
        f"/api/v1/comments/{comment_id}",
        json={"body": GERMAN},
        headers={"Authorization": f"Bearer {posted.json()['edit_token']}"},
    )
    assert response.status_code == 200, response.text
    assert reads == [(GERMAN, ""), (GERMAN, "write")]  # ahead, and again in the transaction
    assert FOREIGN not in stored(ctx, comment_id).spam_reasons


def test_akismet_s_check_reads_the_text_before_its_transaction(
    ctx: Context, reads: list[tuple[str, str]]
) -> None:
    site = create_site(ctx, GUARDED, "Guarded", [SITE_ORIGIN], **QUIET)
    check_submission(ctx, site, Submission(GERMAN, Author("Leser"), "198.51.100.7"))
    assert reads == [(GERMAN, "")]

"""A submission read once: the verdict from a reading made before the write transaction, or kept from a
refused attempt for its retry, is the verdict a fresh read gives, to the score and the reasons."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from rejoinder import antispam
from rejoinder.context import Context
from rejoinder.filterstate import Readings
from rejoinder.model import Author, SiteSettings
from rejoinder.sites import create_site
from rejoinder.spam import links, reading, relevance
from rejoinder.spam.judge import ChallengeNeeded, FormCheck, Inputs, judge
from rejoinder.spam.model import Model
from rejoinder.spam.submission import Page, Submission
from rejoinder.spam.verdict import Verdict
from tests.blog_patterns import BLOG_SPAM, READERS
from tests.conftest import SITE_ORIGIN
from tests.test_spam_pipeline import FRIENDLY, GUARDED, QUIET, centre_on, form, send, stored, submit
from tests.test_spam_signals import solved_payload

FIXTURE = Path(__file__).parent / "fixtures" / "blog-comments.jsonl"
# The load harness's kind of comment: words drawn from a short list, some Markdown, a link now and then.
WORD_SALAD = [
    "Cache index query moderation spam guard like vote count markdown render html json request.",
    "Thanks agree [disagree](https://example.com/interesting) point example question answer update fix bug.",
    "Release version docker nginx proxy config option default feature issue *comment* server thread reply.",
    "Widget static site blog post page performance latency sqlite python golang `code_sample()`.",
]


def submissions() -> list[Submission]:
    typed = [
        Submission(text, Author(name, "", website), page=Page(title))
        for text, name, website, title in BLOG_SPAM + READERS
    ]
    lines = FIXTURE.read_text("utf-8").splitlines()
    real = [Submission(json.loads(line)["text"], Author("Reader")) for line in lines if line.strip()]
    harness = Author("user7", "user7@example.org")
    salad = [Submission(text, harness, page=Page("Bench post 7")) for text in WORD_SALAD]
    return typed + real + salad


def outcome(rules: SiteSettings, sub: Submission, proof: FormCheck | None, read: reading.Reading) -> Any:
    inputs = Inputs(Model.shipped(), form=proof, recent=9)
    try:
        return judge(inputs, sub, rules, reading=read, thread_id=None)
    except ChallengeNeeded as needed:
        return ("challenge", needed.level, needed.message, needed.rule)


@pytest.mark.parametrize("language", ["en", "de", "uk"])
def test_a_reading_made_ahead_gives_the_verdict_and_reasons_a_fresh_read_gives(language: str) -> None:
    rules = SiteSettings(max_depth=5, edit_window_seconds=900, language=language, pow="doubtful")
    other = SiteSettings(max_depth=5, edit_window_seconds=900, language="de" if language != "de" else "en")
    for sub in submissions():
        ahead = antispam.read(rules, sub)
        fresh = antispam.read(rules, sub)
        assert ahead == fresh and antispam.reading_for(rules, sub, ahead) is ahead
        # One made against another language than the site's now is read again, and judged as a fresh one.
        stale = antispam.read(other, sub)
        assert antispam.reading_for(rules, sub, stale) == fresh
        for proof in (None, FormCheck(pow_level=None), FormCheck(pow_level=6)):
            assert outcome(rules, sub, proof, ahead) == outcome(rules, sub, proof, fresh), sub.text


def test_the_links_signal_read_in_two_parts_finds_what_it_found_in_one() -> None:
    marked = {"pills.example": (3, 1), "docs.example": (0, 4), "bit.ly": (2, 0)}
    for sub in submissions() + [Submission("see https://pills.example/a and https://bit.ly/x", Author("A"))]:
        website = sub.author.website
        whole = links.judge(sub.text, website, marked=marked)
        domains = links.domains_in(sub.text, website)
        assert links.read(sub.text, website) + links.judge_marks(domains, marked) == whole


def test_a_kept_reading_is_taken_once_and_not_after_its_time() -> None:
    def read(text: str) -> reading.Reading:
        return reading.read(Submission(text, Author("A")), "English")

    kept_one = read("a comment")
    kept = Readings(limit=2, seconds=600)
    kept.keep(kept_one, "<p>a comment</p>")
    assert kept.take(read("a comment!").key) is None
    assert kept.take(reading.key_of(Submission("a comment", Author("A")), "English")) == (
        kept_one,
        "<p>a comment</p>",
    )
    assert kept.take(kept_one.key) is None
    for n in range(5):
        kept.keep(read(f"comment {n}"), "")
    assert len(kept) == 2  # the oldest went first
    assert kept.take(read("comment 4").key) is not None
    late = Readings(seconds=-1.0)  # whatever is kept is already too old
    late.keep(kept_one, "")
    assert late.take(kept_one.key) is None and len(late) == 0
    # However few they are, the readings kept hold no more than so many features between them.
    long = read(" ".join(f"word{n}" for n in range(200)))
    small = Readings(max_features=2 * len(long.features) + 1)
    for n in range(4):
        small.keep(dataclasses.replace(long, key=read(f"long {n}").key), "")
    assert len(small) == 2 and small._features == 2 * len(long.features)
    assert small.take(read("long 3").key) is not None
    assert small._features == len(long.features)


@pytest.fixture
def judged_twice(monkeypatch: pytest.MonkeyPatch) -> list[reading.Reading]:
    """Every verdict of the pipeline made twice, from the reading it was given and from a fresh read, and
    checked to be the same; the list holds the readings given."""
    given: list[reading.Reading] = []
    original, read_afresh = antispam.judge, reading.read

    def both(
        inputs: Inputs, sub: Submission, rules: SiteSettings, *, reading: reading.Reading, **kw: Any
    ) -> Verdict:
        given.append(reading)
        assert reading.site_language == relevance.SITE_LANGUAGES[rules.language]
        afresh = read_afresh(sub, reading.site_language)
        try:
            fresh: Verdict | ChallengeNeeded = original(inputs, sub, rules, reading=afresh, **kw)
        except ChallengeNeeded as needed:
            fresh = needed
        try:
            verdict = original(inputs, sub, rules, reading=reading, **kw)
        except ChallengeNeeded as needed:
            assert isinstance(fresh, ChallengeNeeded)
            assert (needed.level, needed.message, needed.rule) == (fresh.level, fresh.message, fresh.rule)
            raise
        assert verdict == fresh
        return verdict

    monkeypatch.setattr(antispam, "judge", both)
    return given


async def test_a_challenged_comment_is_read_once_and_judged_as_if_read_again(
    client: httpx.AsyncClient,
    ctx: Context,
    judged_twice: list[reading.Reading],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    create_site(ctx, GUARDED, "Guarded", [SITE_ORIGIN], **{**QUIET, "pow": "doubtful"})
    centre_on(ctx, FRIENDLY, hold=-0.5, spam=5.0)  # held, in the lower half of the hold band
    reads: list[str] = []
    original: Callable[..., reading.Reading] = reading.read

    def counted(sub: Submission, site_language: str) -> reading.Reading:
        reads.append(sub.text)
        return original(sub, site_language)

    monkeypatch.setattr(reading, "read", counted)
    judged_twice.clear()  # centre_on's
    refused = await send(client, shown=await form(client))
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "challenge_required"
    assert reads == [FRIENDLY] and len(ctx.spam.readings) == 1
    level = refused.json()["error"]["difficulty"]
    named = (await client.get("/api/v1/form", params={"site": GUARDED, "difficulty": level})).json()
    posted = await submit(client, shown=named, altcha=solved_payload(named["challenge"]))
    assert posted["status"] == "pending"
    # The retry used what the refused attempt read; both were judged from it (and checked against a
    # fresh read in ``both``).
    assert reads == [FRIENDLY] and len(judged_twice) >= 2
    assert all(given is judged_twice[0] for given in judged_twice)
    assert len(ctx.spam.readings) == 0
    assert stored(ctx, posted["id"]).spam_action == "hold"
    # A retry that changed its text is read afresh.
    again = await send(client, FRIENDLY + " Thanks again.", shown=await form(client))
    assert again.status_code == 422
    assert reads[-1] == FRIENDLY + " Thanks again." and len(ctx.spam.readings) == 1

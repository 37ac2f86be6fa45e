"""The offline abuse signal: its own reason and per-site action (hold by default, a note, or off), never
spam; through the API and the Akismet endpoint on both backends; the shipped model's recipe is
reproducible byte for byte and measured by cross-validation (on the shared corpora, when present)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from rejoinder.abusetraining import as_abuse_examples, cross_validate_abuse
from rejoinder.antispam import check_submission
from rejoinder.cli import main
from rejoinder.context import Context
from rejoinder.corpora import read_corpus, sample
from rejoinder.errors import InvalidInput
from rejoinder.model import Author, Site
from rejoinder.sites import create_site, update_site
from rejoinder.spam import abuse
from rejoinder.spam.abuse import AbuseModel, Finding
from rejoinder.spam.features import extract
from rejoinder.spam.submission import Submission
from rejoinder.spam.verdict import Action, Verdict
from rejoinder.store.schema import comments
from tests.conftest import SHARED, SITE_ORIGIN
from tests.helpers import comment_payload
from tests.test_spam_pipeline import QUIET

CORPORA = SHARED / "corpora"
DAVIDSON = CORPORA / "davidson-hate-offensive" / "davidson-hate-offensive.jsonl"
YOUTUBE = CORPORA / "youtube-spam-collection" / "youtube-spam-collection.jsonl"
needs_corpora = pytest.mark.skipif(not DAVIDSON.exists(), reason=f"the shared corpora are not at {CORPORA}")

RUDE = "Shut up, you stupid bitch. Nobody asked what you think."
POLITE = "Thanks, this tutorial was really helpful! The second example finally made it click for me."


def test_the_shipped_model_tells_a_slur_from_thanks() -> None:
    model = AbuseModel.shipped()
    rude = model.judge(extract(RUDE), 0.9)
    assert rude is not None and rude.score >= 0.9
    assert rude.reason.startswith("insulting language ('")
    assert "bitch" in rude.reason
    assert model.judge(extract(POLITE), 0.9) is None
    assert model.probability(extract(POLITE)) < 0.1


def test_a_reason_names_only_words_that_weigh() -> None:
    finding = AbuseModel.shipped().judge(extract(RUDE), 0.9)
    assert finding is not None
    assert not {"you", "what", "a", "the", "is", "nobody"} & set(finding.words)


@pytest.mark.parametrize(
    "text",
    [
        "I will find you and kill you.",
        "Die in a fire.",
        "You are an idiot and you should shut up.",
        "The author is a moron who knows nothing about economics.",
        "Your article is garbage and so are you.",
        "Go back to your country, you filthy animal.",
        "Women are stupid and belong in the kitchen.",
    ],
)
def test_threats_and_insults_without_slurs_are_found_by_their_phrase(text: str) -> None:
    model = AbuseModel.shipped()
    assert model.probability(extract(text)) < 0.9  # the model alone lets it through
    finding = model.judge(extract(text), 0.9, text)
    assert finding is not None and finding.reason.startswith("insulting language ('")
    assert model.judge(extract(text), 0.99, text) is None  # a site asking for more than a phrase gives


@pytest.mark.parametrize(
    "text",
    [
        "Kill the process with kill -9 if it hangs.",
        "I'll find you a link to the docs.",
        "I'm going to shoot you an email tomorrow.",
        "This will kill your performance.",
        "You are not stupid, the docs are confusing.",
        "Is this idiot-proof? The installer asks nothing.",
        POLITE,
    ],
)
def test_ordinary_words_near_those_phrases_are_not_abuse(text: str) -> None:
    assert abuse.phrase(text) == ""
    assert AbuseModel.shipped().judge(extract(text), 0.9, text) is None


SPAM_SIDE = st.sampled_from(list(Action))


@given(
    action=SPAM_SIDE,
    score=st.floats(0, 1),
    site_action=st.sampled_from(abuse.ACTIONS),
    abusive=st.floats(0, 1),
)
def test_abuse_never_makes_spam_nor_moves_the_spam_score(
    action: Action, score: float, site_action: str, abusive: float
) -> None:
    verdict = Verdict(action, score, ("a reason",))
    taken = abuse.apply(verdict, Finding(abusive, ("word",)), site_action)
    assert taken.score == score
    assert taken.is_spam == verdict.is_spam
    if site_action == "off":
        assert taken == verdict
        return
    assert taken.reasons == ("a reason", "insulting language ('word')")
    expected = Action.HOLD if site_action == "hold" and action is Action.PUBLISH else action
    assert taken.action is expected


def test_no_finding_changes_nothing() -> None:
    verdict = Verdict(Action.PUBLISH, 0.1, ())
    assert abuse.apply(verdict, None, "hold") is verdict


@pytest.fixture
def guarded(ctx: Context) -> Callable[..., Site]:
    def make(**settings: Any) -> Site:
        return create_site(ctx, "guarded", "Guarded", [SITE_ORIGIN], **{**QUIET, **settings})

    return make


def judged(ctx: Context, site: Site, text: str) -> Verdict:
    return check_submission(ctx, site, Submission(text, Author("Sam"), "198.51.100.4", "", ""))


def test_each_site_chooses_what_insulting_language_does(ctx: Context, guarded: Callable[..., Site]) -> None:
    site = guarded(abuse_action="off")
    spam_only = judged(ctx, site, RUDE)  # the spam filter's own verdict: the abuse signal is off
    assert not any(r.startswith("insulting language") for r in spam_only.reasons)
    assert not spam_only.is_spam  # rude is not spam
    for action, expected in (("note", spam_only.action), ("hold", Action.HOLD)):
        site = update_site(ctx, "guarded", abuse_action=action)
        verdict = judged(ctx, site, RUDE)
        assert verdict.action is expected
        assert verdict.score == spam_only.score
        assert verdict.reasons[-1].startswith("insulting language ('")
        polite = judged(ctx, site, POLITE)
        assert not any(r.startswith("insulting language") for r in polite.reasons)


def test_the_threshold_is_the_sites(ctx: Context, guarded: Callable[..., Site]) -> None:
    site = guarded(abuse_threshold=1.0, abuse_action="note")
    assert not any(r.startswith("insulting language") for r in judged(ctx, site, RUDE).reasons)
    site = update_site(ctx, "guarded", abuse_threshold=0.5)
    assert any(r.startswith("insulting language") for r in judged(ctx, site, RUDE).reasons)


async def test_an_insulting_comment_is_held_with_its_reason_kept(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site]
) -> None:
    guarded()
    response = await client.post("/api/v1/comments", json=comment_payload(RUDE, site="guarded"))
    assert response.status_code == 201, response.text
    posted = response.json()["comment"]
    assert posted["status"] == "pending"
    with ctx.db.read() as conn:
        action, reasons = conn.execute(
            select(comments.c.spam_action, comments.c.spam_reasons).where(comments.c.id == posted["id"])
        ).one()
    assert action == "hold"
    assert any(r.startswith("insulting language") for r in reasons)


async def test_akismet_clients_hear_not_spam_and_hold(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site]
) -> None:
    from rejoinder.apikeys import create_key

    guarded()
    key = create_key(ctx, "akismet", "guarded", "tests")
    params = {"api_key": key, "blog": SITE_ORIGIN, "user_ip": "198.51.100.4", "comment_content": RUDE}
    response = await client.post("/1.1/comment-check", data=params)
    assert response.text == "false"
    assert response.headers["X-Rejoinder-Action"] == "hold"


@pytest.mark.parametrize(
    ("name", "value"), [("abuse_action", "delete"), ("abuse_threshold", 0), ("abuse_threshold", 2)]
)
def test_abuse_settings_are_checked(ctx: Context, name: str, value: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        create_site(ctx, "blog", "Blog", [SITE_ORIGIN], **{name: value})
    assert name in refused.value.fields


@needs_corpora
def test_abuse_train_gives_the_same_bytes_twice_and_a_model_that_loads(tmp_path: Path) -> None:
    lines = DAVIDSON.read_text(encoding="utf-8").splitlines(keepends=True)[::60]
    corpus = tmp_path / "small.jsonl"
    corpus.write_text("".join(lines), encoding="utf-8")
    first, second = tmp_path / "a.bin.gz", tmp_path / "b.bin.gz"
    for out in (first, second):
        with pytest.raises(SystemExit) as done:
            main(["abuse", "train", "--corpus", str(corpus), "--out", str(out)])
        assert done.value.code == 0
    assert first.read_bytes() == second.read_bytes()
    model = AbuseModel.from_bytes(first.read_bytes())
    assert model.model.meta["corpora"] == ["small"]
    assert 0 <= model.probability(extract(POLITE)) <= 1


@needs_corpora
def test_cross_validation_separates_abuse_on_a_sample() -> None:
    items = sample(read_corpus(DAVIDSON), 1000, seed=2) + sample(read_corpus(YOUTUBE), 250, seed=2)
    examples = as_abuse_examples(items)
    originals = {item.id: item.label for item in examples if item.corpus.startswith("davidson")}
    result = cross_validate_abuse(examples, folds=2, threshold=0.9, originals=originals)
    davidson = result.per_corpus["davidson-hate-offensive"]
    assert davidson.auc > 0.9
    assert davidson.precision > 0.9
    assert davidson.fpr < 0.1
    assert result.per_corpus["youtube-spam-collection"].fpr < 0.05
    assert set(result.flagged_by_label) == {"abusive", "ok"}

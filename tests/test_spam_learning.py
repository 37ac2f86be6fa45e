"""Learning that is safe with few, one-sided decisions: a site whose moderators have only marked spam so
far must not start sending its readers' ordinary comments to spam, nor blame words like "the"."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rejoinder.corpora import read_corpus
from rejoinder.evaluation import learning_safety
from rejoinder.spam.features import DIMENSIONS, _hash, extract
from rejoinder.spam.function_words import FUNCTION_WORDS, is_function_label
from rejoinder.spam.model import MIN_FEATURE_COUNT, Model

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
# Hand-written blog comments, 48 readers' and 24 spam, so that the property below is checked on a clean
# clone too, where the shared corpora are absent.
FIXTURE = Path(__file__).parent / "fixtures" / "blog-comments.jsonl"

# Ten spam decisions of the kind a blog's moderators make first, typed for this test.
BLOG_SPAM = [
    "Thanks for the great post! For the best essay writing service visit the site in my name.",
    "Call the printer support helpline at 1-888-555-0143 for all your printer problems, 24/7 help.",
    "This is the best article I have read on this topic. Buy cheap pills online at the pharmacy link.",
    "Get the casino bonus today, the best slots and the biggest jackpot for new players.",
    "Need a loan fast? The easiest payday loans with no credit check, apply in the form today.",
    "Great post, thanks for sharing. Watch the latest movies free on the streaming site for the fans.",
    "Contact the airline customer service number for the fastest booking help, call now.",
    "I was looking for this for the whole week, thanks! Also check the SEO backlinks package for sale.",
    "The best crypto trading signals for the beginners, join the group and double your investment.",
    "Wonderful blog. For the cheapest replica watches and bags visit the store in my profile.",
]
READERS = [
    "Thanks, this tutorial was really helpful!",
    "I had the same problem with the build and the fix in the second step worked for me.",
    "Could you explain why the loop is faster than the list comprehension in this case?",
    "Great post, I learned a lot from the part about the database indexes.",
    "This is the clearest explanation of the topic that I have found so far.",
    "I think there is a typo in the third code sample: the variable is never defined.",
    "Thank you for writing this up, it saved me a lot of time at work.",
    "What version of the library did you use for the examples?",
]


def taught_spam_only() -> Model:
    site = Model.shipped().with_site({})
    for text in BLOG_SPAM:
        site.learn(extract(text), is_spam=True)
    return site


def test_ten_spam_decisions_leave_readers_comments_where_they_were() -> None:
    site, prior = taught_spam_only(), Model.shipped()
    for text in READERS:
        before, after = prior.log_odds(extract(text)), site.log_odds(extract(text))
        assert after < 0, text  # still published (the rule before this one held five of the eight)
        assert after - before < 1.0, text


def test_function_words_are_never_counted_or_moved_by_a_lesson() -> None:
    site = taught_spam_only()
    words = {word for text in BLOG_SPAM for word in extract(text).labels.values() if word in FUNCTION_WORDS}
    assert {"the", "for", "this"} <= words
    for word in words:
        for fid in (_hash(f"w:{word}"), _hash(f"v:{word}")):  # the word and its word-view twin
            assert site.deltas.get(fid, 0.0) == 0.0, word
            assert site.deltas.get(DIMENSIONS + fid, 0.0) == 0.0, word


def test_a_reason_never_cites_a_function_word() -> None:
    site = taught_spam_only()
    for text in BLOG_SPAM + READERS:
        for label in site.explain(extract(text), n=5):
            assert not is_function_label(label), (text, label)


def test_a_word_seen_once_stays_at_the_prior() -> None:
    site = Model.shipped().with_site({})
    probe = extract("zyxwvut")
    before = site.log_odds(probe)
    site.learn(extract("zyxwvut offers"), is_spam=True)
    assert site.log_odds(probe) == pytest.approx(before, abs=0.05)  # only the bias moved
    assert MIN_FEATURE_COUNT > 1


def test_a_lesson_does_not_pile_its_step_onto_the_few_features_that_recur() -> None:
    site = Model.shipped().with_site({})
    site.learn(extract("qqzzx"), is_spam=True)
    # A long spam comment of words never seen, but for one that was: the step is shared among that one's
    # n-grams, and none of them may move by more than a lesson's worth (the rule before put +26 on one
    # n-gram on SMS).
    novel = " ".join(f"w{chr(97 + i % 26)}{chr(97 + i // 26)}rd" for i in range(60))
    delta = site.learn(extract(f"{novel} qqzzx"), is_spam=True)
    stepped = [abs(v) for fid, v in delta.items() if 0 < fid < DIMENSIONS]
    assert stepped and max(stepped) <= site.learning_rate + 1e-9


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(BLOG_SPAM), min_size=1, max_size=10))
def test_spam_only_decisions_never_raise_a_function_words_weight(lessons: list[str]) -> None:
    site = Model.shipped().with_site({})
    for text in lessons:
        site.learn(extract(text), is_spam=True)
    prior = Model.shipped()
    for word in FUNCTION_WORDS:
        for fid in (_hash(f"w:{word}"), _hash(f"v:{word}")):
            assert site.weight(fid) == pytest.approx(prior.weight(fid)), word


def test_weak_ham_counts_a_fraction_of_a_decision() -> None:
    site = Model.shipped().with_site({})
    delta = site.learn(extract("a quiet comment about indexes"), is_spam=False, weak=True)
    strong = Model.shipped().with_site({}).learn(extract("a quiet comment about indexes"), is_spam=False)
    assert 0 < max(v for k, v in delta.items() if k >= DIMENSIONS) < max(
        v for k, v in strong.items() if k >= DIMENSIONS
    )


@pytest.mark.parametrize("name", ["youtube-spam-collection", "sms-spam-collection", "instagram-scamspot"])
def test_ten_spam_only_decisions_raise_no_corpus_fpr_by_more_than_a_point(name: str) -> None:
    path = CORPORA / name / f"{name}.jsonl"
    if not path.exists():
        pytest.skip(f"the shared corpus {path} is not here")
    result = learning_safety(read_corpus(path), Model.shipped(), trials=2)
    assert result.worst_fpr_rise <= 0.01


def test_ten_spam_only_decisions_send_none_of_the_fixtures_readers_to_spam() -> None:
    items = read_corpus(FIXTURE)
    assert sum(i.is_spam for i in items) >= 10 and sum(not i.is_spam for i in items) >= 40
    result = learning_safety(items, Model.shipped(), trials=5, mixed=30)
    assert result.worst_fpr_rise <= 0.01  # 48 readers: a single one sent to spam would be 2 points
    # Thirty mixed decisions, spam and readers as they come, help on the rest of the comments.
    assert sum(result.f1_after) > sum(result.f1_before)


def decisions_moving_their_comment_away(items: list) -> list[str]:
    """Stream ``items`` as a site's moderators' decisions; the texts whose own decision moved them away."""
    site = Model.shipped().with_site({})
    away = []
    for item in items:
        f = extract(item.text)
        was = site.log_odds(f)
        site.learn(f, item.is_spam)
        now = site.log_odds(f)
        if (now < was - 1e-9) if item.is_spam else (now > was + 1e-9):
            away.append(item.text)
    return away


def test_no_decision_on_the_fixtures_comments_moves_its_comment_away_from_it() -> None:
    assert decisions_moving_their_comment_away(read_corpus(FIXTURE)) == []


@pytest.mark.parametrize("name", ["youtube-spam-collection", "sms-spam-collection", "instagram-scamspot"])
def test_no_decision_in_a_corpus_moves_its_comment_away_from_it(name: str) -> None:
    # Counting a decision can lean a comment's features the other way (a feature seen once in each class
    # leans toward the class with fewer decisions): before the step made up for it, 422 of the 5,159 SMS
    # decisions moved their own comment away from them, by up to 0.81 in log-odds.
    path = CORPORA / name / f"{name}.jsonl"
    if not path.exists():
        pytest.skip(f"the shared corpus {path} is not here")
    assert decisions_moving_their_comment_away(read_corpus(path)[:2000]) == []

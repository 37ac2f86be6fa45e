"""The shipped prior's recipe with the evaluated corpus left out: built from the other corpora only,
reproducibly, and cached under a key of what decides its bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rejoinder import prior_recipe
from rejoinder.corpora import corpus_files, read_corpus
from rejoinder.evaluation import learning_safety
from rejoinder.prior_recipe import held_out_prior, trained_on
from rejoinder.spam.features import extract

FIXTURE = Path(__file__).parent / "fixtures" / "blog-comments.jsonl"
CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"


@pytest.fixture
def corpora(tmp_path: Path) -> list[Path]:
    """The fixture's comments dealt into two small corpora, each with spam and ham."""
    rows = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines() if line.strip()]
    paths = []
    for name, part in (("blog-a", rows[0::2]), ("blog-b", rows[1::2])):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps(row) + "\n" for row in part), encoding="utf-8")
        paths.append(path)
    return paths


def test_the_evaluated_corpus_is_left_out_of_the_prior(corpora: list[Path], tmp_path: Path) -> None:
    model, names = held_out_prior(corpora, {"blog-a"}, tmp_path / "cache")
    assert names == ["blog-b"]
    assert trained_on(model) == {"blog-b"}


def test_a_held_out_prior_is_built_once_and_read_back(
    corpora: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    built, _ = held_out_prior(corpora, {"blog-a"}, cache)
    [file] = cache.iterdir()

    def no_training(paths: list[Path]) -> None:
        raise AssertionError("trained again although the same prior was cached")

    monkeypatch.setattr(prior_recipe, "prior_file", no_training)
    cached, _ = held_out_prior(corpora, {"blog-a"}, cache)
    probe = extract("Check out my channel and subscribe for free gift cards")
    assert cached.log_odds(probe) == built.log_odds(probe)
    assert list(cache.iterdir()) == [file]


def test_another_corpus_content_is_another_prior(corpora: list[Path], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    held_out_prior(corpora, {"blog-a"}, cache)
    with corpora[1].open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"text": "Win a free cruise, call now", "label": "spam"}) + "\n")
    held_out_prior(corpora, {"blog-a"}, cache)
    assert len(list(cache.iterdir())) == 2


@pytest.mark.parametrize("name", ["youtube-spam-collection", "sms-spam-collection", "instagram-scamspot"])
def test_from_a_prior_that_never_saw_the_corpus_learning_is_safe_and_helps(
    name: str, pytestconfig: pytest.Config
) -> None:
    """The protocol of ``spam eval --safety --prior-corpora``, as a site whose comments were never in the
    prior meets it: ten spam-only decisions raise the FPR on its ham by at most a point, and fifty mixed
    ones raise F1 without sending more than 4 % of the remaining ham to spam (the step rule before sent
    6.9 % of SMS's there in the second shuffle; Instagram's scam words, which its ham shares, cost it 2 to
    3 points: docs/spam.md)."""
    path = CORPORA / name / f"{name}.jsonl"
    if not path.exists():
        pytest.skip(f"the shared corpus {path} is not here")
    assert pytestconfig.cache is not None  # a prior takes 20 s of CPU to build: kept between runs
    cache = pytestconfig.cache.mkdir("held-out-priors")
    prior, _ = held_out_prior(corpus_files([CORPORA]), {name}, cache)
    assert name not in trained_on(prior)
    result = learning_safety(read_corpus(path), prior, trials=2)
    assert result.worst_fpr_rise <= 0.01
    assert result.worst_f1_gain > 0
    assert max(result.fpr_mixed_after) <= 0.04

"""The shipped prior's recipe: which comments it is trained on and how, for ``rejoinder spam train``; and
the same recipe with the evaluated corpus left out, the prior a site whose comments were never in training
starts from, which ``rejoinder spam eval --safety`` builds (and caches) to measure learning honestly.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from rejoinder.corpora import CorpusError, CorpusItem, deduplicate, read_corpus
from rejoinder.evaluation import PRIOR_OPTIONS, train_model
from rejoinder.spam.features import FEATURES_VERSION
from rejoinder.spam.model import Model


def prior_training_set(paths: Sequence[Path]) -> list[CorpusItem]:
    """The comments a prior is trained on: every corpus deduplicated, leaks removed (by the reader)."""
    items = [item for path in paths for item in deduplicate(read_corpus(path))]
    if not any(i.is_spam for i in items) or all(i.is_spam for i in items):
        raise CorpusError("the corpora must hold both spam and ham")
    return items


def prior_file(paths: Sequence[Path]) -> bytes:
    """The bytes of a prior trained by the shipped recipe on these corpora (what ``spam train`` writes)."""
    items = prior_training_set(paths)
    model = train_model(items, PRIOR_OPTIONS)
    model.meta["corpora"] = sorted({item.corpus for item in items})
    return model.to_bytes()


def build_prior(paths: Sequence[Path]) -> Model:
    """A prior trained by the shipped recipe on these corpora, read back from its file: the weights are
    int16-quantised there, so a prior built here scores exactly as the file does."""
    return Model.from_bytes(prior_file(paths))


def trained_on(model: Model) -> set[str]:
    """The corpora a prior was trained on, as its file records them (empty for an unrecorded one)."""
    return set(model.meta.get("corpora", []))


def held_out_prior(paths: Sequence[Path], left_out: set[str], cache: Path) -> tuple[Model, list[str]]:
    """The shipped recipe trained on ``paths`` without the corpora named in ``left_out``; returns the prior
    and the corpora it was trained on.

    Training takes about 20 s of CPU, so the file is kept in ``cache`` under a key of everything that
    decides its bytes (the corpora's contents, the recipe, the feature version): the same inputs give the
    same file, so a cached one is the one that would be built."""
    kept = sorted((p for p in paths if p.name.removesuffix(".jsonl") not in left_out), key=lambda p: p.name)
    if not kept:
        raise CorpusError("nothing left to train a prior on once the evaluated corpus is left out")
    digest = hashlib.sha256(
        json.dumps([FEATURES_VERSION, asdict(PRIOR_OPTIONS)], sort_keys=True).encode("utf-8")
    )
    for path in kept:
        digest.update(path.name.encode("utf-8") + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    names = [p.name.removesuffix(".jsonl") for p in kept]
    file = cache / f"prior-{'+'.join(names)}-{digest.hexdigest()[:16]}.bin.gz"
    if file.exists():
        return Model.from_bytes(file.read_bytes()), names
    data = prior_file(kept)
    cache.mkdir(parents=True, exist_ok=True)
    partial = file.with_suffix(".part")
    partial.write_bytes(data)
    partial.replace(file)  # never a half-written prior under the final name
    return Model.from_bytes(data), names

"""The verdicts of a fixed set of texts, for checking that a change meant to make verdicts cheaper leaves
every one of them as it was (``tests/test_verdicts_unchanged.py``, ``tests/fixtures/verdicts.jsonl``).

Each text of a shared corpus, the typed blog-spam patterns and the repository's blog comments is judged
by every store-free signal of a fresh site, with the abuse signal on, under three senders and pages:
a reader under an English article, a business-named author with a selling website and no page, a
blogger with a website on a German site. Texts are named by corpus and line, never copied.

    python -m tests.verdict_cases --write    # the fixture, from the code checked out
    python -m tests.verdict_cases --all OUT  # every text of every corpus, for comparing two builds
"""

from __future__ import annotations

import argparse
import hashlib
import json
import runpy
from collections.abc import Iterator
from pathlib import Path

from rejoinder.model import Author, SiteSettings
from rejoinder.spam.abuse import AbuseModel
from rejoinder.spam.judge import Inputs, judge
from rejoinder.spam.model import Model
from rejoinder.spam.reading import read, reference_language
from rejoinder.spam.submission import Page, Submission

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPORA = ("youtube-spam-collection", "sms-spam-collection", "instagram-scamspot", "davidson-hate-offensive")
FIXTURE = REPO / "tests" / "fixtures" / "verdicts.jsonl"
PER_CORPUS = 80  # spread through each corpus, and its longest texts beside them
LONGEST = 20

ARTICLE = Page(
    "Connection pooling in PostgreSQL", "How to size a pool and what pgbouncer changes for your app"
)
SENDERS = (
    (Author("Reader", "reader@example.org"), ARTICLE, "en"),
    (
        Author("Best Cheap SEO Services", "sales@example.org", "https://cheap-seo-services.example"),
        Page(),
        "en",
    ),
    (Author("Jana", "jana@example.org", "https://jana.example/blog/"), Page(), "de"),
)


def texts(sample: bool) -> Iterator[tuple[str, int, str]]:
    """(source, line, text): the repository's own texts, then each shared corpus present (sampled)."""
    own = _lines(REPO / "tests" / "fixtures" / "blog-comments.jsonl")
    # Read by path: this module also runs against another checkout's ``rejoinder`` (PYTHONPATH).
    typed = runpy.run_path(str(REPO / "tests" / "blog_patterns.py"))
    own += [pattern[0] for pattern in typed["BLOG_SPAM"] + typed["READERS"]]
    yield from (("repository", n, text) for n, text in enumerate(own))
    for name in CORPORA:
        path = SHARED / "corpora" / name / f"{name}.jsonl"
        if not path.exists():
            continue
        lines = _lines(path)
        chosen = range(len(lines))
        if sample:
            step = max(1, len(lines) // PER_CORPUS)
            longest = sorted(range(len(lines)), key=lambda n: (-len(lines[n]), n))[:LONGEST]
            chosen = sorted(set(range(0, len(lines), step)[:PER_CORPUS]) | set(longest))
        yield from ((name, n, lines[n]) for n in chosen)


def _lines(path: Path) -> list[str]:
    return [json.loads(line)["text"] for line in path.read_text("utf-8").split("\n") if line]


def verdicts(sample: bool) -> Iterator[dict[str, object]]:
    model, abuse = Model.shipped(), AbuseModel.shipped()
    inputs = Inputs(model, abuse=abuse)
    for source, line, text in texts(sample):
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        for sender, (author, page, language) in enumerate(SENDERS):
            rules = SiteSettings(max_depth=5, edit_window_seconds=900, language=language)
            sub = Submission(text, author, "203.0.113.5", "UA", "/a", page)
            reading = read(sub, reference_language(language))
            verdict = judge(inputs, sub, rules, reading=reading, thread_id=1)
            yield {
                "source": source,
                "line": line,
                "sha256": digest,
                "sender": sender,
                "action": verdict.action.value,
                "score": verdict.score,
                "reasons": list(verdict.reasons),
            }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {FIXTURE.relative_to(REPO)}")
    parser.add_argument("--all", type=Path, help="every text of every corpus, to this file")
    args = parser.parse_args()
    out = args.all or (FIXTURE if args.write else None)
    if out is None:
        parser.error("--write or --all OUT")
    with out.open("w", encoding="utf-8") as f:
        for row in verdicts(sample=args.all is None):
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()

"""Outside corpora are fetched by pin: the files' sha256 decides, a changed byte is refused, and the JSONL
written from them is the same on every machine and reads as a labelled corpus with its leaks removed."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from rejoinder.cli.spam import main as spam_main
from rejoinder.corpora import read_corpus
from rejoinder.corpus_sources import SOURCES, PinnedFile, Source, SourceError, default_cache, fetch

# Written for this test in the shape of Decidim's files: "label;text", the author's name first in comments.
COMMENTS = (
    b"spam;Raphael Great post, thanks for sharing! <a href=https://example.com/essays>essay help</a>\n"
    b"spam;Raphael Great post, thanks for sharing! <a href=https://example.com/essays>essay help</a>\n"
    b"spam;Ann Lee Call the support line now\n"
    b"ham;Bob I liked the second example\n"
    b"notes;not a labelled line\n"
    b"spam;\n"
)
PROFILES = b"spam;Cheap flights and hotel deals; book today\n"


def pin(name: str, data: bytes, url: str = "https://example.invalid/") -> PinnedFile:
    return PinnedFile(name, url + name, hashlib.sha256(data).hexdigest())


def decidim_like(url: str = "https://example.invalid/") -> Source:
    real = SOURCES["decidim-spam"]
    files = (pin("spam_comments.csv", COMMENTS, url), pin("blocked_accounts.csv", PROFILES, url))
    return Source("decidim-spam", "test", "test", files, real.read)


@pytest.fixture
def published(tmp_path: Path) -> Path:
    folder = tmp_path / "published"
    folder.mkdir()
    (folder / "spam_comments.csv").write_bytes(COMMENTS)
    (folder / "blocked_accounts.csv").write_bytes(PROFILES)
    return folder


def test_files_from_a_folder_become_a_labelled_corpus(tmp_path: Path, published: Path) -> None:
    out = fetch(decidim_like(), tmp_path / "cache", local=published)
    items = read_corpus(out)
    assert out.name == "decidim-spam.jsonl"
    assert [(i.id, i.label) for i in items] == [
        ("decidim-spam-comments:1", "spam"),
        ("decidim-spam-comments:2", "spam"),
        ("decidim-spam-comments:3", "spam"),
        ("decidim-spam-comments:4", "ham"),
        ("decidim-blocked-accounts:1", "spam"),
    ]
    # The commenter's name is not learnt as a spam word: its first word is dropped from comments only.
    assert items[0].text.startswith("Great post")
    assert items[2].text == "Lee Call the support line now"
    assert items[4].text == "Cheap flights and hotel deals; book today"


def test_the_same_files_give_the_same_bytes(tmp_path: Path, published: Path) -> None:
    first = fetch(decidim_like(), tmp_path / "a", local=published).read_bytes()
    second = fetch(decidim_like(), tmp_path / "b", local=published).read_bytes()
    assert first == second


def test_a_changed_byte_is_refused_and_nothing_is_written(tmp_path: Path, published: Path) -> None:
    (published / "blocked_accounts.csv").write_bytes(PROFILES.replace(b"Cheap", b"Cheep"))
    cache = tmp_path / "cache"
    with pytest.raises(SourceError, match="blocked_accounts.csv: sha256 .* not the pinned"):
        fetch(decidim_like(), cache, local=published)
    assert not (cache / "blocked_accounts.csv").exists()
    assert not (cache / "decidim-spam.jsonl").exists()


def test_a_cached_file_is_verified_again(tmp_path: Path, published: Path) -> None:
    cache = tmp_path / "cache"
    fetch(decidim_like(), cache, local=published)
    (cache / "spam_comments.csv").write_bytes(b"spam;tampered\n")
    with pytest.raises(SourceError, match="spam_comments.csv"):
        fetch(decidim_like(), cache, local=published)


@pytest.fixture
def server(published: Path) -> Iterator[str]:
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(published))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_files_are_downloaded_from_their_urls(tmp_path: Path, server: str) -> None:
    out = fetch(decidim_like(server), tmp_path / "cache")
    assert len(read_corpus(out)) == 5
    assert (tmp_path / "cache" / "spam_comments.csv").read_bytes() == COMMENTS


def test_a_missing_file_names_itself(tmp_path: Path, server: str) -> None:
    broken = Source("decidim-spam", "t", "t", (pin("gone.csv", b"", server),), SOURCES["decidim-spam"].read)
    with pytest.raises(SourceError, match="gone.csv: cannot download"):
        fetch(broken, tmp_path / "cache")


def test_the_command_lists_sources_with_licence_and_pins(capsys: pytest.CaptureFixture[str]) -> None:
    assert spam_main(["spam", "fetch", "--list"]) == 0
    listed = capsys.readouterr().out
    assert "decidim-spam" in listed and "AGPL-3.0" in listed
    for pinned in SOURCES["decidim-spam"].files:
        assert pinned.sha256 in listed and pinned.url in listed


def test_the_command_refuses_files_that_are_not_the_pinned_ones(
    tmp_path: Path, published: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The test folder holds files of the right names but other bytes than Decidim's.
    code = spam_main(
        ["spam", "fetch", "decidim-spam", "--cache", str(tmp_path / "c"), "--from", str(published)]
    )
    assert code == 2
    assert "not the pinned" in capsys.readouterr().err


def test_the_real_decidim_corpus_when_it_was_fetched() -> None:
    out = default_cache() / "decidim-spam.jsonl"
    if not out.exists():
        pytest.skip(f"{out} not fetched (rejoinder spam fetch decidim-spam)")
    items = read_corpus(out)
    assert len(items) == 334 and all(i.is_spam for i in items)
    assert not any(i.text.startswith("Raphael ") for i in items)

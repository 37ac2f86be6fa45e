"""What an import's first pass learns of each comment (its id, parent, thread and status), kept in a
scratch SQLite file rather than in memory, so an import's memory stays flat however long its file:
duplicates, replies whose parent is not in the file, the depth of nesting and the counts per thread are
then questions to that file."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

_SCHEMA = (
    "CREATE TABLE seen (id TEXT PRIMARY KEY, parent TEXT, url TEXT NOT NULL, status TEXT NOT NULL, "
    "existing INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID",
    "CREATE TABLE titles (url TEXT PRIMARY KEY, title TEXT NOT NULL) WITHOUT ROWID",
)
_ORPHANED = "parent IS NOT NULL AND parent NOT IN (SELECT id FROM seen)"


class Survey:
    """A scratch table of the comments read, removed on ``close``."""

    def __init__(self) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix="rejoinder-import-")
        # Scratch data, rebuilt by reading the file again: no journal, no fsync.
        self._db = sqlite3.connect(Path(self._directory.name) / "survey.db", isolation_level=None)
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        for statement in _SCHEMA:
            self._db.execute(statement)
        self._db.execute("BEGIN")
        self._indexed = False
        self._last_url = ""
        self.count = 0

    def add(self, source_id: str, parent_id: str | None, url: str, status: str = "", title: str = "") -> bool:
        """Note one comment; False if its id was noted before (the file lists it twice)."""
        added = self._db.execute(
            "INSERT OR IGNORE INTO seen (id, parent, url, status) VALUES (?, ?, ?, ?)",
            (source_id, parent_id or None, url, status),
        ).rowcount
        if added and url != self._last_url:  # a thread's comments mostly come together: one title each
            self._db.execute("INSERT OR IGNORE INTO titles VALUES (?, ?)", (url, title))
            self._last_url = url
        self.count += added
        return added == 1

    def mark_existing(self, source_ids: list[str]) -> None:
        """Note that these comments were imported before (they count as in the file, not as new)."""
        for start in range(0, len(source_ids), 500):
            chunk = source_ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            self._db.execute(f"UPDATE seen SET existing = 1 WHERE id IN ({marks})", chunk)

    def thread_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM titles").fetchone()[0])

    def largest_threads(self, limit: int) -> Iterator[tuple[str, str, str, int, int]]:
        """(url, title, status, comments, new ones) of the ``limit`` threads with most comments, largest
        first (then by URL), a row per status."""
        self._index()
        return iter(
            self._db.execute(
                """WITH top AS (
                       SELECT url, count(*) AS size FROM seen GROUP BY url ORDER BY size DESC, url LIMIT ?
                   )
                   SELECT top.url, titles.title, seen.status, count(*), sum(1 - seen.existing)
                   FROM top JOIN seen ON seen.url = top.url JOIN titles ON titles.url = top.url
                   GROUP BY top.url, seen.status
                   ORDER BY top.size DESC, top.url, seen.status""",
                (limit,),
            )
        )

    def orphan_parents(self) -> set[str]:
        """Parent ids that no comment of the file has (few: a source's deleted comments)."""
        self._index()
        return {row[0] for row in self._db.execute(f"SELECT DISTINCT parent FROM seen WHERE {_ORPHANED}")}

    def orphans(self) -> int:
        """Replies whose parent is not in the file."""
        self._index()
        return int(self._db.execute(f"SELECT count(*) FROM seen WHERE {_ORPHANED}").fetchone()[0])

    def max_depth(self) -> int:
        """The deepest reply (0: only top-level comments), following parents present in the file. Comments
        in a loop of parents (a -> b -> a) are reached from no top-level comment and count for nothing."""
        self._index()
        deepest = self._db.execute(
            f"""WITH RECURSIVE depth(id, level) AS (
                    SELECT id, 0 FROM seen WHERE parent IS NULL OR {_ORPHANED}
                    UNION ALL
                    SELECT seen.id, depth.level + 1 FROM seen JOIN depth ON seen.parent = depth.id
                )
                SELECT max(level) FROM depth"""
        ).fetchone()[0]
        return int(deepest or 0)

    def chunks(self, size: int) -> Iterator[list[tuple[str, str]]]:
        """Every (source id, thread URL), ``size`` at a time."""
        after: str | None = None
        while True:
            rows = self._db.execute(
                "SELECT id, url FROM seen WHERE ? IS NULL OR id > ? ORDER BY id LIMIT ?", (after, after, size)
            ).fetchall()
            if not rows:
                return
            yield rows
            after = rows[-1][0]

    def close(self) -> None:
        self._db.close()
        self._directory.cleanup()

    def __enter__(self) -> Survey:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _index(self) -> None:
        if not self._indexed:  # once everything is in: quicker than keeping an index up to date
            self._db.execute("CREATE INDEX seen_parent ON seen (parent)")
            self._db.execute("CREATE INDEX seen_url ON seen (url)")
            self._indexed = True

"""What an import's first pass learns of each comment (its id, parent and thread), kept in a scratch SQLite
file rather than in memory, so an import's memory stays flat however long its file: duplicates, replies
whose parent is not in the file and the depth of nesting are then questions to that file."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

_SCHEMA = "CREATE TABLE seen (id TEXT PRIMARY KEY, parent TEXT, url TEXT NOT NULL) WITHOUT ROWID"
_ORPHANED = "parent IS NOT NULL AND parent NOT IN (SELECT id FROM seen)"


class Survey:
    """A scratch table of the comments read, removed on ``close``."""

    def __init__(self) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix="rejoinder-import-")
        # Scratch data, rebuilt by reading the file again: no journal, no fsync.
        self._db = sqlite3.connect(Path(self._directory.name) / "survey.db", isolation_level=None)
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute(_SCHEMA)
        self._db.execute("BEGIN")
        self._indexed = False
        self.count = 0

    def add(self, source_id: str, parent_id: str | None, url: str) -> bool:
        """Note one comment; False if its id was noted before (the file lists it twice)."""
        added = self._db.execute(
            "INSERT OR IGNORE INTO seen VALUES (?, ?, ?)", (source_id, parent_id or None, url)
        ).rowcount
        self.count += added
        return added == 1

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
            self._indexed = True

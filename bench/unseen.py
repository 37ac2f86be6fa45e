"""Where the comments went that the harness's write check acknowledged but did not find in their thread.

Usage: python bench/unseen.py RESULT.json DATABASE.db > OUT.json

With the spam filter on, an acknowledged comment may be stored but not shown to readers: held for a
moderator (``pending``) or sent to spam. The harness cannot tell those from lost comments; the database can.
Prints ``{status: count}`` over the ids the harness lists.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections import Counter


def main() -> None:
    result_path, database = sys.argv[1], sys.argv[2]
    with open(result_path) as fh:
        check = json.load(fh)["write"]["visibility_check"]
    ids = [int(example["id"]) for example in check.get("lost_examples", [])]
    statuses: Counter[str] = Counter()
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        for comment_id in ids:
            row = conn.execute("SELECT status FROM comments WHERE id = ?", (comment_id,)).fetchone()
            statuses[row[0] if row else "missing"] += 1
    json.dump({"listed": len(ids), "lost": check.get("lost", 0), "statuses": dict(statuses)}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

"""The harness's Rejoinder adapter, reading whole threads as the widget's *Load more* does.

The built-in adapter asks for ``limit=1000`` top-level comments and stops there; a thread that grows past
that (the largest one does during the write phase) would then look as if it had lost comments. This
subclass follows ``next_cursor`` until the thread is complete — one request for every thread below
1,000 top-level comments, as before — without decoding the pages it fetches. Use it with
``--adapter bench/adapter.py:WholeThreadAdapter``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import json
import os
import sys
from typing import Any
from urllib.parse import quote

# The harness loads this file from its own process, where it runs as __main__.
_loadgen = sys.modules["__main__"]
# It loads this file by its path, not as a module of a package: what it shares with bench/cpu.py is
# imported from beside it.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pipeline_client  # noqa: E402  (bench/pipeline_client.py: a comment as the API takes it, the proof of work)

# Rejoinder writes next_cursor last, so a complete thread ends with this, and a page with more after it
# with the cursor, a URL-safe base64 string, just before it.
LAST_PAGE = b'"next_cursor":null}'
CURSOR = b'"next_cursor":"'
# Between the pages of one thread in what ``fetch_thread`` returns: never inside a page, whose JSON escapes
# every newline in a string.
PAGES_APART = b"\n"


class WholeThreadAdapter(_loadgen.RejoinderAdapter):  # type: ignore[name-defined,misc]
    """The pages of a thread are fetched, not decoded: a read phase only counts their bytes, and decoding and
    encoding again a thread of more than 1,000 top-level comments (the most read thread grows past that in
    the write phase) cost the harness's client 7 ms a read, more than the server's answer. ``parse_thread``
    decodes each page when the harness asks for the comments (the checks after likes and writes)."""

    async def fetch_thread(self, thread: Any, client_ip: str | None = None) -> bytes:
        page = await super().fetch_thread(thread, client_ip)
        pages = [page]
        while not page.endswith(LAST_PAGE):
            url = self.fetch_url(thread) + "&cursor=" + quote(_next_cursor(page), safe="")
            page = await self._req("GET", url, headers=self._h(client_ip) if client_ip else None)
            pages.append(page)
        return PAGES_APART.join(pages)

    def parse_thread(self, body: bytes) -> dict[str, int]:
        comments: dict[str, int] = {}
        for page in body.split(PAGES_APART):
            comments.update(super().parse_thread(page))
        return comments


def _next_cursor(page: bytes) -> str:
    start = page.rfind(CURSOR)
    if start < 0 or not page.endswith(b'"}'):  # not a page as Rejoinder writes it: read it the slow way
        return str(json.loads(page)["next_cursor"])
    return page[start + len(CURSOR) : -2].decode("ascii")


class FormAdapter(WholeThreadAdapter):
    """Posts as an API client meeting the whole spam filter: it fetches a form token before each comment,
    and solves the proof of work when the server asks for it (``challenge_required``).

    Verdicts are tallied in ``$BENCH_CACHE/verdicts.json`` (a held comment is not readable, so the
    harness would count it as lost: the tally tells such comments apart).

    It speaks the proofs of work that ``bench/baseline`` meets: this build's, whose ``challenge_required``
    names a ``difficulty`` and carries a challenge that hard; the builds' before it, whose form makes that
    challenge when asked ``?difficulty=``; and 250b2a7's, which has one level, names none, ignores the query
    and puts a challenge in every form.
    """

    def __init__(self, base: str, session: Any, opts: dict[str, str]) -> None:
        super().__init__(base, session, opts)
        self.tally: dict[str, int] = {}

    async def create_comment(self, thread: Any, user: Any, text: str, parent_id: Any) -> str:
        data = pipeline_client.comment_body(self.site, self._url(thread), thread, user, text, parent_id)
        difficulty, challenge = 0, None
        for _attempt in range(2):
            if challenge is None:
                # As the widget does: a post that answers challenge_required names the level of proof of
                # work it wants, and carries a challenge that hard (its form token left unused); from a
                # server whose refusal carries none, the form asked for at that level brings one, with a
                # fresh token.
                query = f"site={quote(self.site)}" + (f"&difficulty={difficulty}" if difficulty else "")
                form = json.loads(await self._req("GET", f"{self.base}/api/v1/form?{query}"))
                data["form_token"] = form["form_token"]
                challenge = form.get("challenge") if difficulty else None
            if challenge:
                # In another process: solving on the harness's event loop would stall every other
                # simulated client meanwhile, and the harness, not the server, would set the pace.
                loop = asyncio.get_running_loop()
                solving = loop.run_in_executor(_solvers(), pipeline_client.solve, challenge)
                data["altcha"] = await solving
                self.tally["challenged"] = self.tally.get("challenged", 0) + 1
            async with self.session.post(
                f"{self.base}/api/v1/comments", data=json.dumps(data), headers=self._h(user.ip)
            ) as response:
                body = await response.read()
                status = response.status
            if status == 201:
                comment = json.loads(body)["comment"]
                self.tally[comment["status"]] = self.tally.get(comment["status"], 0) + 1
                return str(comment["id"])
            if status == 422 and b"challenge_required" in body:
                # 250b2a7 names no level: 1 only marks the next form's challenge as one to solve.
                error = json.loads(body)["error"]
                difficulty = max(1, int(error.get("difficulty") or 0))
                challenge = error.get("challenge")
                continue
            raise _loadgen.OpError(f"http_{status}", body[:200].decode("utf-8", "replace"))
        raise _loadgen.OpError("challenge_loop")

    async def before_phase(self, phase: str) -> None:
        await super().before_phase(phase)
        path = os.path.join(os.environ.get("BENCH_CACHE", "/tmp"), "verdicts.json")
        with open(path, "w") as out:
            json.dump(self.tally, out)


@functools.cache
def _solvers() -> concurrent.futures.ProcessPoolExecutor:
    return concurrent.futures.ProcessPoolExecutor(max_workers=1)

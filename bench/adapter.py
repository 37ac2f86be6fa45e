"""The harness's Rejoinder adapter, reading whole threads as the widget's *Load more* does.

The built-in adapter asks for ``limit=1000`` top-level comments and stops there; a thread that grows past
that (the largest one does during the write phase) would then look as if it had lost comments. This
subclass follows ``next_cursor`` until the thread is complete — one request for every thread below
1,000 top-level comments, as before. Use it with ``--adapter bench/adapter.py:WholeThreadAdapter``.
"""

from __future__ import annotations

import json
import sys
from typing import Any
from urllib.parse import quote

# The harness loads this file from its own process, where it runs as __main__.
_loadgen = sys.modules["__main__"]


# Rejoinder writes next_cursor last, so a complete thread ends with this.
LAST_PAGE = b'"next_cursor":null}'


class WholeThreadAdapter(_loadgen.RejoinderAdapter):  # type: ignore[name-defined,misc]
    async def fetch_thread(self, thread: Any, client_ip: str | None = None) -> bytes:
        body = await super().fetch_thread(thread, client_ip)
        if body.endswith(LAST_PAGE):  # nearly always: skip parsing, or the harness becomes the bottleneck
            return body
        page = json.loads(body)
        comments = page["comments"]
        while page.get("next_cursor"):
            url = self.fetch_url(thread) + "&cursor=" + quote(page["next_cursor"], safe="")
            page = json.loads(await self._req("GET", url, headers=self._h(client_ip) if client_ip else None))
            comments += page["comments"]
        return json.dumps({"thread": page["thread"], "comments": comments, "next_cursor": None}).encode()

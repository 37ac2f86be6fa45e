"""One client address flooding a server: posting, liking and previewing as fast as it can, over a few
connections, until its standard input closes (or a hard deadline). Started by ``bench/flooding.py``
(for tests/test_flood.py and bench/flood.py) in a process of its own, so its work does not share the
readers' interpreter; prints what it was answered as one line of JSON.

    python bench/flood_client.py BASE_URL SOURCE_ADDRESS SITE URL COMMENT_ID CONNECTIONS
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from typing import Any

import httpx

HARD_DEADLINE_SECONDS = 60  # stops by itself even if nobody closes its input
# Costly to render (emphasis, links, a list, a quote) and well within max_body_length: the flood asks for
# as much work per request as an ordinary comment may.
BODY = "*Buy* **now** [here](https://spam.example/x) and `there`\n\n> quoted\n\n- one\n- two\n\n" * 25


def flood(
    base_url: str,
    source: str,
    target: tuple[str, str, int],
    stop: threading.Event,
    answers: Counter[str],
    lock: threading.Lock,
) -> None:
    site, url, comment_id = target
    post = {
        "site": site,
        "url": url,
        "title": "Flooded",
        "author": {"name": "Flood", "email": "f@spam.example"},
    }
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, base_url=base_url, timeout=10) as http:
        n = 0
        while not stop.is_set():
            n += 1
            liker = {"X-Rejoinder-Liker": f"flood-{source}-{threading.get_ident()}-{n}"}
            requests: list[tuple[str, str, str, dict[str, Any]]] = [
                ("post", "POST", "/api/v1/comments", {"json": post | {"body": f"{n} {BODY}"}}),
                ("like", "PUT", f"/api/v1/comments/{comment_id}/like", {"headers": liker}),
                ("preview", "POST", "/api/v1/preview", {"json": {"body": BODY}}),
            ]
            for kind, method, path, options in requests:
                try:
                    answer = http.request(method, path, **options)
                except httpx.TransportError as exc:
                    key = f"{kind} {type(exc).__name__}"
                else:
                    key = f"{kind} {answer.status_code}"
                    if answer.status_code == 429 and not answer.headers.get("retry-after", "").isdigit():
                        key += " without Retry-After"
                with lock:
                    answers[key] += 1


def main(argv: list[str]) -> None:
    base_url, source, site, url, comment_id, connections = argv
    stop, lock, answers = threading.Event(), threading.Lock(), Counter[str]()
    workers = [
        threading.Thread(
            target=flood, args=(base_url, source, (site, url, int(comment_id)), stop, answers, lock)
        )
        for _ in range(int(connections))
    ]
    for worker in workers:
        worker.start()
    print("flooding", flush=True)
    closer = threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True)
    closer.start()
    closer.join(HARD_DEADLINE_SECONDS)
    stop.set()
    started = time.monotonic()
    for worker in workers:
        worker.join(timeout=15 - (time.monotonic() - started))
    print(json.dumps(dict(answers)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

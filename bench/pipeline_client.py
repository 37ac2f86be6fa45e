"""What a client of the whole spam filter sends, shared by the harness's adapter (``bench/adapter.py``'s
``FormAdapter``, loaded inside the harness's process) and ``bench/cpu.py``'s pipeline kinds: a comment of
the harness's plan as the API takes it, and the ALTCHA v1 proof of work as the widget's worker solves it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any


def comment_body(site: str, url: str, thread: Any, user: Any, text: str, parent_id: Any) -> dict[str, Any]:
    """A new comment of the harness's plan (its thread's title, its commenter's name and address), without
    the form's token and proof of work, which each attempt adds."""
    data: dict[str, Any] = {
        "site": site,
        "url": url,
        "title": thread.title,
        "body": text,
        "author": {"name": user.name, "email": user.email},
    }
    if parent_id is not None:
        data["parent_id"] = parent_id
    return data


def solve(challenge: dict[str, Any]) -> str:
    """The ALTCHA v1 proof of work, as the widget's worker does it: the ``altcha`` field's value."""
    salt, target = challenge["salt"], challenge["challenge"]
    for number in range(challenge["maxnumber"] + 1):
        if hashlib.sha256(f"{salt}{number}".encode()).hexdigest() == target:
            solution = {key: challenge[key] for key in ("algorithm", "challenge", "salt", "signature")}
            return base64.b64encode(json.dumps({**solution, "number": number}).encode()).decode()
    raise RuntimeError("challenge_unsolved")


def solve_timed(challenge: dict[str, Any]) -> tuple[str, float]:
    """``solve``, with the CPU seconds it took in the process that solved it."""
    started = time.process_time()
    return solve(challenge), time.process_time() - started

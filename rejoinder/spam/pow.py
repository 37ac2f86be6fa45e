"""ALTCHA proof of work as a cost, not a vote: the browser spends a moment of CPU, a spammer's bulk
posting spends hours. A solution lowers no score (a script solves the easiest challenge in a few
hundredths of a second); what it buys is the right to be judged at all where the site asks for one.

Each challenge has a *difficulty* level, signed into its salt (``d=``): level 0 searches up to
``BASE_NUMBER``, each level doubles that. The level a comment must have paid grows with the filter's
doubt about it and with how many comments its address sent in the last hour (``required_level``), so a
flood pays in CPU, more with every comment.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import urllib.parse
from datetime import UTC, datetime, timedelta
from typing import Any

BASE_NUMBER = 50_000  # level 0: about 0.05-0.3 s in a browser worker
MAX_LEVEL = 6  # 3.2 million tries: seconds to tens of seconds in a browser, for a flood only
LIFETIME = timedelta(minutes=30)
FREE_PER_HOUR = 4  # comments an address sends in an hour before its challenges grow harder
MAX_DOUBT = 3  # a comment the filter would send to spam; 1 and 2: the lower and upper half of "hold"


def max_number(level: int) -> int:
    return BASE_NUMBER << max(0, min(level, MAX_LEVEL))


def volume_level(recent: int) -> int:
    """Extra levels for an address that sent ``recent`` comments in the last hour: none for the first
    ``FREE_PER_HOUR``, then one more each time the count doubles."""
    if recent <= FREE_PER_HOUR:
        return 0
    return min(MAX_LEVEL, 1 + int(math.log2(recent / FREE_PER_HOUR)))


def doubt(score: float, hold: float, spam: float) -> int:
    """How doubtful a spam probability is under the site's thresholds: 0 below ``hold`` (published),
    1 and 2 in the lower and upper half of the hold band, ``MAX_DOUBT`` from ``spam`` on."""
    if score < hold:
        return 0
    if score >= spam:
        return MAX_DOUBT
    return 1 if score < (hold + spam) / 2 else 2


def required_level(doubt: int, recent: int) -> int:
    """The level a comment must have paid: its doubt plus its address's volume level, at most
    ``MAX_LEVEL``."""
    return min(MAX_LEVEL, max(0, doubt) + volume_level(recent))


# ``altcha`` (and argon2, which it imports) is imported by the first challenge or solution, not at start:
# 1 MiB resident that a process whose sites ask for no proof of work never needs.
def challenge(hmac_key: str, now: datetime | None = None, level: int = 0) -> dict[str, Any]:
    import altcha

    level = max(0, min(level, MAX_LEVEL))
    expires = (now or datetime.now(UTC)) + LIFETIME
    made = altcha.create_challenge_v1(
        altcha.ChallengeOptionsV1(
            hmac_key=hmac_key, max_number=max_number(level), expires=expires, params={"d": str(level)}
        )
    )
    return {
        "algorithm": made.algorithm,
        "challenge": made.challenge,
        "maxnumber": made.max_number,
        "salt": made.salt,
        "signature": made.signature,
    }


def verify(payload: str | None, hmac_key: str) -> str | None:
    """The digest of a valid, unexpired solution (to mark it used), or None."""
    solved = verify_level(payload, hmac_key)
    return solved[0] if solved is not None else None


def verify_level(payload: str | None, hmac_key: str) -> tuple[str, int] | None:
    """The digest and difficulty level of a valid, unexpired solution, or None. The level is read from
    the salt, which the signature covers, so a client cannot claim more work than it did."""
    if not payload or len(payload) > 2000:
        return None
    import altcha

    try:
        ok, _error = altcha.verify_solution_v1(payload, hmac_key, check_expires=True)
        if not ok:
            return None
        salt = json.loads(base64.b64decode(payload))["salt"]
        params = dict(urllib.parse.parse_qsl(str(salt).partition("?")[2]))
        level = int(params.get("d", "0"))
    except Exception:  # the library raises various errors on malformed payloads; all mean "not solved"
        return None
    return hashlib.sha256(payload.encode()).hexdigest(), max(0, min(level, MAX_LEVEL))

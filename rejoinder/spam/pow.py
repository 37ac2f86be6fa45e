"""ALTCHA proof of work: the browser spends a moment of CPU, a spammer's bulk posting spends hours."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import altcha

from rejoinder.spam.verdict import Evidence

MAX_NUMBER = 100_000  # about 0.1-0.5 s in a browser worker
LIFETIME = timedelta(minutes=30)
SOLVED_WEIGHT = -1.0


def challenge(hmac_key: str, now: datetime | None = None) -> dict[str, Any]:
    expires = (now or datetime.now(UTC)) + LIFETIME
    made = altcha.create_challenge_v1(
        altcha.ChallengeOptionsV1(hmac_key=hmac_key, max_number=MAX_NUMBER, expires=expires)
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
    if not payload or len(payload) > 2000:
        return None
    try:
        ok, _error = altcha.verify_solution_v1(payload, hmac_key, check_expires=True)
    except Exception:  # the library raises various errors on malformed payloads; all mean "not solved"
        return None
    return hashlib.sha256(payload.encode()).hexdigest() if ok else None


def solved() -> Evidence:
    return Evidence("pow", SOLVED_WEIGHT, "solved the proof-of-work challenge")

"""Signed form tokens: issued when the form is shown, they tell how long the writer took and catch replays."""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

from rejoinder.spam.verdict import Evidence

MAX_AGE_SECONDS = 7 * 86400  # a tab left open for a week still works; older tokens count as missing


@dataclass(frozen=True)
class TokenCheck:
    evidence: list[Evidence]
    digest: str | None = None  # for the single-use check; None when there is nothing to mark as used
    issued_at: float | None = None


class FormTokens:
    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt="rejoinder.form-token")

    def issue(self, site_key: str, now: float | None = None) -> str:
        # Rounded down to the millisecond: rounded to the nearest, a token could say it was issued after a
        # post made in the same millisecond, and be read as posted before the form was shown.
        issued = math.floor((now if now is not None else time.time()) * 1000) / 1000
        return self._serializer.dumps([site_key, issued, secrets.token_urlsafe(9)])

    def check(
        self, token: str | None, site_key: str, min_seconds: float, now: float | None = None
    ) -> TokenCheck:
        now = now if now is not None else time.time()
        if not token:
            return TokenCheck([Evidence("form_token", 1.5, "sent without loading the comment form")])
        try:
            signed_site, issued, _nonce = self._serializer.loads(token)
            issued = float(issued)
        except (BadSignature, ValueError, TypeError):
            return TokenCheck([Evidence("form_token", 3.0, "sent with a forged form token")])
        digest = hashlib.sha256(token.encode()).hexdigest()
        if signed_site != site_key:
            return TokenCheck([Evidence("form_token", 3.0, "sent with a form token of another site")], digest)
        elapsed = max(now - issued, 0.0)  # never before its form: a clock stepped back, a float rounded up
        if elapsed > MAX_AGE_SECONDS:
            return TokenCheck([Evidence("form_token", 1.0, "sent with an expired form token")], digest)
        if elapsed < min_seconds:
            # A second or two is possible for a person pasting a short reply; a fraction is not.
            weight = 2.5 if elapsed < min_seconds / 3 else 1.5
            reason = f"posted {elapsed:.1f} s after the form was shown"
            return TokenCheck([Evidence("form_token", weight, reason)], digest, issued)
        return TokenCheck([], digest, issued)


def replayed() -> Evidence:
    return Evidence("form_token", 4.0, "sent with a form token that was used before")

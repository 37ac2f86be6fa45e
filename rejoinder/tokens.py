"""Signed tokens: the edit token an author gets for a comment, the links in mails (confirm, unsubscribe,
manage), and keyed hashes of reader ids."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, cast

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode, int_to_bytes

from rejoinder.errors import EditWindowClosed, InvalidLink, Unauthorized

# The longest id, sign included, that itsdangerous never compresses: it does when zlib saves two bytes, and
# zlib's framing (6 bytes) and a deflate block of a literal, a repeat and its end take 10 bytes at least.
MAX_UNCOMPRESSED_DIGITS = 11


class Signer:
    def __init__(self, secret_key: str) -> None:
        self._secret = secret_key.encode()
        self._edit = URLSafeTimedSerializer(secret_key, salt="rejoinder.edit-token")
        # The edit signer, for its clock, and its HMAC keyed with its derived key, copied for each token
        # (``edit_token``).
        self._edit_signer = cast(TimestampSigner, self._edit.make_signer())  # a timed serializer's signer
        self._edit_mac = hmac.new(self._edit_signer.derive_key(), digestmod=hashlib.sha1)
        self._key = secret_key
        self._login = URLSafeTimedSerializer(secret_key, salt="rejoinder.login-second-step")

    def edit_token(self, comment_id: int) -> str:
        """``self._edit.dumps(comment_id)``, the same text, with the signer's key derived once and its HMAC
        keyed once: itsdangerous builds a signer, derives its key, keys an HMAC and tries to compress the
        payload for every token, five times this one's CPU on the event loop for every comment posted. (An
        id's JSON is its digits; zlib never makes eleven bytes or fewer shorter, so their payload is their
        base64. A longer id may compress, as ``10**12`` does: itsdangerous writes it.)"""
        digits = b"%d" % comment_id
        if len(digits) > MAX_UNCOMPRESSED_DIGITS:
            return self._edit.dumps(comment_id)
        payload = base64_encode(digits)
        value = payload + b"." + base64_encode(int_to_bytes(self._edit_signer.get_timestamp()))
        mac = self._edit_mac.copy()
        mac.update(value)
        return (value + b"." + base64_encode(mac.digest())).decode()

    def check_edit_token(self, token: str, comment_id: int, window_seconds: int) -> None:
        """Raise unless ``token`` was issued for ``comment_id`` less than ``window_seconds`` ago."""
        try:
            signed_id = self._edit.loads(token, max_age=window_seconds)
        except SignatureExpired as exc:
            window = (
                f"{window_seconds // 60} minutes" if window_seconds >= 120 else f"{window_seconds} seconds"
            )
            raise EditWindowClosed(
                f"comments can be edited or deleted for {window} after posting",
                {"Authorization": f"the edit window of {window} has closed"},
            ) from exc
        except BadSignature as exc:
            raise Unauthorized(
                "the edit token is not valid", {"Authorization": "is not a valid edit token"}
            ) from exc
        if signed_id != comment_id:
            raise Unauthorized(
                "the edit token belongs to another comment", {"Authorization": "is for another comment"}
            )

    def second_step(self, moderator_id: int) -> str:
        """Carries a login whose password was right to the page asking for the TOTP code."""
        return self._login.dumps(moderator_id)

    def check_second_step(self, token: str, max_age: int) -> int | None:
        """The moderator whose password was right less than ``max_age`` seconds ago, or None."""
        try:
            found = self._login.loads(token, max_age=max_age)
        except BadSignature:  # SignatureExpired included
            return None
        return found if isinstance(found, int) else None

    def reader_key(self, purpose: str, value: str) -> str:
        """A keyed hash of a reader-supplied id: stable, but useless to anyone without the secret."""
        return hmac.new(self._secret, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()[:40]

    def link_token(self, purpose: str, value: Any) -> str:
        """A token for a link in a mail: ``value`` signed for one ``purpose`` (a token made for
        unsubscribing cannot confirm anything)."""
        return URLSafeTimedSerializer(self._key, salt=f"rejoinder.link.{purpose}").dumps(value)

    def check_link_token(self, purpose: str, token: str, max_age_seconds: int | None = None) -> Any:
        """The value signed into a link token; InvalidLink if it is forged, for another purpose, or old."""
        serializer = URLSafeTimedSerializer(self._key, salt=f"rejoinder.link.{purpose}")
        try:
            return serializer.loads(token, max_age=max_age_seconds)
        except SignatureExpired as exc:
            raise InvalidLink("this link has expired", {"token": "has expired"}) from exc
        except BadSignature as exc:
            raise InvalidLink("this link is not valid", {"token": "is not a valid link"}) from exc

"""The exception tree: every error Rejoinder raises on purpose knows its HTTP status and machine code.

Services raise these; the web layer turns them into ``{"error": {"code", "message", "fields"}}``.
Nothing here depends on HTTP libraries: the status is a plain number.
"""

from __future__ import annotations


class RejoinderError(Exception):
    """Base of all deliberate errors."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}

    @property
    def details(self) -> dict[str, object]:
        """What the error says besides its code, message and fields (none by default)."""
        return {}


class ConfigurationError(RejoinderError):
    """The server's own settings are wrong; reported at start-up, never to readers."""

    code = "configuration_error"


class BadRequest(RejoinderError):
    status = 400
    code = "bad_request"


class InvalidInput(RejoinderError):
    """A field breaks a rule; ``fields`` maps each dotted field name to the rule it broke."""

    status = 422
    code = "invalid_input"


class NotFound(RejoinderError):
    status = 404
    code = "not_found"


class InvalidLink(NotFound):
    """A link from a mail that was not made here, was made for something else, or has expired."""

    code = "invalid_link"


class UnknownSite(NotFound):
    code = "unknown_site"


class CommentNotFound(NotFound):
    code = "comment_not_found"


class Unauthorized(RejoinderError):
    status = 401
    code = "unauthorized"


class Forbidden(RejoinderError):
    status = 403
    code = "forbidden"


class ThreadClosed(Forbidden):
    code = "thread_closed"


class EditWindowClosed(Forbidden):
    code = "edit_window_closed"


class OriginNotAllowed(Forbidden):
    code = "origin_not_allowed"


class Conflict(RejoinderError):
    status = 409
    code = "conflict"


class JobNotDead(Conflict):
    """Only a dead job may be retried (and only while no live job holds its dedupe key)."""

    code = "job_not_dead"


class PayloadTooLarge(RejoinderError):
    status = 413
    code = "payload_too_large"


class ChallengeRequired(InvalidInput):
    """The comment needs a solved proof-of-work challenge before it is accepted; ``difficulty`` is the
    level to ask ``GET /api/v1/form`` for, and ``challenge`` (when the refusal came from a form's post) one
    of that level, ready to solve: the refused attempt's form token is left unused, so the retry needs no
    second form."""

    code = "challenge_required"

    def __init__(
        self,
        message: str,
        fields: dict[str, str] | None = None,
        *,
        difficulty: int = 0,
        challenge: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message, fields)
        self.difficulty = difficulty
        self.challenge = challenge

    @property
    def details(self) -> dict[str, object]:
        if self.challenge is None:
            return {"difficulty": self.difficulty}
        return {"difficulty": self.difficulty, "challenge": self.challenge}


class RateLimited(RejoinderError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, fields: dict[str, str] | None = None, *, retry_after: int = 60) -> None:
        super().__init__(message, fields)
        self.retry_after = retry_after


class NoClientAddress(RejoinderError):
    """Requests arrive without a client address (a Unix socket) and no proxy is trusted to name one."""

    status = 503
    code = "misconfigured"


class StreamsExhausted(RejoinderError):
    """This process follows as many live streams as it may; the client should come back later."""

    status = 503
    code = "streams_exhausted"

    def __init__(self, message: str, fields: dict[str, str] | None = None, *, retry_after: int = 5) -> None:
        super().__init__(message, fields)
        self.retry_after = retry_after


class LoginFailed(BadRequest):
    """A log-in at a provider could not be completed: unknown, used or expired state, a refused code, an
    ID token that does not check out, or a provider that did not answer as it should."""

    code = "login_failed"

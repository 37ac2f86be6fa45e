"""A guest's e-mail address, checked once per process: the same answer the first time and every time after."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email

from rejoinder.comments import _checked_email
from rejoinder.context import Context
from rejoinder.memo import Results


@pytest.mark.parametrize("email", ["Writer3@Example.COM", "ünï@exämple.org", "no-at-sign", "a@b", "x@-y.com"])
def test_an_address_is_checked_as_email_validator_checks_it(ctx: Context, email: str) -> None:
    try:
        expected: tuple[str, str | None] = (
            validate_email(email, check_deliverability=False).normalized,
            None,
        )
    except EmailNotValidError as exc:
        expected = (email, str(exc))
    assert _checked_email(ctx, email) == expected
    assert _checked_email(ctx, email) == expected  # remembered
    assert ctx.email_checks.get(email) == expected


def test_the_memo_is_emptied_when_full() -> None:
    results: Results[str, int] = Results(limit=2)
    results.put("a", 1)
    results.put("b", 2)
    results.put("c", 3)
    assert (results.get("a"), results.get("b"), results.get("c")) == (None, None, 3)


def test_an_address_too_long_to_be_one_is_refused_but_not_kept(ctx: Context) -> None:
    email = "a" * 100_000 + "@example.com"
    assert _checked_email(ctx, email)[1] is not None
    assert ctx.email_checks.get(email) is None
    longest = "a" * 64 + "@" + ".".join(["b" * 61] * 3) + ".com"
    assert len(longest) == 254
    _checked_email(ctx, longest)
    assert ctx.email_checks.get(longest) is not None

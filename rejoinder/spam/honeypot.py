"""The honeypot: a form field people never see, so whoever fills it in is a program."""

from __future__ import annotations

from rejoinder.spam.verdict import Evidence

FIELD = "homepage"  # a name form-filling bots cannot resist
WEIGHT = 9.0  # on its own enough to discard


def judge(value: str) -> list[Evidence]:
    if not value.strip():
        return []
    return [Evidence("honeypot", WEIGHT, "filled in a form field that is hidden from people")]

"""Rate limits as settings write them (``rates.py``) read as the ``limits`` library reads them: the same
strings accepted and refused, the same windows, and the same counter keys, which processes counting in
Redis through ``limits`` share."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from limits import parse_many

from rejoinder.rates import Rate, parse_rate, parse_rates

WRITTEN = [
    "6/minute",
    "6/minute;40/hour",
    "1 per 24 hours",
    "2/10 seconds, 5 per Minute | 100/day",
    "3/0 hours",
    "1/month;1/year",
    " 7 / 2 days ",
    "10/minutes",
]
REFUSED = ["", "off", "six/minute", "6/fortnight", "6/minutess", "6", "/minute", "6/minute;"]


def same(ours: list[Rate], text: str) -> None:
    theirs = parse_many(text)
    assert [str(rate) for rate in ours] == [str(item) for item in theirs]
    assert [rate.get_expiry() for rate in ours] == [item.get_expiry() for item in theirs]
    assert [rate.key_for("3", "ip", "2001:db8::1") for rate in ours] == [
        item.key_for("3", "ip", "2001:db8::1") for item in theirs
    ]
    assert [rate.key_for() for rate in ours] == [item.key_for() for item in theirs]


@pytest.mark.parametrize("text", WRITTEN)
def test_written_rates_read_as_limits_reads_them(text: str) -> None:
    same(parse_rates(text), text)


@pytest.mark.parametrize("text", REFUSED)
def test_what_limits_refuses_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_many(text)
    with pytest.raises(ValueError):
        parse_rates(text)


one_rate = st.builds(
    lambda amount, per, multiples, name, plural, space: (
        f"{amount}{space}{per}{space}{multiples}{space}{name}{'s' if plural else ''}"
    ),
    st.integers(0, 10_000),
    st.sampled_from(["/", " per ", "PER"]),
    st.sampled_from(["", "1", "10", "0"]),
    st.sampled_from(["second", "minute", "hour", "day", "month", "year", "Hour", "week"]),
    st.booleans(),
    st.sampled_from(["", " "]),
)


@given(st.lists(one_rate, min_size=1, max_size=4), st.sampled_from([";", ",", "|"]))
def test_any_rule_reads_as_limits_reads_it(rates: list[str], separator: str) -> None:
    text = separator.join(rates)
    try:
        theirs = parse_many(text)
    except ValueError:
        with pytest.raises(ValueError):
            parse_rates(text)
        return
    assert len(theirs) == len(rates)
    same(parse_rates(text), text)


def test_one_rate() -> None:
    assert parse_rate("6/minute;40/hour") == Rate(6, 1, "minute")
    assert str(parse_rate("1 per 24 hours")) == "1 per 24 hour"

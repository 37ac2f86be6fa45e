"""The edit token an author gets with a new comment: the same text itsdangerous's serializer makes."""

from __future__ import annotations

import random
from unittest import mock

import pytest
from itsdangerous import TimestampSigner

from rejoinder.errors import Unauthorized
from rejoinder.tokens import Signer

IDS = [1, 9, 10, 12345, 2**31, 2**53 + 1, 2**63 - 1, *random.Random(3).sample(range(1, 10**12), 500)]


@pytest.mark.parametrize("secret", ["k" * 43, "another secret"])
def test_an_edit_token_is_what_the_serializer_makes(secret: str) -> None:
    signer = Signer(secret)
    with mock.patch("time.time", return_value=1_790_000_000.75):
        for comment_id in IDS:
            assert signer.edit_token(comment_id) == signer._edit.dumps(comment_id)


def test_an_edit_token_is_read_back_for_its_comment_only() -> None:
    signer = Signer("k" * 43)
    token = signer.edit_token(12345)
    signer.check_edit_token(token, 12345, 60)
    with pytest.raises(Unauthorized):
        signer.check_edit_token(token, 12346, 60)
    with pytest.raises(Unauthorized):
        Signer("another secret").check_edit_token(token, 12345, 60)


def test_an_id_that_compresses_is_written_as_the_serializer_writes_it() -> None:
    signer = Signer("k" * 43)
    repeated = [int(str(digit) * length) for digit in range(1, 10) for length in range(10, 20)]
    powers = [10**exponent for exponent in range(9, 19)]
    with mock.patch("time.time", return_value=1_790_000_000.75):
        for comment_id in [*repeated, *powers, *(-n for n in powers)]:
            assert signer.edit_token(comment_id) == signer._edit.dumps(comment_id)
    signer.check_edit_token(signer.edit_token(10**12), 10**12, 60)


def test_an_edit_token_is_dated_by_the_serializer_s_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = Signer("k" * 43)
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _signer: 1_000_000_000)
    assert signer.edit_token(12345) == signer._edit.dumps(12345)

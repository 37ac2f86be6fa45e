"""Opaque cursors for pages of top-level comments."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

import orjson

from rejoinder.errors import InvalidInput
from rejoinder.model import Comment, PageKey, SortOrder

# Ids and like counts are 64-bit signed integers in both databases: a cursor outside that range was not
# given out by this server, and passing it on would make the database refuse the query (a 500, not a 422).
_LARGEST = 2**63 - 1


def encode_cursor(sort: SortOrder, last: Comment) -> str:
    raw = orjson.dumps([sort.value, last.likes, last.created_at.isoformat(), last.id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: SortOrder) -> PageKey:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        sort_name, likes, created, comment_id = orjson.loads(raw)
        if not all(type(n) is int and 0 <= n <= _LARGEST for n in (likes, comment_id)):
            raise ValueError("ids and likes are integers within 64 bits")
        if not isinstance(created, str) or len(created) > 40:
            raise ValueError("the time is a short ISO 8601 string")
        key = PageKey(SortOrder(sort_name), datetime.fromisoformat(created), comment_id, likes)
    except (binascii.Error, ValueError, TypeError, OverflowError, orjson.JSONDecodeError) as exc:
        raise InvalidInput("the cursor is not one this server gave out", {"cursor": "is not valid"}) from exc
    if key.sort is not sort or key.created_at.tzinfo is None:
        raise InvalidInput(
            "the cursor belongs to another sort order", {"cursor": f"was made for sort={key.sort.value}"}
        )
    return key

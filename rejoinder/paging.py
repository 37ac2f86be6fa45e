"""Opaque cursors for pages of top-level comments."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

import orjson

from rejoinder.errors import InvalidInput
from rejoinder.model import Comment, PageKey, SortOrder


def encode_cursor(sort: SortOrder, last: Comment) -> str:
    raw = orjson.dumps([sort.value, last.likes, last.created_at.isoformat(), last.id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: SortOrder) -> PageKey:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        sort_name, likes, created, comment_id = orjson.loads(raw)
        key = PageKey(SortOrder(sort_name), datetime.fromisoformat(created), int(comment_id), int(likes))
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise InvalidInput("the cursor is not one this server gave out", {"cursor": "is not valid"}) from exc
    if key.sort is not sort or key.created_at.tzinfo is None:
        raise InvalidInput(
            "the cursor belongs to another sort order", {"cursor": f"was made for sort={key.sort.value}"}
        )
    return key

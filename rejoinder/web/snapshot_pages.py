"""A thread's page cut from the snapshot memory holds, made into the answer the read cache keeps.

The route (``web/api.py``) and the reads answered before it (``web/fastreads.py``) both build a page this
way, so the two send the same bytes under the same ETag whichever of them rebuilds a page after a write.
"""

from __future__ import annotations

from rejoinder import threads
from rejoinder.cache import CachedResponse, ThreadKey
from rejoinder.context import Context
from rejoinder.model import SortOrder
from rejoinder.web.page_parts import PageParts


def page_from_snapshot(
    ctx: Context,
    parts: PageParts,
    variant: bytes,
    key: ThreadKey,
    sort: SortOrder,
    limit: int,
    cursor: str | None,
) -> CachedResponse | None:
    """The page's answer, kept under ``variant`` (the request's query), or None when memory holds no
    snapshot of the thread. No I/O. Raises what ``threads.page_in_memory`` raises for a bad query."""
    # Read before the snapshot: a write landing in between leaves the page unkept (``ReadCache.put``).
    generation = ctx.cache.generation(key)
    # Only a page rebuilt after a write is patched from the one before and joined from kept fragments; a
    # thread not written to lately is answered whole from the read cache, and keeping its parts too would
    # hold its JSON twice, and its comments beside its packed snapshot.
    keep = ctx.cache.warm(key)
    parts.forget(ctx.cache.cooled())
    cut = threads.remembered_cut(ctx, key, sort, limit, cursor)
    if cut is None:
        return None
    return ctx.cache.put(variant, key, generation, *parts.page(variant, key, cut, keep))

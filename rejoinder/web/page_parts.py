"""A thread's page made of parts, one for each top-level comment with its replies, and made again after a
write by patching the page before it: the parts the write left alone are copied from the old bytes.

With 32 writers on a popular thread nearly every read of it follows a write, and cutting the whole page
again from the snapshot (a node for each comment, each comment's fragment looked up and joined) was the
largest share of the event loop's own work beside them. A part depends only on its top-level comment, the
replies below it and the site's depth (``threads.PageCut``), and a write replaces only the snapshot objects
it changes (``snapshots.py``): a part whose top-level comment and tuple of replies are the same objects as
when the page before was made is the same bytes. So a new top-level comment costs its own part, a reply or
a like the part of its top-level comment; the thread's head and the cursor are made anew each time, and
anything that changes more (a reloaded snapshot, another depth) simply makes every part again. The bytes
are always those ``serialize.thread_page`` makes of the same page (tests/test_page_parts.py), and so is the
ETag: it is made of the parts' digests (``serialize.page_etag``), each kept with its part, so a patched page
hashes only the parts it makes, not the whole body again.
"""

from __future__ import annotations

import heapq
from array import array
from collections.abc import Hashable
from dataclasses import dataclass

from rejoinder.cache import ThreadKey
from rejoinder.model import Comment
from rejoinder.threads import PageCut
from rejoinder.tree import Node, build_tree
from rejoinder.web.serialize import (
    Fragments,
    MadePage,
    join_part,
    page_etag,
    page_head,
    page_tail,
    part_digest,
)

# Bytes a kept page's layout costs besides its body, a top-level comment: two pointers (its comment and its
# replies, objects the snapshot holds), a 4-byte span and a 32-byte digest. Once the page is read after a
# write its body is the read cache's answer again, so this is most of what a layout holds of its own; with a
# digest object and a length object of their own it was 130.
PART_OVERHEAD = 60
LAYOUT_OVERHEAD = 300
_NO_REPLIES: tuple[Comment, ...] = ()
SPAN = "I"  # a part's length in an array of them: 4 bytes, not an int object of its own
DIGEST = 32  # bytes of a part's digest (``part_digest``, SHA-256)
NEVER = -1  # on ``PageParts``' clock: a page not known to have been made before
# Queries whose dropped layouts' last make is remembered (a few dozen bytes each): more than the layouts a
# budget holds, so that a page made again after its layout was dropped is known for it.
MAX_DROPPED = 1024


@dataclass(slots=True)
class Layout:
    """The last page made for one query: its body, where its comments start in it (``head``) and, for each
    of its top-level comments (``roots``), the tuple of replies its part was made with (``groups``) and the
    bytes the part takes with the comma after it (``spans``; 0 for a placeholder without live replies,
    which shows nothing) and the digests of the parts shown, one after another (``digests``, ``DIGEST``
    bytes each, as the ETag hashes them). A part's place follows from the spans before it, its digest's
    from the parts shown before it."""

    thread_key: ThreadKey
    max_depth: int
    body: bytes
    head: int
    roots: list[Comment]
    groups: list[tuple[Comment, ...]]
    spans: array[int]
    digests: bytes
    etag: str
    made: int = 0  # when it was made, on ``PageParts``' clock
    made_before: int = NEVER  # when the page of the same query was made the time before

    def size(self) -> int:
        return len(self.body) + PART_OVERHEAD * len(self.roots) + LAYOUT_OVERHEAD


class PageParts:
    """The layout of the last page made for each query of a thread being written to, up to ``max_bytes``
    (the bodies counted whole, though the read cache usually holds the same ones). Called on the event
    loop only.

    When the budget is full, the layout dropped is the one whose page was made the time before its last
    the longest ago (LRU-2): a page made once, or seldom, goes before one that every write and read make
    again. A layout saves about as much work as its page is long, and costs as much memory, so what it is
    worth a byte is how often its page is made again. Beside 32 writers the threads being written to took
    several times the budget, and plain LRU had the pages made once (the many threads a write or two
    reach) push out those of the most read threads, which were then made whole again and again."""

    def __init__(self, fragments: Fragments, max_bytes: int = 2 * 1024 * 1024) -> None:
        self.fragments = fragments
        self.max_bytes = max_bytes
        self._layouts: dict[Hashable, Layout] = {}
        self._size = 0
        self._clock = 0  # pages made with their layout kept
        # The kept layouts by (made_before, made): the first one current is the next to drop. A layout made
        # again leaves its old entry behind, skipped when met and swept out when they pile up.
        self._queue: list[tuple[int, int, Hashable]] = []
        # When each query whose layout was dropped had its page made last: made again, it is known as a page
        # made before, not as a new one.
        self._dropped: dict[Hashable, int] = {}
        self._by_thread: dict[ThreadKey, set[Hashable]] = {}  # the queries of each thread's kept layouts

    def forget(self, thread_keys: list[ThreadKey]) -> None:
        """Drop the layouts of these threads, whose snapshots were packed (``ReadCache.cooled``): a layout
        holds the comments it was made of, which the snapshot no longer does, and a page made of the
        unpacked comments would not be patched from it anyway."""
        for thread_key in thread_keys:
            for variant in self._by_thread.pop(thread_key, ()):
                layout = self._layouts.pop(variant)
                self._size -= layout.size()

    def page(self, variant: Hashable, thread_key: ThreadKey, cut: PageCut, keep: bool) -> MadePage:
        """The page's JSON and ETag, the same as ``thread_page`` of the page ``cut`` holds. Its layout is kept
        for the next page of ``variant`` if ``keep`` (a thread being written to), as its fragments are."""
        before = self._layouts.pop(variant, None)
        if before is not None:
            self._size -= before.size()
            self._unlisted(variant, before.thread_key)
            made_before = before.made
            if before.thread_key != thread_key or before.max_depth != cut.max_depth:
                before = None
        else:
            made_before = self._dropped.pop(variant, NEVER)
        if before is None:
            before = Layout(thread_key, cut.max_depth, b"", 0, [], [], array(SPAN), b"", "")
        layout = self._made(before, cut, keep)
        if keep:
            self._clock += 1
            layout.made, layout.made_before = self._clock, made_before
            self._layouts[variant] = layout
            self._by_thread.setdefault(thread_key, set()).add(variant)
            self._size += layout.size()
            heapq.heappush(self._queue, (made_before, self._clock, variant))
            self._fit()
        return MadePage(layout.body, layout.etag)

    def _fit(self) -> None:
        """Drop layouts, the least often made first, until the rest fit in the budget."""
        queue, layouts = self._queue, self._layouts
        while self._size > self.max_bytes and layouts:
            _, made, variant = heapq.heappop(queue)
            layout = layouts.get(variant)
            if layout is None or layout.made != made:
                continue  # the entry of a layout made again since
            del layouts[variant]
            self._size -= layout.size()
            self._unlisted(variant, layout.thread_key)
            if len(self._dropped) >= MAX_DROPPED:
                self._dropped.clear()  # cheap to learn again: a page made twice is known again
            self._dropped[variant] = made
        if len(queue) > 2 * len(layouts) + 64:
            self._queue = [(kept.made_before, kept.made, variant) for variant, kept in layouts.items()]
            heapq.heapify(self._queue)

    def _unlisted(self, variant: Hashable, thread_key: ThreadKey) -> None:
        """Take a layout no longer kept off its thread's list."""
        variants = self._by_thread.get(thread_key)
        if variants is not None:
            variants.discard(variant)
            if not variants:
                del self._by_thread[thread_key]

    def _made(self, before: Layout, cut: PageCut, keep: bool) -> Layout:
        """The page of ``cut``, each part copied from ``before`` if it is made of the same objects there."""
        thread = cut.thread
        head = page_head(thread.url, thread.title or None, thread.comment_count, thread.closed)
        page = _NewPage(before, head)
        roots, get = cut.roots, cut.replies.get
        groups = [get(root.id, _NO_REPLIES) for root in roots]
        old_roots, old_count = before.roots, len(before.roots)
        index: dict[int, int] | None = None  # the old page's top-level comments by id, once out of step
        to_make: list[int] = []  # the next parts to make, made together (a first page: all of them)
        i = j = 0  # the next part of the new page, and of the old one
        if not old_count:  # nothing to copy: every part is made
            to_make, i = list(range(len(roots))), len(roots)
        while i < len(roots):
            same = _in_step(roots, groups, i, old_roots, before.groups, j)
            if same:
                self._make(page, to_make, roots, groups, cut.max_depth, keep)
                page.copy(j, j + same)
                i += same
                j += same
                continue
            root = roots[i]
            if j < old_count and old_roots[j].id != root.id:
                # Out of step: skip the old parts no longer shown, or make a part the old page did not have.
                if index is None:
                    index = {comment.id: n for n, comment in enumerate(old_roots)}
                found = index.get(root.id, -1)
                if found > j:
                    j = found
                    continue
            elif j < old_count:
                j += 1  # the same top-level comment, changed or replied to: its part is made again
            to_make.append(i)
            i += 1
        self._make(page, to_make, roots, groups, cut.max_depth, keep)
        return page.layout(before.thread_key, cut.max_depth, roots, groups, cut.next_cursor)

    def _make(
        self,
        page: _NewPage,
        to_make: list[int],
        roots: list[Comment],
        groups: list[tuple[Comment, ...]],
        max_depth: int,
        keep: bool,
    ) -> None:
        """Adds the parts of the top-level comments ``to_make`` (positions in ``roots``, one after another)
        to the page, and empties the list. Their tree is built at once, and joined into the page's pieces
        as a page made whole is: a first page is nothing but parts to make."""
        if not to_make:
            return
        nodes = self._trees([roots[n] for n in to_make], [groups[n] for n in to_make], max_depth)
        out, spans, digests, fragments = page.out, page.spans, page.digests, self.fragments
        for node in nodes:
            if node is None:  # a placeholder without live replies shows nothing
                spans.append(0)
                continue
            if page.shown:
                out.append(b",")
            page.shown = True
            part = join_part(node, fragments, keep)
            out.append(part)
            spans.append(len(part) + 1)  # and the comma after it
            digests.append(part_digest(part))
        to_make.clear()

    def _trees(
        self, roots: list[Comment], groups: list[tuple[Comment, ...]], max_depth: int
    ) -> list[Node | None]:
        """The tree of each of ``roots`` with its replies; None for a placeholder without live replies."""
        nodes = build_tree(roots, [reply for group in groups for reply in group], max_depth)
        shown = iter(nodes)
        node = next(shown, None)
        trees: list[Node | None] = []
        for root in roots:
            if node is None or node.comment.id != root.id:
                trees.append(None)  # pruned from the tree
                continue
            trees.append(node)
            node = next(shown, None)
        return trees


def _in_step(
    roots: list[Comment],
    groups: list[tuple[Comment, ...]],
    i: int,
    old_roots: list[Comment],
    old_groups: list[tuple[Comment, ...]],
    j: int,
) -> int:
    """How many parts from ``i`` on are made of the same comments as the old page's from ``j`` on.

    Compared a stretch at a time (in C: lists compare their items by identity first), halving it until the
    first difference is found, so that a page a write changed in one place costs a few comparisons of lists
    rather than a Python loop over every top-level comment. A comment equal to the old one field for field
    (say, a snapshot reloaded unchanged) makes the same part too."""
    size = min(len(roots) - i, len(old_roots) - j)
    if size <= 0:
        return 0
    if roots[i : i + size] == old_roots[j : j + size] and groups[i : i + size] == old_groups[j : j + size]:
        return size
    same, differs = 0, size  # the first ``same`` parts are in step, the first ``differs`` are not
    while differs - same > 1:
        middle = (same + differs) // 2
        a, b = i + same, j + same
        n = middle - same
        if roots[a : a + n] == old_roots[b : b + n] and groups[a : a + n] == old_groups[b : b + n]:
            same = middle
        else:
            differs = middle
    return same


class _NewPage:
    """The body being made, in pieces, and the span of each part in it."""

    def __init__(self, before: Layout, head: bytes) -> None:
        self.before = before
        self.old = memoryview(before.body)
        self.head_bytes = head
        self.out: list[bytes | memoryview] = [head]  # what the body is joined from
        self.head = len(head)
        self.shown = False
        self.spans = array(SPAN)
        self.digests: list[bytes] = []  # the shown parts' digests, in pieces

    def copy(self, first: int, end: int) -> None:
        """The old page's parts ``first`` to ``end`` (excluded), which lie there one after another with a
        comma between each two shown, copied as one piece."""
        spans = self.before.spans
        self.spans += spans[first:end]
        shown_before = first - spans[:first].count(0)
        shown = end - first - spans[first:end].count(0)
        self.digests.append(self.before.digests[DIGEST * shown_before : DIGEST * (shown_before + shown)])
        start = self.before.head + sum(spans[:first])
        length = sum(spans[first:end]) - 1  # without the comma after the last
        if length > 0:
            if self.shown:
                self.out.append(b",")
            self.out.append(self.old[start : start + length])
            self.shown = True

    def layout(
        self,
        thread_key: ThreadKey,
        max_depth: int,
        roots: list[Comment],
        groups: list[tuple[Comment, ...]],
        next_cursor: str | None,
    ) -> Layout:
        tail = page_tail(next_cursor)
        self.out.append(tail)
        body = b"".join(self.out)
        digests = b"".join(self.digests)
        etag = page_etag(self.head_bytes, digests, tail)
        return Layout(thread_key, max_depth, body, self.head, roots, groups, self.spans, digests, etag)

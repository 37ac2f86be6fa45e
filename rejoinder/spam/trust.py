"""Trust: a commenter whose earlier comments moderators approved passes more easily, and the reverse."""

from __future__ import annotations

from rejoinder.spam.verdict import Evidence


def judge(approved: int, spammed: int) -> list[Evidence]:
    found: list[Evidence] = []
    if approved:
        weight = -(1.5 + 0.5 * min(approved - 1, 4))
        earlier = "1 earlier comment" if approved == 1 else f"{approved} earlier comments"
        found.append(Evidence("trust", weight, f"{earlier} by the same author approved"))
    if spammed:
        weight = min(2.0 + spammed - 1, 5.0)
        earlier = "1 earlier comment" if spammed == 1 else f"{spammed} earlier comments"
        found.append(Evidence("trust", weight, f"{earlier} by the same author marked as spam"))
    return found

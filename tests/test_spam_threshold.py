"""The spam threshold a site learns from its decisions: where it cuts, what it never exceeds, and when it
does not speak yet."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rejoinder.spam.threshold import Learned, learn

FLOOR, CEILING = 0.5, 0.995


def decisions(ham: list[float], spam: list[float]) -> list[tuple[float, bool]]:
    return [(s, False) for s in ham] + [(s, True) for s in spam]


def test_too_few_decisions_of_either_kind_teach_nothing() -> None:
    assert learn(decisions([0.1] * 49, [0.8] * 200), floor=FLOOR, ceiling=CEILING) is None
    assert learn(decisions([0.1] * 200, [0.8] * 19), floor=FLOOR, ceiling=CEILING) is None


def test_separated_decisions_put_the_cut_halfway_between_the_kinds() -> None:
    ham = [0.05 + i * 0.005 for i in range(60)]  # up to 0.345
    spam = [0.75 + i * 0.004 for i in range(60)]
    learned = learn(decisions(ham, spam), floor=0.2, ceiling=CEILING)
    assert learned == Learned(pytest.approx((0.345 + 0.75) / 2), 120, 60)


def test_the_cut_stays_between_the_hold_and_discard_thresholds() -> None:
    low = decisions([0.01] * 60, [0.02] * 60)
    assert learn(low, floor=FLOOR, ceiling=CEILING) == Learned(FLOOR, 120, 60)
    high = decisions([0.9990] * 60, [0.9999] * 60)
    assert learn(high, floor=FLOOR, ceiling=CEILING) == Learned(CEILING, 120, 60)


def test_ham_scored_above_all_spam_keeps_the_cut_above_it() -> None:
    ham = [0.2] * 59 + [0.93]
    learned = learn(decisions(ham, [0.8] * 60), floor=FLOOR, ceiling=CEILING, max_fpr=0.01)
    assert learned is not None and learned.threshold == pytest.approx((0.93 + 1) / 2)


def test_a_few_ham_among_the_spam_may_go_up_to_the_share_allowed() -> None:
    ham = [0.1] * 196 + [0.7, 0.72, 0.74, 0.76]  # 4 of 200 ham (2 %) score among the spam
    spam = [0.65 + i * 0.003 for i in range(100)]
    strict = learn(decisions(ham, spam), floor=FLOOR, ceiling=CEILING, max_fpr=0.0)
    loose = learn(decisions(ham, spam), floor=FLOOR, ceiling=CEILING, max_fpr=0.02)
    assert strict is not None and loose is not None
    assert strict.threshold > 0.76 > 0.65 > loose.threshold > 0.1


scores = st.floats(0.0, 1.0, allow_nan=False)


@given(
    st.lists(scores, min_size=50, max_size=300),
    st.lists(scores, min_size=50, max_size=300),
    st.sampled_from([0.0, 0.01, 0.015, 0.05]),
)
def test_the_learned_cut_never_sends_more_decided_ham_to_spam_than_allowed(
    ham: list[float], spam: list[float], max_fpr: float
) -> None:
    learned = learn(decisions(ham, spam), floor=FLOOR, ceiling=CEILING, max_fpr=max_fpr)
    assert learned is not None
    assert FLOOR <= learned.threshold <= CEILING
    flagged_ham = sum(score >= learned.threshold for score in ham)
    # Only the ceiling (the discard threshold, which the owner sets) may flag more.
    assert flagged_ham <= max_fpr * len(ham) or learned.threshold == CEILING


def test_weak_ham_alone_cannot_lower_the_threshold_below_the_owners() -> None:
    # Moderators who only mark spam: the ham side is comments that stood, all scored under the hold
    # threshold (they were published), so nothing shows how much ham lies between 0.5 and 0.9.
    weak = [(0.05 + i * 0.004, False, True) for i in range(100)]
    spam = [(0.55 + i * 0.004, True, False) for i in range(100)]
    alone = learn(weak + spam, floor=FLOOR, ceiling=CEILING)
    assert alone is not None and alone.threshold < 0.55  # what the rule gives without the owner's
    guarded = learn(weak + spam, floor=FLOOR, ceiling=CEILING, owner=0.9)
    assert guarded is not None and guarded.threshold == pytest.approx(0.9)
    # Approved comments measure the band: with enough of them the threshold may fall again.
    approved = [(0.3, False, False)] * 20
    enough = learn(weak + spam + approved, floor=FLOOR, ceiling=CEILING, owner=0.9)
    too_few = learn(weak + spam + approved[:19], floor=FLOOR, ceiling=CEILING, owner=0.9)
    assert enough is not None and enough.threshold < 0.55
    assert too_few is not None and too_few.threshold == 0.9
    # Rising above the owner's threshold stays possible: ham scored high keeps it high.
    high = [(0.96, False, True)] * 5 + [(0.97, False, False)] * 2
    risen = learn(weak + spam + high, floor=FLOOR, ceiling=CEILING, owner=0.9, max_fpr=0.0)
    assert risen is not None and risen.threshold > 0.97

"""Each spam signal on its own, and the scorer that combines them: pure functions, no database."""

from __future__ import annotations

import base64
import json
import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import altcha
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rejoinder.model import Author, SiteSettings
from rejoinder.ratelimits import RateLimits
from rejoinder.spam import duplicates, honeypot, links, lists, pow, trust
from rejoinder.spam.duplicates import DuplicateIndex, Seen
from rejoinder.spam.formtoken import MAX_AGE_SECONDS, FormTokens, replayed
from rejoinder.spam.submission import Submission
from rejoinder.spam.verdict import Action, Evidence, Thresholds, Verdict, combine

SEVERITY = [Action.PUBLISH, Action.HOLD, Action.SPAM, Action.DISCARD]
LONG_TEXT = (
    "Tide pools are small worlds of their own: anemones, hermit crabs and periwinkles all wait "
    "for the sea to come back twice a day, and a patient visitor sees them feed."
)


def solved_payload(challenge: dict[str, Any], **override: Any) -> str:
    """What the ALTCHA widget sends back: the base64 JSON of the challenge with the number found."""
    solution = altcha.solve_challenge_v1(
        challenge["challenge"], challenge["salt"], challenge["algorithm"], challenge["maxnumber"]
    )
    assert solution is not None
    fields = {
        "algorithm": challenge["algorithm"],
        "challenge": challenge["challenge"],
        "number": solution.number,
        "salt": challenge["salt"],
        "signature": challenge["signature"],
        **override,
    }
    return base64.b64encode(json.dumps(fields).encode()).decode()


def rules(**settings: Any) -> SiteSettings:
    return SiteSettings(max_depth=5, edit_window_seconds=900, **settings)


def reasons(evidence: list[Evidence]) -> list[str]:
    return [e.reason for e in evidence]


# -- honeypot


def test_an_empty_honeypot_says_nothing() -> None:
    assert honeypot.judge("") == []
    assert honeypot.judge("  \n") == []


def test_a_filled_honeypot_is_enough_to_discard_on_its_own() -> None:
    found = honeypot.judge("https://cheap-pills.example")
    assert reasons(found) == ["filled in a form field that is hidden from people"]
    assert combine(0.0, found, Thresholds()).action is Action.DISCARD


# -- form tokens

ISSUED = 1_800_000_000.0


@pytest.fixture
def tokens() -> FormTokens:
    return FormTokens("test-secret")


def test_no_form_token_means_the_form_was_never_loaded(tokens: FormTokens) -> None:
    for missing in (None, ""):
        check = tokens.check(missing, "guarded", 3.0, ISSUED)
        assert reasons(check.evidence) == ["sent without loading the comment form"]
        assert check.digest is None  # nothing to mark as used


def test_a_forged_form_token_is_caught(tokens: FormTokens) -> None:
    forged = FormTokens("someone-elses-secret").issue("guarded", ISSUED)
    for token in (forged, "garbage", tokens.issue("guarded", ISSUED)[:-3] + "AAA"):
        check = tokens.check(token, "guarded", 3.0, ISSUED + 60)
        assert reasons(check.evidence) == ["sent with a forged form token"]


def test_a_post_in_the_same_millisecond_as_its_form_is_not_before_it(tokens: FormTokens) -> None:
    # Issued at .0006 s, a token rounded to the nearest millisecond said .001: a post at .0008 came "before"
    # the form, and a site asking no minimum time still saw a fast post.
    for now in (ISSUED + 0.0006, ISSUED + 0.0999, ISSUED + 0.9995):
        check = tokens.check(tokens.issue("guarded", now), "guarded", 0, now + 0.0002)
        assert check.evidence == []
        assert check.issued_at is not None and check.issued_at <= now


def test_a_form_token_of_another_site_is_caught(tokens: FormTokens) -> None:
    check = tokens.check(tokens.issue("elsewhere", ISSUED), "guarded", 3.0, ISSUED + 60)
    assert reasons(check.evidence) == ["sent with a form token of another site"]
    assert check.digest is not None


def test_a_form_sent_too_fast_says_how_fast(tokens: FormTokens) -> None:
    token = tokens.issue("guarded", ISSUED)
    quick = tokens.check(token, "guarded", 3.0, ISSUED + 1.4)
    assert reasons(quick.evidence) == ["posted 1.4 s after the form was shown"]
    instant = tokens.check(token, "guarded", 3.0, ISSUED + 0.2)
    assert reasons(instant.evidence) == ["posted 0.2 s after the form was shown"]
    # A fraction of the minimum is a program; most of it may be a person pasting a short reply.
    assert instant.evidence[0].weight > quick.evidence[0].weight > 0
    assert quick.issued_at == instant.issued_at == ISSUED


def test_a_clock_behind_the_issuer_never_reports_negative_seconds(tokens: FormTokens) -> None:
    check = tokens.check(tokens.issue("guarded", ISSUED), "guarded", 3.0, ISSUED - 5)
    assert reasons(check.evidence) == ["posted 0.0 s after the form was shown"]


def test_an_expired_form_token_counts_a_little(tokens: FormTokens) -> None:
    check = tokens.check(tokens.issue("guarded", ISSUED), "guarded", 3.0, ISSUED + MAX_AGE_SECONDS + 1)
    assert reasons(check.evidence) == ["sent with an expired form token"]
    missing = tokens.check(None, "guarded", 3.0, ISSUED).evidence[0]
    assert 0 < check.evidence[0].weight < missing.weight  # a tab left open is no bot skipping the form


def test_a_form_token_used_as_meant_says_nothing(tokens: FormTokens) -> None:
    token = tokens.issue("guarded", ISSUED)
    check = tokens.check(token, "guarded", 3.0, ISSUED + 45)
    assert check.evidence == []
    assert check.issued_at == ISSUED
    assert check.digest == tokens.check(token, "guarded", 3.0, ISSUED + 50).digest  # the replay key
    assert check.digest != tokens.check(tokens.issue("guarded", ISSUED), "guarded", 3.0, ISSUED + 45).digest


def test_a_replayed_token_weighs_more_than_a_missing_one(tokens: FormTokens) -> None:
    missing = tokens.check(None, "guarded", 3.0, ISSUED).evidence[0]
    assert replayed().weight > missing.weight
    assert replayed().reason == "sent with a form token that was used before"


# -- proof of work

KEY = "pow-test-key"


@pytest.fixture(scope="module")
def solved() -> str:
    return solved_payload(pow.challenge(KEY))


def test_a_solved_challenge_verifies_with_its_level(solved: str) -> None:
    digest = pow.verify(solved, KEY)
    assert digest is not None and len(digest) == 64
    assert pow.verify(solved, KEY) == digest  # the same payload, the same single-use key
    assert pow.verify_level(solved, KEY) == (digest, 0)
    assert not hasattr(pow, "solved")  # a solution is a cost paid, never evidence of innocence


def test_a_harder_level_is_signed_into_the_challenge() -> None:
    challenge = pow.challenge(KEY, level=2)
    assert challenge["maxnumber"] == pow.BASE_NUMBER * 4 and "d=2" in challenge["salt"]
    solved = solved_payload(challenge)
    assert pow.verify_level(solved, KEY) == (pow.verify(solved, KEY), 2)
    claimed = solved_payload(challenge, salt=challenge["salt"].replace("d=2", "d=6"))
    assert pow.verify_level(claimed, KEY) is None  # the level is covered by the signature


def test_the_level_grows_with_doubt_and_with_the_addresss_volume() -> None:
    assert [pow.doubt(p, 0.5, 0.9) for p in (0.1, 0.55, 0.8, 0.95)] == [0, 1, 2, pow.MAX_DOUBT]
    assert pow.required_level(0, 1) == 0
    assert pow.required_level(1, 1) == 1 and pow.required_level(3, 1) == 3
    assert pow.volume_level(pow.FREE_PER_HOUR) == 0
    levels = [pow.volume_level(n) for n in (5, 8, 16, 32, 64, 10_000)]
    assert levels == sorted(levels) and levels[0] == 1 and levels[-1] == pow.MAX_LEVEL
    assert pow.required_level(pow.MAX_DOUBT, 10_000) == pow.MAX_LEVEL


def test_a_solution_for_another_key_is_refused(solved: str) -> None:
    assert pow.verify(solved, "another-key") is None


def test_an_expired_challenge_is_refused() -> None:
    old = pow.challenge(KEY, now=datetime.now(UTC) - pow.LIFETIME - timedelta(minutes=1))
    assert pow.verify(solved_payload(old), KEY) is None


def test_a_wrong_number_is_refused() -> None:
    challenge = pow.challenge(KEY)
    right = json.loads(base64.b64decode(solved_payload(challenge)))
    assert pow.verify(solved_payload(challenge, number=right["number"] + 1), KEY) is None


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "",
        "not base64 at all!",
        base64.b64encode(b"null").decode(),
        base64.b64encode(b"[1, 2]").decode(),
        base64.b64encode(b'{"algorithm": "MD5"}').decode(),
        base64.b64encode(b"\xff\xfe").decode(),
        "A" * 2001,
    ],
)
def test_garbage_is_not_a_solution(payload: str | None) -> None:
    assert pow.verify(payload, KEY) is None


# -- links


def test_links_are_counted_and_more_of_them_weigh_more() -> None:
    # One link is what readers give (documentation, a bug report): no evidence on its own.
    assert links.judge("see https://tide.example/pools", "", marked={}) == []
    two = links.judge("see https://a.example/x and http://b.example", "", marked={})
    three = links.judge(
        "see https://a.example/x, http://b.example and www.c.example/y", "", marked={}
    )
    assert reasons(two) == ["2 links"] and reasons(three) == ["3 links"]
    assert three[0].weight > two[0].weight > 0
    many = links.judge(" ".join(f"https://s{i}.example" for i in range(40)), "", marked={})
    assert reasons(many) == ["40 links"] and many[0].weight <= 3.0  # capped
    assert links.judge("no links here, just words.", "", marked={}) == []


def test_bare_domains_count_as_links() -> None:
    text = "Cheap watches at Cheap-Watches.com or WWW.Replica.ORG/deals today"
    assert links.link_count(text) == 2
    assert links.domains_in(text) == ["cheap-watches.com", "replica.org"]


def test_domains_come_from_the_text_the_website_and_the_email() -> None:
    text = "read https://www.Tide.example/a and https://tide.example/b"
    found = links.domains_in(text, "https://ada.example/", "ada@Mail.example")
    assert found == ["tide.example", "ada.example", "mail.example"]


def test_a_link_through_a_shortener_is_suspect() -> None:
    found = links.judge("click https://bit.ly/3xYz now", "", marked={})
    assert "links through a URL shortener (bit.ly)" in reasons(found)
    bare = links.judge("click tinyurl.com/abc now", "", marked={})
    assert "links through a URL shortener (tinyurl.com)" in reasons(bare)
    website = links.judge("a nice post", "https://t.co/abc", marked={})
    assert reasons(website) == ["links through a URL shortener (t.co)"]


def test_a_domain_moderators_marked_as_spam_before_is_suspect() -> None:
    text = "great deals on https://www.pills.example/buy"
    once = links.judge(text, "", marked={"pills.example": (1, 0)})
    often = links.judge(text, "", marked={"pills.example": (5, 1)})
    assert "links to pills.example, marked as spam once before" in reasons(once)
    assert "links to pills.example, marked as spam 5 times before" in reasons(often)
    assert max(e.weight for e in often) > max(e.weight for e in once)
    # Approved more often than spammed, or not linked at all: nothing to say.
    assert links.judge(text, "", marked={"pills.example": (1, 4)}) == []
    assert links.judge(text, "", marked={"other.example": (9, 0)}) == []


def test_a_website_alone_is_no_evidence() -> None:
    # Bloggers give their own site when they comment; what it says is judged with the text (blogspam).
    assert links.judge("hello", "https://ada.example", marked={}) == []


def test_an_html_link_written_three_times_is_one_link() -> None:
    html = '<a href="https://gist.example/abc" title="https://gist.example/abc">https://gist.example/abc</a>'
    assert links.link_count(html) == 1


def test_a_link_shown_cut_short_is_the_same_link() -> None:
    # Disqus writes a long address's text cut short: href, title and text are still one link.
    long = "https://code.example/owner/project/blob/main/docs/setup.md"
    html = f'<a href="{long}" title="{long}">https://code.example/owner/pro...</a>'
    assert links.link_count(html) == 1
    assert links.link_count(html.replace("pro...", "pro…")) == 1
    # A cut-short address that is the start of no other link in the text is still a link.
    assert links.link_count("see https://code.example/owner/pro... and https://other.example") == 2


def test_a_bare_host_keeps_its_subdomains() -> None:
    html = '<a href="http://assets.example.com" title="assets.example.com">assets.example.com</a>'
    assert links.link_count(html) == 1
    assert links.domains_in("files on f002.backblazeb2.com") == ["f002.backblazeb2.com"]


# -- duplicates


def test_a_fingerprint_is_stable_and_ignores_case_spacing_and_punctuation() -> None:
    fp = duplicates.fingerprint(LONG_TEXT)
    assert fp is not None and -(2**63) <= fp < 2**63  # fits a signed BIGINT
    assert duplicates.fingerprint(LONG_TEXT) == fp
    shouted = LONG_TEXT.upper().replace(",", " ,  ").replace(":", "!!")
    assert duplicates.fingerprint(shouted) == fp


def test_short_texts_have_no_fingerprint() -> None:
    assert duplicates.fingerprint("Thanks, great post!") is None
    assert duplicates.fingerprint("one two three four five six seven") is None
    assert duplicates.fingerprint("one two three four five six seven eight") is not None


def test_different_texts_are_far_apart() -> None:
    other = (
        "The council meets on Tuesday to decide about the new cycle lanes along the harbour road, "
        "and residents may speak for three minutes each before the vote is taken."
    )
    a, b = duplicates.fingerprint(LONG_TEXT), duplicates.fingerprint(other)
    assert a is not None and b is not None
    index = DuplicateIndex()
    index.add(Seen(a, 1, 10, False))
    assert index.near(b) == []
    assert [s.comment_id for s in index.near(a)] == [1]


@settings(max_examples=150, deadline=None, database=None)
@given(
    st.integers(-(2**63), 2**63 - 1),
    st.sets(st.integers(0, 63), max_size=duplicates.MAX_DISTANCE),
    st.sets(st.integers(0, 63), min_size=duplicates.MAX_DISTANCE + 1, max_size=12),
)
def test_near_duplicates_are_found_within_three_bits_and_not_beyond(
    fp: int, close_bits: set[int], far_bits: set[int]
) -> None:
    def flip(value: int, bits: set[int]) -> int:
        unsigned = (value & (2**64 - 1)) ^ sum(1 << b for b in bits)
        return unsigned - 2**64 if unsigned >= 2**63 else unsigned

    index = DuplicateIndex()
    index.add(Seen(fp, 1, 10, False))
    assert [s.comment_id for s in index.near(flip(fp, close_bits))] == [1]
    assert index.near(flip(fp, far_bits)) == []


def test_the_index_forgets_the_oldest_past_its_capacity() -> None:
    index = DuplicateIndex(capacity=3)
    distinct = [0x7FFF << (16 * n) for n in range(4)]  # 30 bits apart: each is found only by itself
    for i, fp in enumerate(distinct):
        index.add(Seen(fp, i + 1, 10, False))
    assert len(index) == 3
    assert [[s.comment_id for s in index.near(fp)] for fp in distinct] == [[], [2], [3], [4]]


def test_a_moderators_mark_changes_what_a_match_says() -> None:
    fp = duplicates.fingerprint(LONG_TEXT)
    assert fp is not None
    index = DuplicateIndex()
    index.add(Seen(fp, 7, 10, False))
    assert reasons(duplicates.judge(index.near(fp), 10)) == []  # the same thread: an edit, a re-post
    assert reasons(duplicates.judge(index.near(fp), 11)) == ["the same text was posted in another thread"]
    index.mark(7, fp, spam=True)
    assert reasons(duplicates.judge(index.near(fp), 10)) == ["text resembles 1 comment marked as spam"]
    index.mark(7, fp, spam=False)
    assert duplicates.judge(index.near(fp), 10) == []


def test_the_more_threads_the_heavier() -> None:
    matches = [Seen(1, i, 100 + i, False) for i in range(5)]
    two = duplicates.judge(matches[:2], None)
    five = duplicates.judge(matches, None)
    assert reasons(two) == ["the same text was posted in 2 other threads"]
    assert reasons(five) == ["the same text was posted in 5 other threads"]
    assert five[0].weight > two[0].weight
    spammed = duplicates.judge([Seen(1, i, 100, True) for i in range(3)], 100)
    assert reasons(spammed) == ["text resembles 3 comments marked as spam"]


# -- the owner's lists


def judge_lists(settings: SiteSettings, text: str = "hello", **kw: Any) -> list[str]:
    author = Author(kw.pop("name", "Ada"), kw.pop("email", ""), kw.pop("website", ""))
    sub = Submission(text, author, remote_addr=kw.pop("remote_addr", ""))
    assert not kw
    return reasons(lists.judge(settings, sub, links.domains_in(text, author.website, author.email)))


def test_banned_words_match_whole_words_in_any_case() -> None:
    banned = rules(banned_words=("casino", "free money", "c++"))
    assert judge_lists(banned, "Best CASINO bonus") == ["contains the banned word 'CASINO'"]
    assert judge_lists(banned, "get Free Money now") == ["contains the banned word 'Free Money'"]
    assert judge_lists(banned, "written in c++, of course") == ["contains the banned word 'c++'"]
    assert judge_lists(banned, "hello", name="casino king") == ["contains the banned word 'casino'"]
    assert judge_lists(banned, "the casinos of Monaco and a freemoney scheme") == []
    assert judge_lists(rules(banned_words=("", "  ")), "anything at all") == []


def test_banned_emails_match_an_address_or_a_whole_domain() -> None:
    banned = rules(banned_emails=("Troll@Mail.example", "@spam.example"))
    hit = ["sent from a banned e-mail address"]
    assert judge_lists(banned, email="troll@mail.example") == hit
    assert judge_lists(banned, email="anyone@spam.example") == hit
    assert judge_lists(banned, email="anyone@notspam.example") == []
    assert judge_lists(banned, email="other@mail.example") == []
    assert judge_lists(banned) == []


def test_banned_addresses_match_an_address_or_a_network() -> None:
    banned = rules(banned_ips=("198.51.100.7", "203.0.113.0/24", "2001:db8::/32"))
    hit = ["sent from a banned network address"]
    for address in ("198.51.100.7", "203.0.113.200", "2001:db8::1", "2001:DB8:0:0::abcd"):
        assert judge_lists(banned, remote_addr=address) == hit, address
    for address in ("198.51.100.8", "192.0.2.1", "2001:db9::1", "", "not an address"):
        assert judge_lists(banned, remote_addr=address) == [], address


def test_a_banned_ipv4_network_also_catches_it_seen_through_a_dual_stack_socket() -> None:
    # A server listening on "::" sees IPv4 clients as IPv4-mapped IPv6 addresses.
    banned = rules(banned_ips=("203.0.113.0/24",))
    assert judge_lists(banned, remote_addr="::ffff:203.0.113.9") == ["sent from a banned network address"]


def test_banned_domains_match_the_domain_and_its_subdomains() -> None:
    banned = rules(banned_domains=("pills.example", "*.casino.example"))
    assert judge_lists(banned, "buy at https://shop.pills.example/x") == [
        "links to the banned domain shop.pills.example"
    ]
    assert judge_lists(banned, "see PILLS.example") == []  # ".example" is no TLD a bare link can have
    assert judge_lists(banned, "see https://PILLS.example") == ["links to the banned domain pills.example"]
    assert judge_lists(banned, "hi", website="https://casino.example") == [
        "links to the banned domain casino.example"
    ]
    assert judge_lists(banned, "hi", email="a@www.casino.example") == [
        "links to the banned domain www.casino.example"
    ]
    assert judge_lists(banned, "see https://notpills.example and https://pills.example.org") == []


# -- trust


def test_approved_comments_earn_trust_up_to_a_limit() -> None:
    assert trust.judge(0, 0) == []
    one, many = trust.judge(1, 0), trust.judge(50, 0)
    assert reasons(one) == ["1 earlier comment by the same author approved"]
    assert reasons(many) == ["50 earlier comments by the same author approved"]
    assert many[0].weight < one[0].weight < 0
    assert many[0].weight == trust.judge(5, 0)[0].weight  # capped: trust cannot be bought in bulk


def test_spammed_comments_cost_trust_up_to_a_limit() -> None:
    one, many = trust.judge(0, 1), trust.judge(0, 50)
    assert reasons(one) == ["1 earlier comment by the same author marked as spam"]
    assert 0 < one[0].weight < many[0].weight <= 5.0
    assert len(trust.judge(3, 2)) == 2


# -- rate limits


@pytest.mark.usefixtures("steady_rate_windows")
def test_a_limit_refuses_once_reached_and_names_the_rule() -> None:
    limits = RateLimits()
    checks = [("ip", "2/minute", "192.0.2.1")]
    assert limits.hit(1, checks) is None
    assert limits.hit(1, checks) is None
    exceeded = limits.hit(1, checks)
    assert exceeded is not None
    assert (exceeded.scope, exceeded.limit) == ("ip", "2 per 1 minute")
    assert 1 <= exceeded.retry_after <= 61
    assert limits.hit(1, [("ip", "2/minute", "192.0.2.2")]) is None  # someone else
    assert limits.hit(2, checks) is None  # another site


@pytest.mark.usefixtures("steady_rate_windows")
def test_refused_comments_are_not_counted() -> None:
    limits = RateLimits()

    def hit(ip: str) -> str | None:
        exceeded = limits.hit(1, [("ip", "2/minute", ip), ("thread", "3/minute", "/article")])
        return exceeded.scope if exceeded else None

    assert [hit("192.0.2.1") for _ in range(4)] == [None, None, "ip", "ip"]
    # Had the refused two counted against the thread, it would be full already.
    assert [hit("192.0.2.2") for _ in range(2)] == [None, "thread"]


@pytest.mark.usefixtures("steady_rate_windows")
def test_several_rules_each_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    # Ten minutes into an hour: the hour's window, counted by clock hours, then has 50 minutes left
    # whenever the test runs (a minute before the hour it would have less than a minute).
    monkeypatch.setattr(time, "time", lambda: 3600.0 * 500_000 + 600)
    limits = RateLimits()
    checks = [("identity", "5/minute;2/hour", "ada@example.org")]
    assert [limits.hit(1, checks) is None for _ in range(3)] == [True, True, False]
    exceeded = limits.hit(1, checks)
    assert exceeded is not None and exceeded.limit == "2 per 1 hour"
    assert exceeded.retry_after > 60


def test_off_and_unknown_senders_are_not_limited() -> None:
    limits = RateLimits()
    for _ in range(20):
        assert limits.hit(1, [("ip", "off", "192.0.2.1"), ("identity", "1/minute", "")]) is None


# -- combining evidence into a verdict


def test_thresholds_map_a_score_to_an_action() -> None:
    t = Thresholds(hold=0.5, spam=0.9, discard=0.995)
    assert [t.action_for(s) for s in (0.0, 0.49, 0.5, 0.89, 0.9, 0.994, 0.995, 1.0)] == [
        Action.PUBLISH,
        Action.PUBLISH,
        Action.HOLD,
        Action.HOLD,
        Action.SPAM,
        Action.SPAM,
        Action.DISCARD,
        Action.DISCARD,
    ]


def test_a_verdict_lists_its_reasons_strongest_first() -> None:
    verdict = combine(
        -2.0,
        [
            Evidence("links", 0.3, "1 link"),
            Evidence("honeypot", 9.0, "filled the honeypot"),
            Evidence("trust", -1.5, "trusted"),
            # The classifier's reason carries no weight of its own: it ranks by the base it explains.
            Evidence("classifier", 0.0, "text reads unlike spam"),
            Evidence("lists", 6.0, ""),  # counts, but says nothing
        ],
        Thresholds(),
    )
    assert verdict.reasons == ("filled the honeypot", "text reads unlike spam", "trusted", "1 link")
    assert verdict.score == pytest.approx(1 / (1 + math.exp(-(-2.0 + 0.3 + 9.0 - 1.5 + 6.0))))
    assert verdict.action is Action.DISCARD and verdict.is_spam


def test_no_evidence_leaves_the_base_rate() -> None:
    verdict = combine(0.0, [], Thresholds())
    assert verdict == Verdict(Action.HOLD, 0.5, ())
    assert not combine(-3.0, [], Thresholds()).is_spam
    assert Verdict(Action.SPAM, 0.95, ()).is_spam and not Verdict(Action.HOLD, 0.7, ()).is_spam


weights = st.floats(allow_nan=False, allow_infinity=False)
moderate_weights = st.floats(-50, 50, allow_nan=False)
evidence_lists = st.lists(st.builds(Evidence, st.sampled_from(["a", "b", "c"]), moderate_weights, st.text()))
thresholds = st.builds(
    Thresholds,
    st.floats(0.01, 1.0),
    st.floats(0.01, 1.0),
    st.floats(0.01, 1.0),
)


@settings(max_examples=150, deadline=None, database=None)
@given(weights, st.lists(st.builds(Evidence, st.just("x"), weights, st.just("why"))), thresholds)
def test_the_score_is_a_probability_whatever_the_weights(
    base: float, evidence: list[Evidence], t: Thresholds
) -> None:
    verdict = combine(base, evidence, t)
    assert 0.0 <= verdict.score <= 1.0
    assert verdict.action is t.action_for(verdict.score)


@settings(max_examples=150, deadline=None, database=None)
@given(
    moderate_weights,
    evidence_lists,
    st.floats(min_value=0.0, max_value=50, exclude_min=True),
    st.integers(min_value=0),
    thresholds,
)
def test_more_spam_evidence_never_lowers_the_score_or_the_action(
    base: float, evidence: list[Evidence], extra: float, where: int, t: Thresholds
) -> None:
    before = combine(base, evidence, t)
    position = where % (len(evidence) + 1)  # signals report in any order
    more = [*evidence[:position], Evidence("new", extra, "more"), *evidence[position:]]
    after = combine(base, more, t)
    assert after.score >= before.score
    assert SEVERITY.index(after.action) >= SEVERITY.index(before.action)


def test_a_domain_marked_as_spam_counts_against_its_subdomains_and_not_its_neighbours() -> None:
    marked = {"pills.example": (1, 0), "ok.example": (1, 3)}
    [finding] = links.judge_marks(["shop.pills.example"], marked)
    assert finding.reason == "links to pills.example, marked as spam once before"
    assert links.judge_marks(["pills.example.org", "otherpills.example", "a.ok.example"], marked) == []
    assert links.with_parents(["a.b.pills.example", "203.0.113.7"]) == [
        "a.b.pills.example",
        "b.pills.example",
        "pills.example",
        "203.0.113.7",
    ]

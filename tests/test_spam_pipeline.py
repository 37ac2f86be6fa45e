"""The spam filter end to end: what bots, floods and campaigns get through the API, what the widget's way
of posting gets, what is kept with each comment, and what moderators' decisions teach the filter."""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from rejoinder.antispam import check_submission, features_of, teach, teach_in
from rejoinder.apikeys import create_key
from rejoinder.context import Context
from rejoinder.errors import InvalidInput
from rejoinder.filterstate import SpamMemos
from rejoinder.model import Author, Site
from rejoinder.sites import create_site, get_site, site_settings, update_site
from rejoinder.spam import pow
from rejoinder.spam.model import Model
from rejoinder.spam.submission import Submission
from rejoinder.store import spam as spam_store
from rejoinder.store.comments import spam_fields
from rejoinder.store.schema import comments
from tests.conftest import SITE_ORIGIN
from tests.helpers import comment_payload, error_fields, flatten, read
from tests.test_spam_signals import SEVERITY, solved_payload

GUARDED = "guarded"
# Signals a test is not about stay out of its way: no challenge, no minimum time, no rate limits.
QUIET: dict[str, Any] = {
    "pow": "off",
    "min_submit_seconds": 0,
    "rate_limit_ip": "off",
    "rate_limit_identity": "off",
}
FRIENDLY = (
    "Thank you for writing this up. We visited the tide pools near the lighthouse last summer and "
    "the children spent an hour watching the anemones close when the waves came in."
)


@pytest.fixture
def guarded(ctx: Context) -> Callable[..., Site]:
    """Makes the site ``guarded`` with the filter on: quiet by default, any setting overridable."""

    def make(**settings: Any) -> Site:
        return create_site(ctx, GUARDED, "Guarded", [SITE_ORIGIN], **{**QUIET, **settings})

    return make


@pytest.fixture
def admin(ctx: Context) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_key(ctx, 'admin', None)}"}


async def form(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/v1/form", params={"site": GUARDED})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.json()  # type: ignore[no-any-return]


async def send(
    client: httpx.AsyncClient,
    body: str = FRIENDLY,
    *,
    shown: dict[str, Any] | None = None,
    honeypot: str = "",
    altcha: str | None = None,
    **kw: Any,
) -> httpx.Response:
    """Post to the guarded site as a form would: with the token of the form ``shown``, if any."""
    payload = comment_payload(body, site=GUARDED, **kw)
    if shown is not None:
        payload["form_token"] = shown["form_token"]
        payload["honeypot"] = honeypot
    if altcha is not None:
        payload["altcha"] = altcha
    return await client.post("/api/v1/comments", json=payload)


async def submit(client: httpx.AsyncClient, body: str = FRIENDLY, **kw: Any) -> dict[str, Any]:
    response = await send(client, body, **kw)
    assert response.status_code == 201, response.text
    return response.json()["comment"]  # type: ignore[no-any-return]


async def submit_with_form(client: httpx.AsyncClient, body: str = FRIENDLY, **kw: Any) -> dict[str, Any]:
    return await submit(client, body, shown=await form(client), **kw)


async def thread(client: httpx.AsyncClient, url: str = "https://blog.example/2026/11/tide-pools") -> Any:
    return await read(client, url, site=GUARDED)


def centre_on(
    ctx: Context, text: str, *, hold: float = 2.0, spam: float = 25.0, discard: float | None = None
) -> None:
    """Set the guarded site's thresholds this many log-odds above the filter's opinion of ``text`` alone.

    The shipped text model gets retrained now and then; this keeps each test about its own signal.
    """
    site = get_site(ctx, GUARDED)
    score = check_submission(ctx, site, Submission(text, Author("Ada"))).score  # as the tests post it
    base = math.log(score / (1 - score))
    update_site(
        ctx,
        GUARDED,
        spam_hold=sigmoid(base + hold),
        spam_spam=sigmoid(base + spam),
        spam_discard=1.0 if discard is None else sigmoid(base + discard),
    )


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def stored(ctx: Context, comment_id: int) -> Any:
    """What the filter kept with the comment: spam_action, spam_score, spam_reasons, fingerprint."""
    with ctx.db.read() as conn:
        fields = spam_fields(conn, comment_id)
    assert fields is not None
    return fields


def purge_after(ctx: Context, comment_id: int) -> datetime | None:
    query = select(comments.c.purge_after).where(comments.c.id == comment_id)
    with ctx.db.read() as conn:
        return conn.execute(query).scalar()  # type: ignore[no-any-return]


def weights(ctx: Context, site: Site) -> dict[int, float]:
    with ctx.db.read() as conn:
        return spam_store.site_weights(conn, site.id)


def assert_same_weights(a: dict[int, float], b: dict[int, float]) -> None:
    for feature in a.keys() | b.keys():
        assert a.get(feature, 0.0) == pytest.approx(b.get(feature, 0.0), abs=1e-9), feature


async def moderate(
    client: httpx.AsyncClient, comment_id: int, action: str, headers: dict[str, str]
) -> httpx.Response:
    url = f"/api/v1/comments/{comment_id}/moderate"
    return await client.post(url, json={"action": action}, headers=headers)


async def edit(client: httpx.AsyncClient, posted: dict[str, Any], body: str) -> dict[str, Any]:
    """Edit with the edit token, as the author; the comment as the author sees it afterwards."""
    auth = {"Authorization": f"Bearer {posted['edit_token']}"}
    url = f"/api/v1/comments/{posted['comment']['id']}"
    edited = await client.patch(url, json={"body": body}, headers=auth)
    assert edited.status_code == 200, edited.text
    own = await client.get(url, headers=auth)
    assert own.status_code == 200, own.text
    assert own.json() == edited.json()
    return edited.json()["comment"]  # type: ignore[no-any-return]


# -- what the form gives


async def test_the_form_gives_a_token_the_honeypot_a_challenge_and_the_settings(
    client: httpx.AsyncClient, guarded: Callable[..., Site]
) -> None:
    guarded(pow="always")
    shown = await form(client)
    assert shown["form_token"] and shown["honeypot"] == "homepage"
    assert set(shown["challenge"]) == {"algorithm", "challenge", "maxnumber", "salt", "signature"}
    assert shown["site"]["pow"] == "always" and shown["site"]["name"] == "Guarded"
    assert (await form(client))["form_token"] != shown["form_token"]  # a fresh token every time


# -- bots


async def test_a_bot_that_fills_the_honeypot_is_kept_as_spam_and_never_shown(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site]
) -> None:
    guarded(spam_retention_days=7)
    centre_on(ctx, FRIENDLY, hold=2, spam=4, discard=6)
    posted = await submit_with_form(client, honeypot="https://cheap-pills.example")
    assert posted["status"] == "spam"
    verdict = stored(ctx, posted["id"])
    assert verdict.spam_action == "discard"
    assert verdict.spam_reasons[0] == "filled in a form field that is hidden from people"
    page = await thread(client)
    assert page["comments"] == [] and page["thread"]["comment_count"] == 0
    # Discarded spam waits in the spam folder for the retention period, then it is purged.
    expected = datetime.now(UTC) + timedelta(days=7)
    purge = purge_after(ctx, posted["id"])
    assert purge is not None and abs(purge - expected) < timedelta(minutes=1)


async def test_a_form_sent_too_fast_is_held_and_says_how_fast(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site]
) -> None:
    guarded(min_submit_seconds=30)
    centre_on(ctx, FRIENDLY)
    posted = await submit_with_form(client)
    assert posted["status"] == "pending"
    reasons = stored(ctx, posted["id"]).spam_reasons
    assert any(re.fullmatch(r"posted \d+\.\d s after the form was shown", r) for r in reasons), reasons
    assert (await thread(client))["comments"] == []


async def test_a_form_token_works_once(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site]
) -> None:
    guarded()
    centre_on(ctx, FRIENDLY)
    shown = await form(client)
    first = await submit(client, shown=shown)
    assert first["status"] == "published"
    assert "sent with a form token that was used before" not in stored(ctx, first["id"]).spam_reasons
    again = await submit(client, FRIENDLY, shown=shown, url="https://blog.example/elsewhere")
    assert again["status"] == "pending"
    assert "sent with a form token that was used before" in stored(ctx, again["id"]).spam_reasons


@pytest.mark.usefixtures("steady_rate_windows")
async def test_a_flood_from_one_address_is_refused_with_the_rule_it_broke(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site]
) -> None:
    guarded(rate_limit_ip="3/minute")
    centre_on(ctx, FRIENDLY, hold=20)
    for i in range(3):
        await submit_with_form(client, email=f"p{i}@example.org")
    refused = await send(client, shown=await form(client), email="p9@example.org")
    assert error_fields(refused, 429, "rate_limited") == {"client": "allows 3 per 1 minute"}
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    # The refused comment was not stored.
    assert len(flatten((await thread(client))["comments"])) == 3


@pytest.mark.usefixtures("steady_rate_windows")
async def test_an_address_refused_for_comments_is_refused_again_at_the_door_on_that_site_only(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site]
) -> None:
    site = guarded(rate_limit_ip="2/minute")
    create_site(ctx, "other", "Other", [SITE_ORIGIN], **QUIET)
    for i in range(2):
        await submit(client, email=f"p{i}@example.org")
    refused = await send(client, email="p8@example.org")
    assert error_fields(refused, 429, "rate_limited") == {"client": "allows 2 per 1 minute"}
    assert ctx.refusals.active("203.0.113.7", "comment") is not None
    recent = ctx.spam.rate_limits.recent(site.id, "203.0.113.7")
    # Within its Retry-After, a comment to that site is refused before it is read: an empty body (422
    # otherwise) gets the same 429, and it still counts toward the address's volume (its proof-of-work).
    again = await send(client, body="", email="p9@example.org")
    assert error_fields(again, 429, "rate_limited") == {"client": "allows 2 per 1 minute"}
    assert 1 <= int(again.headers["retry-after"]) <= int(refused.headers["retry-after"])
    assert ctx.spam.rate_limits.recent(site.id, "203.0.113.7") == recent + 1
    # Another site's limits are its own, and anything that names no site is answered by the app.
    elsewhere = await client.post("/api/v1/comments", json=comment_payload(FRIENDLY, site="other"))
    assert elsewhere.status_code == 201, elsewhere.text
    assert error_fields(await client.post("/api/v1/comments", content=b"[1]"), 422, "invalid_input")


@pytest.mark.usefixtures("steady_rate_windows")
async def test_one_author_is_limited_across_addresses(
    app: Any, client: httpx.AsyncClient, guarded: Callable[..., Site]
) -> None:
    guarded(rate_limit_identity="2/minute")
    for _ in range(2):
        await submit_with_form(client)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.20", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as elsewhere:
        refused = await send(elsewhere, shown=await form(elsewhere))
    assert error_fields(refused, 429, "rate_limited") == {"author": "allows 2 per 1 minute"}


async def test_the_same_text_in_several_threads_is_a_campaign(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site]
) -> None:
    guarded()
    urls = [f"https://blog.example/2026/11/article-{i}" for i in range(4)]
    centre_on(ctx, FRIENDLY)
    posted = [
        await submit_with_form(client, FRIENDLY, url=url, email=f"fan{i}@example.org")
        for i, url in enumerate(urls)
    ]
    first, last = stored(ctx, posted[0]["id"]), stored(ctx, posted[-1]["id"])
    assert not any("the same text" in r for r in first.spam_reasons)
    assert "the same text was posted in 3 other threads" in last.spam_reasons
    assert [c["status"] for c in posted] == ["published", "published", "published", "pending"]
    assert last.spam_score > first.spam_score
    # Short replies repeat innocently: "Thanks!" under every article is no campaign.
    centre_on(ctx, "Thanks, lovely post!")
    thanks = [
        await submit_with_form(client, "Thanks, lovely post!", url=url, email=f"fan{i}@example.org")
        for i, url in enumerate(urls)
    ]
    assert not any("the same text" in r for c in thanks for r in stored(ctx, c["id"]).spam_reasons)


async def test_a_banned_domain_goes_to_spam(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site]
) -> None:
    guarded(banned_domains=["pills.example"])
    centre_on(ctx, "Nice photos!", hold=2, spam=5)
    posted = await submit_with_form(client, "Nice photos! Also see https://shop.pills.example/offer")
    assert posted["status"] == "spam"
    assert "links to the banned domain shop.pills.example" in stored(ctx, posted["id"]).spam_reasons
    # The same link as the author's website.
    website = await submit_with_form(client, "Nice photos!", website="https://pills.example")
    assert website["status"] == "spam"


async def test_an_api_client_that_skips_the_form_pays_for_it(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site]
) -> None:
    # An API client has no form token; the filter cannot tell it from a bot that skipped the form, so
    # the missing token counts against it: a little, a friendly comment still goes through. Had it been
    # borderline, the "doubtful" site would have asked it for a proof of work (see below).
    guarded(pow="doubtful")
    centre_on(ctx, FRIENDLY)
    with_form = await submit_with_form(client, email="browser@example.org")
    without = await submit(client, FRIENDLY, email="script@example.org")
    reasons = stored(ctx, without["id"]).spam_reasons
    assert "sent without loading the comment form" in reasons
    assert "sent without loading the comment form" not in stored(ctx, with_form["id"]).spam_reasons
    assert with_form["status"] == without["status"] == "published"
    assert stored(ctx, without["id"]).spam_score > stored(ctx, with_form["id"]).spam_score


# -- proof of work


async def test_pow_always_asks_every_comment_for_a_fresh_solution(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site]
) -> None:
    guarded(pow="always")
    centre_on(ctx, FRIENDLY)
    shown = await form(client)
    unsolved = await send(client, shown=shown)
    assert set(error_fields(unsolved, 422, "challenge_required")) == {"altcha"}
    solution = solved_payload(shown["challenge"])
    posted = await submit(client, shown=shown, altcha=solution)  # the refusal did not use the token up
    assert posted["status"] == "published"
    assert not any("proof-of-work" in r for r in stored(ctx, posted["id"]).spam_reasons)  # a cost, not a vote
    replayed = await send(client, "Same work, new comment.", shown=await form(client), altcha=solution)
    assert set(error_fields(replayed, 422, "challenge_required")) == {"altcha"}
    wrong_key = solved_payload({**shown["challenge"], "signature": "0" * 64})
    forged = await send(client, shown=await form(client), altcha=wrong_key)
    assert set(error_fields(forged, 422, "challenge_required")) == {"altcha"}


async def test_pow_doubtful_asks_only_a_borderline_comment(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site]
) -> None:
    # Thresholds that hold almost anything make every comment borderline, whatever the text model says.
    guarded(pow="doubtful", spam_hold=0.001, spam_spam=0.99999, spam_discard=1.0)
    shown = await form(client)
    doubtful = await send(client, shown=shown)
    assert set(error_fields(doubtful, 422, "challenge_required")) == {"altcha"}
    level = doubtful.json()["error"]["difficulty"]
    harder = (await client.get("/api/v1/form", params={"site": GUARDED, "difficulty": level})).json()
    posted = await submit(client, shown=harder, altcha=solved_payload(harder["challenge"]))
    assert posted["status"] == "pending"  # accepted, for a moderator to look at
    centre_on(ctx, FRIENDLY)
    clear = await submit_with_form(client, email="clear@example.org")
    assert clear["status"] == "published"  # not doubtful: no challenge asked


async def test_a_doubtful_comment_pays_a_harder_challenge_and_stays_held(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site]
) -> None:
    guarded(pow="doubtful")
    centre_on(ctx, FRIENDLY, hold=-0.5, spam=5.0)  # held, in the lower half of the hold band
    shown = await form(client)
    easy = await send(client, shown=shown, altcha=solved_payload(shown["challenge"]))
    assert error_fields(easy, 422, "challenge_required")["altcha"].startswith("must be a solved challenge of")
    level = easy.json()["error"]["difficulty"]
    assert level == 1
    harder = (await client.get("/api/v1/form", params={"site": GUARDED, "difficulty": level})).json()
    assert harder["challenge"]["maxnumber"] == 2 * shown["challenge"]["maxnumber"]
    posted = await submit(client, shown=harder, altcha=solved_payload(harder["challenge"]))
    assert posted["status"] == "pending"  # the work bought a hearing, not a pass


async def test_an_address_that_posts_a_lot_gets_harder_challenges(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site]
) -> None:
    guarded(pow="always")
    centre_on(ctx, FRIENDLY, hold=5.0)
    first = await form(client)
    for n in range(pow.FREE_PER_HOUR + 1):
        shown = await form(client)
        await submit(client, f"{FRIENDLY} {n}", shown=shown, altcha=solved_payload(shown["challenge"]))
    later = await form(client)
    assert later["challenge"]["maxnumber"] > first["challenge"]["maxnumber"]
    too_easy = solved_payload(first["challenge"])
    refused = await send(client, f"{FRIENDLY} again", shown=later, altcha=too_easy)
    assert "altcha" in error_fields(refused, 422, "challenge_required")


async def test_a_refusal_names_the_level_its_retry_needs(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site]
) -> None:
    # A doubtful comment from an address one comment short of a step in its volume: the refused attempt
    # counts too, so the retry is judged one comment later, past the step. Solving the level the refusal
    # names (from the form it names) is enough: no second refusal.
    site = guarded(pow="doubtful")
    centre_on(ctx, FRIENDLY, hold=-0.5, spam=5.0)  # held, in the lower half of the hold band: doubt 1
    for _ in range(pow.FREE_PER_HOUR - 1):
        ctx.spam.rate_limits.count_recent(site.id, "203.0.113.7")
    shown = await form(client)
    assert shown["challenge"]["maxnumber"] == pow.max_number(0)
    first = await send(client, shown=shown, altcha=solved_payload(shown["challenge"]))
    level = first.json()["error"]["difficulty"]
    assert level == pow.required_level(1, pow.FREE_PER_HOUR + 1) == 2
    named = (await client.get("/api/v1/form", params={"site": GUARDED, "difficulty": level})).json()
    assert first.json()["error"]["challenge"]["maxnumber"] == named["challenge"]["maxnumber"]
    posted = await submit(client, shown=named, altcha=solved_payload(named["challenge"]))
    assert posted["status"] == "pending"


async def test_a_refusal_carries_the_challenge_its_retry_solves_with_the_same_form_token(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site]
) -> None:
    # As the widget posts: the form shown a while ago, the comment doubtful. The challenge comes with the
    # refusal, and the form's token, which the refusal left unused, goes again with its solution: no
    # second form, whose token, younger than the time a reader takes, would read as a script's.
    guarded(pow="doubtful", min_submit_seconds=0.2)
    centre_on(ctx, FRIENDLY, hold=-0.5, spam=5.0)  # held, in the lower half of the hold band: doubt 1
    shown = await form(client)
    await asyncio.sleep(0.25)
    refused = await send(client, shown=shown)
    assert set(error_fields(refused, 422, "challenge_required")) == {"altcha"}
    error = refused.json()["error"]
    assert error["difficulty"] == 1
    challenge = error["challenge"]
    assert set(challenge) == {"algorithm", "challenge", "maxnumber", "salt", "signature"}
    assert challenge["maxnumber"] == pow.max_number(1)
    solution = solved_payload(challenge)
    posted = await submit(client, shown=shown, altcha=solution)
    assert posted["status"] == "pending"  # the work bought a hearing, not a pass
    reasons = stored(ctx, posted["id"]).spam_reasons
    assert not any("after the form was shown" in r or "used before" in r for r in reasons), reasons
    again = await send(client, f"{FRIENDLY} Again.", shown=await form(client), altcha=solution)
    assert set(error_fields(again, 422, "challenge_required")) == {"altcha"}  # single use, as any


async def test_the_form_refuses_a_difficulty_out_of_range(
    client: httpx.AsyncClient, guarded: Callable[..., Site]
) -> None:
    guarded(pow="always")
    response = await client.get("/api/v1/form", params={"site": GUARDED, "difficulty": pow.MAX_LEVEL + 1})
    assert "difficulty" in error_fields(response, 422, "invalid_input")


async def test_a_comment_posted_the_way_the_widget_does_is_published(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site]
) -> None:
    guarded(pow="doubtful", min_submit_seconds=0.2, rate_limit_ip="6/minute", rate_limit_identity="6/minute")
    shown = await form(client)
    assert shown["challenge"] is not None and shown["site"]["pow"] == "doubtful"
    solution = solved_payload(shown["challenge"])  # the widget solves while the reader types
    await asyncio.sleep(0.25)
    posted = await submit(client, shown=shown, altcha=solution, website="https://ada.example")
    assert posted["status"] == "published"
    verdict = stored(ctx, posted["id"])
    assert verdict.spam_action == "publish" and 0.0 <= verdict.spam_score < 0.5
    assert not any("after the form was shown" in r for r in verdict.spam_reasons)
    page = await thread(client)
    assert [c["id"] for c in page["comments"]] == [posted["id"]] and page["thread"]["comment_count"] == 1


# -- moderation


async def test_moderating_needs_an_admin_token(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site]
) -> None:
    guarded()
    centre_on(ctx, FRIENDLY, hold=20)
    posted = await submit_with_form(client)
    akismet_key = create_key(ctx, "akismet", GUARDED)
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": f"Bearer {akismet_key}"}):
        refused = await moderate(client, posted["id"], "spam", headers)
        assert set(error_fields(refused, 401, "unauthorized")) == {"Authorization"}
    assert (await thread(client))["thread"]["comment_count"] == 1


async def test_approve_publishes_a_held_comment_and_shows_the_verdict(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site], admin: dict[str, str]
) -> None:
    guarded(min_submit_seconds=30)
    centre_on(ctx, FRIENDLY)
    held = await submit_with_form(client)
    assert held["status"] == "pending"
    done = await moderate(client, held["id"], "approve", admin)
    assert done.status_code == 200, done.text
    answer = done.json()
    assert answer["comment"]["status"] == "published" and answer["learned"] is True
    kept = stored(ctx, held["id"])
    assert answer["verdict"] == {
        "action": "hold",
        "score": pytest.approx(kept.spam_score),
        "reasons": kept.spam_reasons,
    }
    page = await thread(client)
    assert [c["id"] for c in page["comments"]] == [held["id"]] and page["thread"]["comment_count"] == 1


async def test_spam_takes_a_published_comment_down_and_delete_removes_it(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site], admin: dict[str, str]
) -> None:
    guarded(spam_retention_days=10)
    centre_on(ctx, FRIENDLY, hold=20)
    kept, spammed = await submit_with_form(client), await submit_with_form(client, "A second, plainer note.")
    assert (await thread(client))["thread"]["comment_count"] == 2
    answer = (await moderate(client, spammed["id"], "spam", admin)).json()
    assert answer["comment"]["status"] == "spam" and answer["verdict"]["action"] == "publish"
    page = await thread(client)
    assert [c["id"] for c in page["comments"]] == [kept["id"]] and page["thread"]["comment_count"] == 1
    purge = purge_after(ctx, spammed["id"])  # a moderator's spam is kept like a discard, then purged
    assert purge is not None and abs(purge - (datetime.now(UTC) + timedelta(days=10))) < timedelta(minutes=1)
    deleted = await moderate(client, kept["id"], "delete", admin)
    assert deleted.status_code == 200 and deleted.json()["comment"]["status"] == "deleted"
    assert deleted.json()["learned"] is False  # deleting teaches nothing about spam
    page = await thread(client)
    assert page["comments"] == [] and page["thread"]["comment_count"] == 0
    gone = await moderate(client, kept["id"], "approve", admin)
    # Deleted by a moderator is restorable, not gone: other decisions wait for a restore.
    assert error_fields(gone, 409, "conflict") == {"action": "is deleted: restore it first"}


async def test_an_edit_that_turns_a_comment_spammy_holds_it(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site]
) -> None:
    guarded()
    centre_on(ctx, FRIENDLY)
    response = await send(client, shown=await form(client))
    posted = response.json()
    assert posted["comment"]["status"] == "published"
    spammy = "Great post! Cheap deals at https://bit.ly/x1 https://bit.ly/x2 https://tinyurl.com/x3"
    assert (await edit(client, posted, spammy))["status"] == "pending"  # the author still sees it, held
    assert "links through a URL shortener (bit.ly)" in stored(ctx, posted["comment"]["id"]).spam_reasons
    page = await thread(client)
    assert page["comments"] == [] and page["thread"]["comment_count"] == 0
    # Editing it back does not publish it again: that is a moderator's call.
    assert (await edit(client, posted, FRIENDLY))["status"] == "pending"


# -- learning

NEW_STYLE = [
    "Join the zorblax quantum fliptrade circle, my uncle doubled his savings in nine days",
    "Zorblax fliptrade members get quantum signals every morning, ask me how to join the circle",
    "My savings doubled with zorblax quantum fliptrade signals, the circle is open this week only",
    "Quantum fliptrade by zorblax: daily signals, doubled savings, join the circle while places last",
]
NEXT_OF_STYLE = "The zorblax fliptrade circle sends quantum signals daily, my savings doubled, join now"


async def test_marking_a_new_style_of_spam_teaches_the_filter(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site], admin: dict[str, str]
) -> None:
    site = guarded()
    next_of_style = Submission(NEXT_OF_STYLE, Author("Ada", "fan9@example.org"))
    before = check_submission(ctx, site, next_of_style)
    for i, text in enumerate(NEW_STYLE):
        posted = await submit_with_form(client, text, email=f"fan{i}@example.org")
        answer = (await moderate(client, posted["id"], "spam", admin)).json()
        assert answer["learned"] is True
    after = check_submission(ctx, site, next_of_style)
    assert after.score > before.score + 0.2, (before, after)
    assert SEVERITY.index(after.action) >= SEVERITY.index(before.action)
    next_one = await submit_with_form(client, NEXT_OF_STYLE, email="fan9@example.org")
    assert stored(ctx, next_one["id"]).spam_score == pytest.approx(after.score)


async def test_the_same_decision_twice_is_learned_once_and_a_changed_one_is_untaught(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site], admin: dict[str, str]
) -> None:
    site = guarded()
    posted = await submit_with_form(client, NEW_STYLE[0])
    untaught = weights(ctx, site)
    first = (await moderate(client, posted["id"], "spam", admin)).json()
    as_spam = weights(ctx, site)
    assert first["learned"] is True and as_spam != untaught
    second = (await moderate(client, posted["id"], "spam", admin)).json()
    assert second["learned"] is False
    assert weights(ctx, site) == as_spam
    # Not spam after all: the spam lesson is undone exactly, then the ham lesson learned from there.
    flipped = (await moderate(client, posted["id"], "ham", admin)).json()
    assert flipped["learned"] is True and flipped["comment"]["status"] == "published"
    sub = Submission(NEW_STYLE[0], Author("Ada", "ada@example.org"))
    expected = Model.shipped().with_site(untaught)
    expected.learn(features_of(sub), is_spam=False)
    assert_same_weights(weights(ctx, site), expected.deltas)
    # And back: the ham lesson is undone, and the state is the first spam lesson's again.
    assert (await moderate(client, posted["id"], "spam", admin)).json()["learned"] is True
    assert_same_weights(weights(ctx, site), as_spam)


async def test_a_domain_moderators_marked_as_spam_counts_against_the_next_link_to_it(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site], admin: dict[str, str]
) -> None:
    guarded()
    posted = await submit_with_form(client, "Nice. https://deals.example/a")
    await moderate(client, posted["id"], "spam", admin)
    later = await submit_with_form(client, "Interesting: https://www.deals.example/b", email="b@example.org")
    assert "links to deals.example, marked as spam once before" in stored(ctx, later["id"]).spam_reasons


# -- the whole filter is monotone in spam links

VOCABULARY = (
    "the tide pools were lovely thanks for writing great post children anemones crabs "
    "cheap pills offer click here free money casino bonus winner crypto earn daily visit"
)


@pytest.fixture
def spam_link_site(ctx: Context) -> Site:
    """A site whose moderators marked a comment linking to ``pills.example`` as spam."""
    site = create_site(ctx, GUARDED, "Guarded", [SITE_ORIGIN], **QUIET)
    teach(ctx, site, "comment:1", Submission("great pills at https://pills.example/x"), is_spam=True)
    return site


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    text=st.one_of(
        st.lists(st.sampled_from(VOCABULARY.split()), max_size=40).map(" ".join),
        st.text(max_size=200),
    )
)
@example(text="Aa Aa")  # a shop's name alone, whose finding once vanished beside a link
def test_appending_a_spam_link_never_lowers_the_evidence(
    ctx: Context, spam_link_site: Site, text: str
) -> None:
    """The signals' evidence grows with every spam link appended. (The text classifier is left out: its
    feature vectors have unit length, so more words can dilute one spammy word's share.)"""

    def evidence(body: str) -> float:
        # check_submission stores nothing, so the examples do not see each other.
        verdict = check_submission(ctx, spam_link_site, Submission(body))
        with ctx.db.read() as conn:
            base = ctx.spam_memos.site_model(conn, spam_link_site.id).log_odds(features_of(Submission(body)))
        score = min(max(verdict.score, 1e-300), 1 - 1e-16)
        return math.log(score / (1 - score)) - base

    plain = evidence(text)
    for link in ("https://shop.pills.example/buy", "https://bit.ly/3xYz"):
        assert evidence(f"{text} {link}") >= plain - 1e-6, link


def test_another_process_catches_up_on_lessons_by_reading_only_what_changed(
    ctx: Context, guarded: Callable[..., Site]
) -> None:
    site = guarded()
    other = SpamMemos()  # a second server process's filter, on the same database
    lessons = [
        ("Win a free phone, click the link in my profile", True),
        ("Thanks, the tide table helped us plan the walk", False),
        ("Cheap followers and likes, message me now", True),
    ]
    loaded: list[Model] = []
    for n, (text, spam) in enumerate(lessons):
        teach(ctx, site, f"lesson:{n}", Submission(text, Author("Reader", f"r{n}@example.org")), spam)
        with ctx.db.read() as conn:
            loaded.append(other.site_model(conn, site.id))
    # Once loaded in full, then patched with the rows each later lesson stamped with its version.
    assert len({id(m) for m in loaded}) == 3
    assert_same_weights(loaded[-1].deltas, weights(ctx, site))
    probe = features_of(Submission("Click for free followers", Author("Someone")))
    assert loaded[-1].log_odds(probe) == pytest.approx(
        Model.shipped().with_site(weights(ctx, site)).log_odds(probe)
    )
    with ctx.db.read() as conn:
        assert other.site_model(conn, site.id) is loaded[-1]  # nothing new: the same model
        assert spam_store.weights_changed_since(conn, site.id, spam_store.model_version(conn, site.id)) == {}
        changed_by_last = spam_store.weights_changed_since(
            conn, site.id, spam_store.model_version(conn, site.id) - 1
        )
    assert 0 < len(changed_by_last) < len(weights(ctx, site))


async def test_domain_marks_are_read_once_per_model_version(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site], admin: dict[str, str]
) -> None:
    site = guarded()
    posted = await submit_with_form(client, "Nice. https://deals.example/a")
    await moderate(client, posted["id"], "spam", admin)
    spam = SpamMemos()
    with ctx.db.read() as conn:
        version = spam_store.model_version(conn, site.id)
        first = spam.domain_marks(conn, site.id, version, ["deals.example", "docs.example"])
    assert first == {"deals.example": (1, 0)}
    # Asked again at the same version, nothing is read: no connection is needed.
    assert spam.domain_marks(None, site.id, version, ["docs.example", "deals.example"]) == first  # type: ignore[arg-type]
    with pytest.raises(AttributeError):  # a domain not asked about yet is read
        spam.domain_marks(None, site.id, version, ["other.example"])  # type: ignore[arg-type]
    await moderate(client, posted["id"], "ham", admin)  # the lesson is undone: a new version
    with ctx.db.read() as conn:
        later = spam.domain_marks(conn, site.id, spam_store.model_version(conn, site.id), ["deals.example"])
    assert later == {"deals.example": (0, 1)}


# -- the spam threshold a site learns from its decisions


def teach_in_write(ctx: Context, site: Site, key: str, sub: Submission, *, score: float) -> None:
    with ctx.db.write() as conn:
        assert teach_in(ctx, conn, site, key, sub, False, score=score, weak=True)


def decide(ctx: Context, site: Site, spam: int, ham: int) -> None:
    """Teach ``spam`` and ``ham`` decisions whose earlier scores put the site's learned threshold at its
    floor (the hold threshold): every spam scored above every ham, all of them near zero."""
    for n in range(spam + ham):
        is_spam = n < spam
        score = 3e-6 + n * 1e-9 if is_spam else 1e-6 + n * 1e-9
        sub = Submission(f"decided comment {n}", Author("Reader", f"d{n}@example.org"))
        teach(ctx, site, f"decided:{n}", sub, is_spam, score=score)


async def test_enough_decisions_set_the_sites_own_spam_threshold(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site]
) -> None:
    site = guarded()
    decide(ctx, site, spam=50, ham=50)
    centre_on(ctx, FRIENDLY, hold=-1.0, spam=5.0)  # held by the owner's thresholds alone
    posted = await submit(client)
    assert posted["status"] == "spam"
    reasons = stored(ctx, posted["id"]).spam_reasons
    assert any(
        re.fullmatch(r"spam from p ≥ 0\.\d\d on this site, learned from 100 moderator decisions", r)
        for r in reasons
    ), reasons
    update_site(ctx, GUARDED, spam_learn_threshold=False)
    assert (await submit(client))["status"] == "pending"


async def test_too_few_decisions_of_one_kind_leave_the_owners_threshold(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site]
) -> None:
    site = guarded()
    decide(ctx, site, spam=19, ham=60)
    centre_on(ctx, FRIENDLY, hold=-1.0, spam=5.0)
    assert (await submit(client))["status"] == "pending"


async def test_comments_that_stood_count_as_ham_toward_the_sites_threshold(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site]
) -> None:
    site = guarded()
    decide(ctx, site, spam=20, ham=0)  # moderators who only ever mark spam
    centre_on(ctx, FRIENDLY, hold=-1.0, spam=5.0)
    assert (await submit(client))["status"] == "pending"
    for n in range(50):
        sub = Submission(f"a comment that stood {n}", Author("Reader", f"s{n}@example.org"))
        teach_in_write(ctx, site, f"stood:{n}", sub, score=1e-6 + n * 1e-9)
    # The threshold is learned, but comments that stood were all published, so scored under the hold
    # threshold: they cannot vouch for one below the owner's. Twenty approved comments can.
    assert (await submit(client))["status"] == "pending"
    for n in range(20):
        sub = Submission(f"an approved comment {n}", Author("Reader", f"a{n}@example.org"))
        teach(ctx, site, f"approved:{n}", sub, False, score=2e-6 + n * 1e-9)
    assert (await submit(client))["status"] == "spam"


async def test_a_decision_keeps_the_score_the_comment_had_before_it(
    client: httpx.AsyncClient, ctx: Context, guarded: Callable[..., Site], admin: dict[str, str]
) -> None:
    site = guarded()
    centre_on(ctx, FRIENDLY, hold=-1.0, spam=5.0)
    posted = await submit(client)
    score = stored(ctx, posted["id"]).spam_score
    assert (await moderate(client, posted["id"], "spam", admin)).status_code == 200
    assert (await moderate(client, posted["id"], "ham", admin)).status_code == 200  # changed mind
    with ctx.db.read() as conn:
        assert spam_store.decision_scores(conn, site.id, 10) == [(pytest.approx(score), False, False)]


def test_the_learned_threshold_is_read_once_per_model_version(
    ctx: Context, guarded: Callable[..., Site]
) -> None:
    site = guarded()
    decide(ctx, site, spam=50, ham=50)
    rules = site_settings(ctx, get_site(ctx, GUARDED))
    spam = SpamMemos()
    with ctx.db.read() as conn:
        version = spam_store.model_version(conn, site.id)
        learned = spam.learned_threshold(conn, site.id, version, rules)
    assert learned is not None and (learned.decisions, learned.spam) == (100, 50)
    assert learned.threshold == rules.spam_hold
    assert spam.learned_threshold(None, site.id, version, rules) is learned  # type: ignore[arg-type]
    one_more = Submission("one more decided comment", Author("Reader", "late@example.org"))
    teach(ctx, site, "decided:late", one_more, True, score=0.9)  # a new version: read again
    with ctx.db.read() as conn:
        again = spam.learned_threshold(conn, site.id, spam_store.model_version(conn, site.id), rules)
    assert again is not None and again.decisions == 101


def test_the_threshold_settings_are_checked_by_name(ctx: Context, guarded: Callable[..., Site]) -> None:
    guarded()
    with pytest.raises(InvalidInput) as bad:
        update_site(ctx, GUARDED, spam_max_fpr=0.7, spam_learn_threshold="yes")
    assert bad.value.fields == {
        "spam_max_fpr": "must be a share between 0 and 0.5",
        "spam_learn_threshold": "must be true or false",
    }
    update_site(ctx, GUARDED, spam_max_fpr=0.01, spam_learn_threshold=False)
    rules = site_settings(ctx, get_site(ctx, GUARDED))
    assert (rules.spam_max_fpr, rules.spam_learn_threshold) == (0.01, False)

"""The Akismet-compatible API: every endpoint, answer and header Akismet documents, in-process on both
backends, and a real server process driven by the ``akismet`` client package from PyPI."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import akismet
import httpx
import pytest
from sqlalchemy import select

from rejoinder import apikeys
from rejoinder.apikeys import create_key, find_key
from rejoinder.context import Context
from rejoinder.settings import load_settings
from rejoinder.sites import create_site, get_site, update_site
from rejoinder.spam.verdict import Action, Verdict
from rejoinder.store.schema import spam_training
from rejoinder.web import akismet as akismet_api
from rejoinder.wiring import open_context
from tests.test_process import rejoinder, serving

BLOG = "https://blog.example"
THANKS = "Thanks for making the web a better place."
BENIGN = "Lovely write-up on the tide pools at low tide; the photo of the anemones made my morning."
SPAMMY = "Cheap replica watches and luxury replica handbags at discount prices, order from our shop today"


@pytest.fixture
def key(ctx: Context, site: str) -> str:
    return create_key(ctx, "akismet", site, "tests")


def comment(key: str, **params: str) -> dict[str, str]:
    """What a typical client sends along with a comment."""
    return {
        "api_key": key,
        "blog": BLOG,
        "user_ip": "198.51.100.23",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "referrer": "https://search.example/?q=tide+pools",
        "permalink": f"{BLOG}/2026/11/tide-pools",
        "comment_type": "comment",
        "comment_author": "Marina",
        "comment_author_email": "marina@example.org",
        "comment_content": BENIGN,
        **params,
    }


async def check(client: httpx.AsyncClient, **params: str) -> httpx.Response:
    response = await client.post("/1.1/comment-check", data=params)
    assert response.status_code == 200  # Akismet answers 200 even to refusals
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    return response


def score(response: httpx.Response) -> float:
    return float(response.headers["X-Rejoinder-Score"])


def refused(response: httpx.Response, body: str) -> str:
    """Check an Akismet-style refusal and return its debug help."""
    assert response.status_code == 200
    assert response.text == body
    assert "X-akismet-pro-tip" not in response.headers
    help_text = response.headers["X-akismet-debug-help"]
    assert help_text
    return help_text


def centre_on(
    ctx: Context, site_key: str, params: dict[str, str], *, spam: float, discard: float = 99.0
) -> None:
    """Set the site's thresholds this many log-odds above the filter's opinion of ``params`` now.

    The shipped text model gets retrained now and then; this keeps each test about what it tests.
    """
    score = akismet_api.judge(ctx, get_site(ctx, site_key), params).score
    base = math.log(score / (1 - score))
    update_site(
        ctx,
        site_key,
        spam_hold=sigmoid(base + spam / 2),
        spam_spam=sigmoid(base + spam),
        spam_discard=sigmoid(base + discard),
    )


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def trained(ctx: Context) -> list[tuple[str, bool]]:
    with ctx.db.read() as conn:
        rows = conn.execute(select(spam_training.c.item_key, spam_training.c.is_spam)).all()
    return [(row.item_key, row.is_spam) for row in rows]


def decided_scores(ctx: Context) -> list[float]:
    """The scores taught items had been given before they were decided (for the learned threshold)."""
    with ctx.db.read() as conn:
        return list(conn.execute(select(spam_training.c.score)).scalars())


# verify-key


async def test_verify_key_answers_valid_for_a_key_and_a_blog_of_its_site(
    client: httpx.AsyncClient, key: str
) -> None:
    for blog in (BLOG, f"{BLOG}/", "https://BLOG.example/2026/11/tide-pools"):
        response = await client.post("/1.1/verify-key", data={"key": key, "blog": blog})
        assert (response.status_code, response.text) == (200, "valid")
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert "X-akismet-debug-help" not in response.headers


@pytest.mark.parametrize(
    ("form", "help_text"),
    [
        (
            {"key": "0123456789abcdef0123456789abcdef", "blog": BLOG},
            "The API key is not valid on this server",
        ),
        ({"blog": BLOG}, 'Empty "key" value'),
        ({"key": "{key}"}, 'Empty "blog" value'),
        ({"key": "{key}", "blog": "blog.example"}, "The blog must be a full URL"),
        ({"key": "{key}", "blog": "https://elsewhere.example"}, "The blog is not on an allowed origin"),
    ],
)
async def test_verify_key_answers_invalid_with_the_reason_in_the_debug_header(
    client: httpx.AsyncClient, key: str, form: dict[str, str], help_text: str
) -> None:
    form = {name: value.replace("{key}", key) for name, value in form.items()}
    response = await client.post("/1.1/verify-key", data=form)
    assert refused(response, "invalid").startswith(help_text)


async def test_an_admin_token_is_no_akismet_key(client: httpx.AsyncClient, ctx: Context, site: str) -> None:
    token = create_key(ctx, "admin", None)
    response = await client.post("/1.1/verify-key", data={"key": token, "blog": BLOG})
    refused(response, "invalid")


async def test_a_site_without_allowed_origins_takes_any_blog(client: httpx.AsyncClient, ctx: Context) -> None:
    create_site(ctx, "anywhere", "No origins")
    key = create_key(ctx, "akismet", "anywhere")
    response = await client.post("/1.1/verify-key", data={"key": key, "blog": "http://intranet.example:8080"})
    assert response.text == "valid"


async def test_a_key_of_one_site_is_refused_for_another_sites_blog(
    client: httpx.AsyncClient, ctx: Context, key: str
) -> None:
    create_site(ctx, "other", "Other", ["https://other.example"])
    other_key = create_key(ctx, "akismet", "other")
    response = await check(client, **comment(other_key))  # blog.example belongs to site "test"
    refused(response, "invalid")
    assert (await check(client, **comment(key))).text == "false"


# comment-check


async def test_a_benign_comment_is_ham(client: httpx.AsyncClient, key: str) -> None:
    response = await check(client, **comment(key))
    assert response.text == "false"
    assert "X-akismet-pro-tip" not in response.headers
    assert response.headers["X-Rejoinder-Action"] == "publish"
    assert 0.0 <= score(response) < 0.5


@pytest.mark.parametrize(
    "test_author",
    [
        {"comment_author": "akismet-guaranteed-spam"},
        {"comment_author_email": "akismet-guaranteed-spam@example.com"},
    ],
)
async def test_akismets_test_author_is_always_spam(
    client: httpx.AsyncClient, key: str, test_author: dict[str, str]
) -> None:
    response = await check(client, **comment(key, **test_author))
    assert response.text == "true"
    assert response.headers["X-Rejoinder-Action"] == "spam"
    assert "X-akismet-pro-tip" not in response.headers  # spam, but not the blatant kind


async def test_the_administrator_role_is_never_spam(client: httpx.AsyncClient, key: str) -> None:
    blatant = "BUY CHEAP VIAGRA CIALIS http://pills.example http://pills.example/2 http://casino.example"
    params = comment(key, comment_content=blatant, user_role="administrator", is_test="true")
    response = await check(client, **params)
    assert response.text == "false"
    assert response.headers["X-Rejoinder-Action"] == "publish"


async def test_a_filled_in_honeypot_the_client_names_is_spam(client: httpx.AsyncClient, key: str) -> None:
    trap = comment(key, honeypot_field_name="hidden_website")
    assert (await check(client, **trap, hidden_website="")).text == "false"
    assert (await check(client, **trap, hidden_website="http://bot.example")).text == "true"


async def test_a_discard_verdict_is_spam_with_the_pro_tip(
    client: httpx.AsyncClient, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    blatant = Verdict(Action.DISCARD, 0.999, ("text reads like spam",))
    monkeypatch.setattr(akismet_api, "check_submission", lambda ctx, site, sub: blatant)
    response = await check(client, **comment(key))
    assert response.text == "true"
    assert response.headers["X-akismet-pro-tip"] == "discard"
    assert response.headers["X-Rejoinder-Action"] == "discard"
    assert score(response) == pytest.approx(0.999)


async def test_a_held_verdict_is_ham_to_akismet_clients_but_says_hold(
    client: httpx.AsyncClient, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    doubtful = Verdict(Action.HOLD, 0.6, ("first comment with a link",))
    monkeypatch.setattr(akismet_api, "check_submission", lambda ctx, site, sub: doubtful)
    response = await check(client, **comment(key))
    assert response.text == "false"
    assert response.headers["X-Rejoinder-Action"] == "hold"


async def test_the_filter_sees_akismets_parameters(
    client: httpx.AsyncClient, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Any] = []

    def spy(ctx: Context, site: Any, sub: Any) -> Verdict:
        seen.append((site.key, sub))
        return Verdict(Action.PUBLISH, 0.1, ())

    monkeypatch.setattr(akismet_api, "check_submission", spy)
    await check(client, **comment(key, comment_author_url="https://marina.example"))
    [(site_key, sub)] = seen
    assert site_key == "test"
    assert (sub.text, sub.author.name, sub.author.email, sub.author.website) == (
        BENIGN,
        "Marina",
        "marina@example.org",
        "https://marina.example",
    )
    assert sub.remote_addr == "198.51.100.23"
    assert sub.user_agent.startswith("Mozilla/5.0")
    assert sub.url == f"{BLOG}/2026/11/tide-pools"  # the referrer is accepted, and no signal reads it


@pytest.mark.parametrize(
    "api_key",
    ["", "0123456789abcdef0123456789abcdef", "not a key at all \N{SNOWMAN}"],
)
async def test_comment_check_with_a_bad_key_answers_invalid(client: httpx.AsyncClient, api_key: str) -> None:
    response = await check(client, **comment(api_key))
    refused(response, "invalid")


@pytest.mark.parametrize("missing", ["blog", "user_ip"])
async def test_a_missing_required_field_is_named(client: httpx.AsyncClient, key: str, missing: str) -> None:
    params = comment(key)
    del params[missing]
    response = await check(client, **params)
    assert refused(response, f"Missing required field: {missing}.") == f'Empty "{missing}" value'
    assert response.headers["X-akismet-error"] == f"Missing required field: {missing}."


async def test_user_ip_must_be_an_address(client: httpx.AsyncClient, key: str) -> None:
    response = await check(client, **comment(key, user_ip="localhost"))
    refused(response, "Invalid value for field: user_ip.")
    assert (await check(client, **comment(key, user_ip="2001:db8::7"))).text == "false"


async def test_the_key_may_come_as_key_or_in_the_query_string(client: httpx.AsyncClient, key: str) -> None:
    params = comment(key)
    del params["api_key"]
    assert (await check(client, **params, key=key)).text == "false"
    in_query = await client.post("/1.1/comment-check", params={"api_key": key}, data=params)
    assert in_query.text == "false"


async def test_a_json_body_is_not_read(client: httpx.AsyncClient, key: str) -> None:
    response = await client.post("/1.1/comment-check", json=comment(key))
    refused(response, "invalid")  # Akismet takes forms only: no key was sent


async def test_comment_check_wants_post(client: httpx.AsyncClient, key: str) -> None:
    response = await client.get("/1.1/comment-check", params=comment(key))
    assert response.status_code == 405


# submit-spam and submit-ham


async def test_submit_spam_teaches_the_filter_to_call_a_similar_text_spam(
    client: httpx.AsyncClient, ctx: Context, key: str, site: str
) -> None:
    params = comment(key, comment_content=SPAMMY, comment_author="Replica Shop", comment_author_email="")
    centre_on(ctx, site, params, spam=1.0)  # spam once the filter is e (2.7) times surer of it than now
    before = await check(client, **params)
    assert before.text == "false"
    for n in range(3):  # moderators reported three copies of the campaign
        variant = {**params, "comment_content": f"{SPAMMY} (offer {n})", "comment_author": f"Shop {n}"}
        response = await client.post("/1.1/submit-spam", data=variant)
        assert (response.status_code, response.text) == (200, THANKS)
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
    after = await check(client, **{**params, "comment_content": SPAMMY.replace("today", "this week")})
    assert after.text == "true"
    assert score(after) > score(before)
    assert len(trained(ctx)) == 3


async def test_submits_are_idempotent_and_ham_undoes_spam(
    client: httpx.AsyncClient, ctx: Context, key: str
) -> None:
    params = comment(key, comment_content=SPAMMY)
    unseen = score(await check(client, **params))
    for _ in range(3):
        assert (await client.post("/1.1/submit-spam", data=params)).text == THANKS
    [(item, is_spam)] = trained(ctx)
    assert item.startswith("akismet:") and is_spam
    spammy = score(await check(client, **params))
    assert (await client.post("/1.1/submit-ham", data=params)).text == THANKS
    assert trained(ctx) == [(item, False)]  # the same item, now taught as ham
    # It keeps the score it had before it was first taught, not one from a model that has learned it.
    assert decided_scores(ctx) == [pytest.approx(unseen, abs=1e-4)]  # the header has four decimals
    assert score(await check(client, **params)) < spammy
    # Only text and author make the item: another address or agent is the same item.
    again = {**params, "user_ip": "192.0.2.1", "user_agent": "curl/8"}
    assert (await client.post("/1.1/submit-ham", data=again)).text == THANKS
    assert trained(ctx) == [(item, False)]


@pytest.mark.parametrize("flag", ["1", "true", "True"])
async def test_is_test_never_trains(client: httpx.AsyncClient, ctx: Context, key: str, flag: str) -> None:
    params = comment(key, comment_content=SPAMMY, is_test=flag)
    before = score(await check(client, **params))
    for endpoint in ("/1.1/submit-spam", "/1.1/submit-ham"):
        assert (await client.post(endpoint, data=params)).text == THANKS
    assert trained(ctx) == []
    assert score(await check(client, **params)) == before


@pytest.mark.parametrize("endpoint", ["/1.1/submit-spam", "/1.1/submit-ham"])
async def test_submits_refuse_like_comment_check(
    client: httpx.AsyncClient, ctx: Context, key: str, endpoint: str
) -> None:
    refused(await client.post(endpoint, data=comment("0" * 32)), "invalid")
    no_ip = comment(key)
    del no_ip["user_ip"]
    refused(await client.post(endpoint, data=no_ip), "Missing required field: user_ip.")
    assert trained(ctx) == []


async def test_a_nul_in_a_submission_is_dropped_not_a_crash(
    client: httpx.AsyncClient, ctx: Context, key: str
) -> None:
    params = comment(key, comment_content="spam\0with a NUL", comment_author="N\0UL")
    assert (await client.post("/1.1/submit-spam", data=params)).text == THANKS
    assert (await check(client, **params)).status_code == 200
    assert len(trained(ctx)) == 1


# usage-limit


async def test_usage_limit_counts_checks_and_submissions_per_key(
    client: httpx.AsyncClient, ctx: Context, key: str, site: str
) -> None:
    other = create_key(ctx, "akismet", site)
    await client.post("/1.1/verify-key", data={"key": key, "blog": BLOG})  # not counted, as at Akismet
    await check(client, **comment(key))
    await check(client, **comment(key, comment_author="akismet-guaranteed-spam"))
    await client.post("/1.1/submit-spam", data=comment(key, is_test="1"))
    await client.post("/1.1/submit-ham", data=comment(key))
    await check(client, **comment(key, user_ip=""))  # refused: not counted
    await check(client, **comment(other))
    response = await client.get("/1.2/usage-limit", params={"api_key": key})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"limit": "none", "usage": 4, "percentage": "0.00", "throttled": False}
    posted = await client.post("/1.2/usage-limit", data={"api_key": other})
    assert posted.json()["usage"] == 1
    found = find_key(ctx, "akismet", key)
    assert found is not None and apikeys.usage(ctx, found) == 4


async def test_usage_limit_with_a_bad_key_answers_invalid(client: httpx.AsyncClient) -> None:
    refused(await client.get("/1.2/usage-limit", params={"api_key": "f" * 32}), "invalid")
    refused(await client.get("/1.2/usage-limit"), "invalid")


async def test_other_akismet_endpoints_are_not_there(client: httpx.AsyncClient, key: str) -> None:
    for path in ("/1.1/get-stats", "/1.2/key-sites", "/1.2/get-key-stats"):
        assert (await client.post(path, data={"api_key": key, "blog": BLOG})).status_code == 404


# A real server process and the `akismet` client from PyPI


class ToServer(httpx.BaseTransport):
    """Sends what the client addresses to https://rest.akismet.com to the test server instead."""

    def __init__(self, base_url: str) -> None:
        self.base = httpx.URL(base_url)
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert request.url.host == "rest.akismet.com", request.url
        request.url = request.url.copy_with(scheme=self.base.scheme, host=self.base.host, port=self.base.port)
        request.headers["Host"] = self.base.netloc.decode()
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def to_server(base_url: str) -> httpx.Client:
    """An HTTP client for the ``akismet`` package, which always addresses rest.akismet.com."""
    return httpx.Client(transport=ToServer(base_url), headers={"User-Agent": akismet.USER_AGENT}, timeout=10)


@pytest.mark.slow
def test_the_akismet_package_works_against_a_real_server(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'akismet.db'}"
    rejoinder("admin", "site", "create", "blog", "--origin", BLOG, "--database", database, cwd=tmp_path)
    issued = rejoinder("admin", "akismet-key", "create", "--site", BLOG, "--database", database, cwd=tmp_path)
    key = issued.stdout.strip()
    ip, agent = "198.51.100.23", "Mozilla/5.0 (X11; Linux x86_64)"
    campaign = {"user_agent": agent, "comment_type": "comment"}
    setup = open_context(load_settings(environ={}, overrides={"database_url": database}))
    try:  # spam one log-odds above the filter's opinion of the campaign now, discard two above
        centre_on(
            setup, "blog", {"user_ip": ip, "comment_content": SPAMMY, **campaign}, spam=1.0, discard=2.0
        )
    finally:
        setup.close()

    with serving(tmp_path, "serve", database) as server:
        config = akismet.Config(key=key, url=BLOG)
        with akismet.SyncClient(config=config, http_client=to_server(server.base_url)) as client:
            assert client.verify_key()  # entering the block verified the configured key already
            assert not client.verify_key("0" * 32, BLOG)
            assert not client.verify_key(key, "https://elsewhere.example")

            marina = {"user_agent": agent, "comment_author": "Marina", "comment_content": BENIGN}
            assert client.comment_check(ip, **marina) is akismet.CheckResponse.HAM
            test_author = {"comment_author": "akismet-guaranteed-spam", "comment_content": BENIGN}
            assert client.comment_check(ip, **test_author) is akismet.CheckResponse.SPAM
            admin = {"user_role": "administrator", "is_test": True, "comment_content": SPAMMY}
            assert client.comment_check(ip, **admin) is akismet.CheckResponse.HAM

            assert client.comment_check(ip, comment_content=SPAMMY, **campaign) is akismet.CheckResponse.HAM
            # Spam-only reports move a site's model slowly (learning that is safe with one-sided
            # decisions, docs/spam.md), but a campaign reported eight times is discarded.
            for n in range(8):
                copy = {"comment_content": f"{SPAMMY} #{n}", "comment_author": f"Shop {n}", **campaign}
                assert client.submit_spam(ip, **copy)
            reported = client.comment_check(ip, comment_content=SPAMMY, **campaign)
            assert reported is akismet.CheckResponse.DISCARD  # "true" with X-akismet-pro-tip: discard
            assert client.submit_ham(ip, **marina)

            assert client.usage_limit() == {
                "limit": "none",
                "usage": 14,
                "percentage": "0.00",
                "throttled": False,
            }

        bad = akismet.Config(key="0" * 32, url=BLOG)
        with to_server(server.base_url) as http, pytest.raises(akismet.APIKeyError):
            akismet.SyncClient.validated_client(config=bad, http_client=http)
        with to_server(server.base_url) as http, pytest.raises(akismet.APIKeyError):
            # Without verifying first, every answer to a bad key is "invalid", which the client raises on.
            akismet.SyncClient(config=bad, http_client=http).comment_check(ip, comment_content=BENIGN)

"""API keys: issued once and stored as a hash, found by kind, counted, revoked; admin tokens; the CLI."""

from __future__ import annotations

import argparse
import hashlib
import json
import string
from collections.abc import Callable

import pytest
from sqlalchemy import select

from rejoinder import apikeys
from rejoinder.apikeys import ApiKeyKind, create_key, find_key, list_keys, require_admin, revoke_key
from rejoinder.cli.apikeys import add_admin_token_parser, add_akismet_key_parser
from rejoinder.context import Context
from rejoinder.errors import InvalidInput, NotFound, RejoinderError, Unauthorized, UnknownSite
from rejoinder.settings import Settings
from rejoinder.sites import create_site
from rejoinder.store.schema import api_keys
from rejoinder.wiring import open_context


def test_an_admin_token_is_shown_once_and_only_its_hash_is_kept(ctx: Context) -> None:
    token = create_key(ctx, ApiKeyKind.ADMIN, None, label="moderation bot")
    assert len(token) >= 40 and set(token) <= set(string.ascii_letters + string.digits + "-_")
    with ctx.db.read() as conn:
        rows = conn.execute(select(api_keys)).all()
    assert len(rows) == 1
    row = rows[0]
    assert row.key_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in [str(value) for value in row]
    assert (row.kind, row.site_id, row.label, row.calls) == ("admin", None, "moderation bot", 0)


def test_an_akismet_key_is_hex_because_wordpress_strips_anything_else(ctx: Context, site: str) -> None:
    key = create_key(ctx, "akismet", site)
    assert len(key) == 32 and set(key) <= set(string.hexdigits.lower())
    found = find_key(ctx, ApiKeyKind.AKISMET, key)
    assert found is not None and found.kind is ApiKeyKind.AKISMET
    assert (found.site_key, found.label, found.calls) == (site, "", 0)
    assert apikeys.key_site(ctx, found).key == site


def test_keys_are_found_only_as_their_own_kind(ctx: Context, site: str) -> None:
    token, key = create_key(ctx, "admin", None), create_key(ctx, "akismet", site)
    assert find_key(ctx, "admin", token) is not None
    assert find_key(ctx, "akismet", token) is None
    assert find_key(ctx, "admin", key) is None
    assert find_key(ctx, "akismet", key.upper()) is None  # a key is exact, not case-folded
    assert find_key(ctx, "admin", "") is None
    assert find_key(ctx, "admin", token + "x" * 200) is None  # too long to be ours: not even looked up
    assert find_key(ctx, "admin", "nul\0byte") is None  # PostgreSQL would refuse it as a parameter


@pytest.mark.parametrize(
    ("kind", "site_key", "label", "field"),
    [
        ("admin", "test", "", "site"),
        ("akismet", None, "", "site"),
        ("akismet", "", "", "site"),
        ("root", None, "", "kind"),
        ("admin", None, "x" * 201, "label"),
        ("admin", None, "two\nlines", "label"),
    ],
)
def test_bad_requests_for_keys_name_the_field(
    ctx: Context, site: str, kind: str, site_key: str | None, label: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        create_key(ctx, kind, site_key, label)
    assert set(refused.value.fields) == {field}
    assert list_keys(ctx) == []


def test_a_key_for_an_unknown_site_is_refused(ctx: Context) -> None:
    with pytest.raises(UnknownSite):
        create_key(ctx, "akismet", "nowhere")


def test_keys_are_listed_by_kind_and_site_without_the_keys_themselves(ctx: Context, site: str) -> None:
    create_site(ctx, "other", "Other", ["https://other.example"])
    create_key(ctx, "admin", None, "ops")
    create_key(ctx, "akismet", site, "contact form")
    create_key(ctx, "akismet", "other", "forum")
    assert [(k.kind, k.site_key, k.label) for k in list_keys(ctx)] == [
        (ApiKeyKind.ADMIN, None, "ops"),
        (ApiKeyKind.AKISMET, "test", "contact form"),
        (ApiKeyKind.AKISMET, "other", "forum"),
    ]
    assert [k.label for k in list_keys(ctx, "akismet", "other")] == ["forum"]
    assert [k.label for k in list_keys(ctx, ApiKeyKind.ADMIN)] == ["ops"]


def test_a_revoked_key_stops_working_at_once_and_only_its_own_kind_is_revoked(
    ctx: Context, site: str
) -> None:
    token, key = create_key(ctx, "admin", None), create_key(ctx, "akismet", site)
    admin = find_key(ctx, "admin", token)
    akismet = find_key(ctx, "akismet", key)
    assert admin is not None and akismet is not None
    with pytest.raises(NotFound) as wrong_kind:
        revoke_key(ctx, akismet.id, "admin")  # `admin token revoke` cannot remove a site's key
    assert wrong_kind.value.fields == {"id": "is not the id of an admin key"}
    assert find_key(ctx, "akismet", key) is not None
    assert revoke_key(ctx, admin.id, "admin").id == admin.id
    assert find_key(ctx, "admin", token) is None
    with pytest.raises(NotFound):
        revoke_key(ctx, admin.id)


def test_another_process_refuses_a_revoked_key_at_once(ctx: Context, settings: Settings, site: str) -> None:
    key = create_key(ctx, "akismet", site)
    found = find_key(ctx, "akismet", key)
    assert found is not None
    other = open_context(settings)  # another server process
    try:
        revoke_key(other, found.id)
    finally:
        other.close()
    assert find_key(ctx, "akismet", key) is None


def test_calls_are_counted_per_key(ctx: Context, site: str) -> None:
    first = find_key(ctx, "akismet", create_key(ctx, "akismet", site))
    second = find_key(ctx, "akismet", create_key(ctx, "akismet", site))
    assert first is not None and second is not None
    for _ in range(3):
        apikeys.count_call(ctx, first)
    apikeys.count_call(ctx, second)
    assert (apikeys.usage(ctx, first), apikeys.usage(ctx, second)) == (3, 1)
    revoke_key(ctx, first.id)
    assert apikeys.usage(ctx, first) == 0


@pytest.mark.parametrize(
    ("header", "rule"),
    [
        (None, "must be 'Bearer <admin token>'"),
        ("", "must be 'Bearer <admin token>'"),
        ("Bearer ", "must be 'Bearer <admin token>'"),
        ("Basic dXNlcjpwYXNz", "must be 'Bearer <admin token>'"),
        ("Bearer not-a-token", "is not a valid admin token"),
    ],
)
def test_require_admin_refuses_without_a_valid_token(ctx: Context, header: str | None, rule: str) -> None:
    create_key(ctx, "admin", None)
    with pytest.raises(Unauthorized) as refused:
        require_admin(ctx, header)
    assert refused.value.status == 401
    assert refused.value.fields == {"Authorization": rule}


def test_require_admin_accepts_an_admin_token_but_not_an_akismet_key(ctx: Context, site: str) -> None:
    token, key = create_key(ctx, "admin", None, "ops"), create_key(ctx, "akismet", site)
    assert require_admin(ctx, f"Bearer {token}").label == "ops"
    assert require_admin(ctx, f"bearer   {token}  ").label == "ops"
    with pytest.raises(Unauthorized):
        require_admin(ctx, f"Bearer {key}")


def test_a_site_is_found_by_its_key_or_by_an_address_on_its_origins(ctx: Context, site: str) -> None:
    assert apikeys.find_site(ctx, site).key == site
    assert apikeys.find_site(ctx, "https://Blog.Example/2026/a-post?x=1").key == site
    assert apikeys.find_site(ctx, "https://blog.example:443").key == site
    for unknown in ("https://elsewhere.example", "nowhere", "ftp://blog.example", ""):
        with pytest.raises(UnknownSite):
            apikeys.find_site(ctx, unknown)
    create_site(ctx, "twin", "Twin", ["https://blog.example"])
    with pytest.raises(UnknownSite) as ambiguous:
        apikeys.find_site(ctx, "https://blog.example/")
    assert "several sites (test, twin)" in ambiguous.value.fields["site"]


# The command-line building blocks, mounted on a parser the way rejoinder.cli mounts them.

Run = Callable[..., str]


@pytest.fixture
def run(database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    parser = argparse.ArgumentParser(prog="rejoinder")
    admin = parser.add_subparsers(dest="command", required=True).add_parser("admin")
    admin_commands = admin.add_subparsers(dest="admin", required=True)
    add_admin_token_parser(admin_commands)
    add_akismet_key_parser(admin_commands)

    def run(*argv: str) -> str:
        args = parser.parse_args(["admin", *argv, "--database", database_url])
        args.run(args)
        return capsys.readouterr().out

    return run


def test_admin_token_issues_lists_and_revokes(ctx: Context, run: Run) -> None:
    token = run("token").strip()
    labelled = run("token", "create", "--label", "moderation bot").strip()
    assert require_admin(ctx, f"Bearer {token}").label == ""
    assert require_admin(ctx, f"Bearer {labelled}").label == "moderation bot"
    listed = [json.loads(line) for line in run("token", "list").splitlines()]
    assert [(k["kind"], k["site"], k["label"], k["calls"]) for k in listed] == [
        ("admin", None, "", 0),
        ("admin", None, "moderation bot", 0),
    ]
    assert all(token not in json.dumps(k) and labelled not in json.dumps(k) for k in listed)
    revoked = json.loads(run("token", "revoke", str(listed[0]["id"])))
    assert revoked["id"] == listed[0]["id"]
    with pytest.raises(Unauthorized):
        require_admin(ctx, f"Bearer {token}")
    assert [json.loads(line)["label"] for line in run("token", "list").splitlines()] == ["moderation bot"]


def test_akismet_key_create_takes_the_site_key_or_an_address_on_it(ctx: Context, site: str, run: Run) -> None:
    by_key = run("akismet-key", "create", "--site", site, "--label", "contact form").strip()
    by_url = run("akismet-key", "create", "--site", "https://blog.example/contact").strip()
    for key in (by_key, by_url):
        found = find_key(ctx, "akismet", key)
        assert found is not None and found.site_key == site
    listed = [json.loads(line) for line in run("akismet-key", "list", "--site", site).splitlines()]
    assert [(k["kind"], k["site"], k["label"]) for k in listed] == [
        ("akismet", site, "contact form"),
        ("akismet", site, ""),
    ]
    assert run("token", "list") == ""
    with pytest.raises(NotFound):
        run("token", "revoke", str(listed[0]["id"]))  # an Akismet key is not an admin token
    run("akismet-key", "revoke", str(listed[0]["id"]))
    assert find_key(ctx, "akismet", by_key) is None


def test_akismet_key_create_refuses_a_site_it_cannot_find(run: Run, site: str) -> None:
    with pytest.raises(RejoinderError) as refused:
        run("akismet-key", "create", "--site", "https://elsewhere.example")
    assert refused.value.fields == {"site": "is the key of no site, nor an allowed origin of one"}
    with pytest.raises(SystemExit):  # argparse: --site is required
        run("akismet-key", "create")

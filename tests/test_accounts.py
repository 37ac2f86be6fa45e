"""Moderator accounts: argon2 passwords, roles per site, TOTP with recovery codes, the CLI, the audit log."""

from __future__ import annotations

import json
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select

from rejoinder import accounts, audit
from rejoinder.audit import cli_actor
from rejoinder.cli import main
from rejoinder.context import Context
from rejoinder.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited, Unauthorized
from rejoinder.model import Role
from rejoinder.settings import Settings
from rejoinder.sites import create_site
from rejoinder.store.schema import moderators
from rejoinder.wiring import open_context
from tests.helpers import PASSWORD, make_moderator


def test_a_password_is_kept_only_as_an_argon2id_hash(ctx: Context, site: str) -> None:
    make_moderator(ctx, "Ada@Example.org", site)
    with ctx.db.read() as conn:
        row = conn.execute(select(moderators)).one()
    assert row.email == "ada@example.org"
    assert row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash
    found = accounts.check_password(ctx, "ADA@example.org", PASSWORD, "198.51.100.1")
    assert (found.email, found.roles) == ("ada@example.org", {site: Role.MODERATOR})


@pytest.mark.parametrize(
    ("email", "password"), [("ada@example.org", "wrong password!"), ("bob@example.org", PASSWORD)]
)
def test_a_wrong_pair_says_no_more_than_that(ctx: Context, site: str, email: str, password: str) -> None:
    make_moderator(ctx, "ada@example.org", site)
    with pytest.raises(Unauthorized) as refused:
        accounts.check_password(ctx, email, password, "198.51.100.1")
    assert refused.value.fields == {"password": "does not match the e-mail address"}


def test_bad_accounts_are_refused_naming_the_field(ctx: Context, site: str) -> None:
    cases = [
        (("not an address", PASSWORD, site, "moderator"), InvalidInput, "email"),
        (("ada@example.org", "short", site, "moderator"), InvalidInput, "password"),
        (("ada@example.org", PASSWORD, site, "root"), InvalidInput, "role"),
        (("ada@example.org", PASSWORD, "nowhere", "moderator"), NotFound, "site"),
    ]
    for args, error, field in cases:
        with pytest.raises(error) as refused:
            accounts.create_user(ctx, cli_actor(), *args)
        assert field in refused.value.fields
    make_moderator(ctx, "ada@example.org", site)
    with pytest.raises(Conflict):
        make_moderator(ctx, "ADA@example.org", site)


def test_logins_are_limited_per_account_and_per_address(settings: Settings) -> None:
    # Windows of a day: some thirty argon2 checks take seconds on a loaded machine, and a window that
    # ended midway (a minute's) would weigh the earlier attempts down and let one more through.
    limited_by_day = settings.model_copy(
        update={"login_rate_limit_account": "5/day", "login_rate_limit_ip": "20/day"}
    )
    ctx = open_context(limited_by_day)
    try:
        _logins_are_limited(ctx, create_site(ctx, "test", "Test blog").key)
    finally:
        ctx.close()


def _logins_are_limited(ctx: Context, site: str) -> None:
    make_moderator(ctx, "ada@example.org", site)
    limit = int(ctx.settings.login_rate_limit_account.split("/")[0])
    for attempt in range(limit):
        with pytest.raises(Unauthorized):
            accounts.check_password(
                ctx, "ada@example.org", f"guess number {attempt}", f"198.51.100.{attempt}"
            )
    with pytest.raises(RateLimited) as limited:  # even the right password, from a fresh address
        accounts.check_password(ctx, "ada@example.org", PASSWORD, "203.0.113.50")
    assert set(limited.value.fields) == {"email"}
    per_address = int(ctx.settings.login_rate_limit_ip.split("/")[0])
    for n in range(per_address):
        with pytest.raises(Unauthorized):
            accounts.check_password(ctx, f"user{n}@example.org", "whatever it is", "192.0.2.9")
    with pytest.raises(RateLimited) as limited:
        accounts.check_password(ctx, "someone@example.org", "whatever it is", "192.0.2.9")
    assert set(limited.value.fields) == {"client"}


def test_totp_codes_and_single_use_recovery_codes(ctx: Context, site: str) -> None:
    ada = make_moderator(ctx, "ada@example.org", site)
    factor = accounts.turn_on_totp(ctx, cli_actor(), ada.email)
    assert factor.uri.startswith("otpauth://totp/Rejoinder:ada%40example.org?secret=")
    ada = accounts.get_user(ctx, ada.email)
    assert ada.totp
    accounts.check_second_factor(ctx, ada, pyotp.TOTP(factor.secret).now(), "198.51.100.1")
    with pytest.raises(Unauthorized) as refused:
        accounts.check_second_factor(
            ctx, ada, "000000" if pyotp.TOTP(factor.secret).now() != "000000" else "1", "x"
        )
    assert set(refused.value.fields) == {"code"}
    code = factor.recovery_codes[0]
    accounts.check_second_factor(ctx, ada, code.upper(), "198.51.100.1")
    with pytest.raises(Unauthorized):  # used once, gone
        accounts.check_second_factor(ctx, ada, code, "198.51.100.1")
    accounts.turn_off_totp(ctx, cli_actor(), ada.email)
    assert not accounts.get_user(ctx, ada.email).totp


def test_only_an_admin_of_the_site_manages_its_moderators(ctx: Context, site: str) -> None:
    create_site(ctx, "other", "Other blog")
    admin = make_moderator(ctx, "admin@example.org", site, "admin")
    mod = make_moderator(ctx, "mod@example.org", site, "moderator")
    accounts.create_user(ctx, admin, "new@example.org", PASSWORD, site, "moderator")
    with pytest.raises(Forbidden) as refused:
        accounts.create_user(ctx, mod, "newer@example.org", PASSWORD, site, "moderator")
    assert set(refused.value.fields) == {"site"}
    with pytest.raises(Forbidden):  # an admin of one site is nobody on another
        accounts.update_user(ctx, admin, mod.email, site_key="other", role="admin")
    with pytest.raises(Forbidden):
        accounts.delete_user(ctx, mod, admin.email)
    accounts.update_user(ctx, mod, mod.email, password="a brand new password")  # one's own password
    accounts.delete_user(ctx, admin, "new@example.org")
    assert [u.email for u in accounts.list_users(ctx, site)] == ["admin@example.org", "mod@example.org"]


def test_account_changes_are_in_the_audit_log(ctx: Context, site: str) -> None:
    ada = make_moderator(ctx, "ada@example.org", site)
    accounts.update_user(ctx, cli_actor(), ada.email, site_key=site, role="admin")
    accounts.delete_user(ctx, cli_actor(), ada.email)
    entries, _ = audit.entries(ctx, cli_actor())
    entries = [e for e in entries if e.action.startswith("user.")]
    assert [(e.action, e.before, e.after) for e in reversed(entries)] == [
        ("user.create", None, {"email": "ada@example.org", "role": "moderator"}),
        (
            "user.role",
            {"email": "ada@example.org", "role": "moderator"},
            {"email": "ada@example.org", "role": "admin"},
        ),
        ("user.delete", {"email": "ada@example.org", "roles": {"test": "admin"}}, None),
    ]
    assert {e.actor for e in entries} == {cli_actor().actor} and entries[-1].actor.startswith("cli:")


def run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: str, *argv: str, stdin: str = ""
) -> str:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    main([*argv, "--database", db])
    return capsys.readouterr().out


def test_the_cli_creates_lists_updates_and_deletes_moderators(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"sqlite:///{tmp_path}/cli.db"
    run(capsys, monkeypatch, db, "admin", "site", "create", "blog")
    created = run(
        capsys, monkeypatch, db, "admin", "user", "create", "ada@example.org", "--site", "blog", "--role",
        "moderator", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert json.loads(created) == {
        "id": 1,
        "email": "ada@example.org",
        "roles": {"blog": "moderator"},
        "totp": False,
    }
    totp = run(capsys, monkeypatch, db, "admin", "user", "update", "ada@example.org", "--totp", "on")
    assert "otpauth://totp/" in totp and json.loads(totp.splitlines()[-1])["totp"] is True
    token = run(capsys, monkeypatch, db, "admin", "user", "token", "ada@example.org").split()[-1]
    assert len(token) >= 40
    listed = run(capsys, monkeypatch, db, "admin", "user", "list", "--site", "blog")
    assert [json.loads(line)["email"] for line in listed.splitlines()] == ["ada@example.org"]
    assert "deleted" in run(capsys, monkeypatch, db, "admin", "user", "delete", "ada@example.org")
    assert run(capsys, monkeypatch, db, "admin", "user", "list") == ""

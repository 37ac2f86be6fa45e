"""The presets' profile mappings: what each provider's answer becomes (the answers as the providers
document them)."""

from __future__ import annotations

from rejoinder.providers import (
    PRESETS,
    facebook_profile,
    github_profile,
    oidc_profile,
    wordpress_profile,
    x_profile,
)


def test_every_preset_names_real_endpoints() -> None:
    for key, preset in PRESETS.items():
        if key == "oidc":
            continue
        if preset.discovery:
            assert preset.discovery == "https://accounts.google.com"
            continue
        for url in (preset.authorize_url, preset.token_url, preset.profile_url):
            assert url.startswith("https://"), (key, url)
    assert PRESETS["x"].authorize_url == "https://x.com/i/oauth2/authorize"
    assert PRESETS["github"].token_url == "https://github.com/login/oauth/access_token"


def test_github_takes_the_primary_verified_address_only() -> None:
    user = {"id": 583231, "login": "octocat", "name": None, "html_url": "https://github.com/octocat",
            "avatar_url": "https://avatars.githubusercontent.com/u/583231?v=4"}  # fmt: skip
    emails = [
        {"email": "old@example.org", "primary": False, "verified": True},
        {"email": "Octo@Example.org", "primary": True, "verified": True},
    ]
    profile = github_profile(user, {"emails": emails})
    assert (profile.subject, profile.name, profile.email, profile.email_verified) == (
        "583231", "octocat", "octo@example.org", True
    )  # fmt: skip
    assert profile.profile_url == "https://github.com/octocat"
    unverified = github_profile(
        user, {"emails": [{"email": "a@example.org", "primary": True, "verified": False}]}
    )
    assert (unverified.email, unverified.email_verified) == ("", False)


def test_x_has_no_address_and_links_the_username() -> None:
    answer = {"data": {"id": "2244994945", "name": "X Dev", "username": "XDevelopers",
                       "profile_image_url": "https://pbs.twimg.com/profile_images/x_normal.jpg"}}  # fmt: skip
    profile = x_profile(answer, {})
    assert profile.subject == "2244994945" and profile.profile_url == "https://x.com/XDevelopers"
    assert profile.email == "" and not profile.email_verified


def test_facebook_wordpress_and_oidc_profiles() -> None:
    facebook = facebook_profile(
        {"id": "10", "name": "Ada L", "email": "ada@example.org",
         "picture": {"data": {"url": "https://platform-lookaside.fbsbx.com/p.jpg"}}}, {}
    )  # fmt: skip
    assert (facebook.subject, facebook.email_verified, facebook.avatar_url) == (
        "10", True, "https://platform-lookaside.fbsbx.com/p.jpg"
    )  # fmt: skip
    wordpress = wordpress_profile(
        {"ID": 42, "display_name": "Ada", "email": "ada@example.org", "email_verified": True,
         "profile_URL": "https://gravatar.com/ada", "avatar_URL": "https://0.gravatar.com/avatar/x"}, {}
    )  # fmt: skip
    assert (wordpress.subject, wordpress.profile_url, wordpress.email_verified) == (
        "42", "https://gravatar.com/ada", True
    )  # fmt: skip
    google = oidc_profile(
        {"sub": "1", "name": "Ada", "email": "ada@example.org", "email_verified": "true"}, {}
    )
    assert not google.email_verified  # only a JSON true counts
    hostile = oidc_profile({"sub": "1", "profile": "javascript:alert(1)", "picture": 5}, {})
    assert hostile.profile_url is None and hostile.avatar_url is None

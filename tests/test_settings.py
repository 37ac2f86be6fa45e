"""Settings: defaults < TOML file < ``REJOINDER_*`` environment < CLI flags, errors that name the setting,
and a settings reference in the docs that lists every setting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rejoinder.errors import ConfigurationError
from rejoinder.settings import Settings, load_settings, settings_reference

SETTINGS_DOC = Path(__file__).resolve().parents[1] / "docs" / "reference" / "settings.md"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "rejoinder.toml"
    path.write_text(
        '[rejoinder]\nport = 1111\nhost = "toml.example"\nlog_level = "debug"\nmax_body_length = 500\n'
    )
    return path


def test_without_any_source_every_setting_has_its_default() -> None:
    assert load_settings(environ={}) == Settings()
    defaults = load_settings(environ={})
    assert (defaults.host, defaults.port, defaults.trusted_proxies) == ("127.0.0.1", 8080, [])
    assert defaults.base_url == "http://127.0.0.1:8080"


def test_each_source_overrides_the_ones_below_it(config_file: Path) -> None:
    settings = load_settings(
        config_file,
        environ={"REJOINDER_PORT": "2222", "REJOINDER_HOST": "env.example"},
        overrides={"port": 3333},
    )
    assert settings.port == 3333  # CLI flag beats environment, file and default
    assert settings.host == "env.example"  # environment beats file
    assert settings.log_level == "debug"  # file beats default
    assert settings.max_body_length == 500
    assert settings.cache_max_mb == Settings().cache_max_mb  # untouched: the default


def test_a_flag_that_was_not_given_leaves_the_lower_layers_alone(config_file: Path) -> None:
    settings = load_settings(
        config_file,
        environ={"REJOINDER_PORT": "2222"},
        overrides={"port": None, "host": None, "database_url": None},
    )
    assert (settings.port, settings.host) == (2222, "toml.example")


def test_the_config_file_may_come_from_the_environment_and_use_top_level_keys(tmp_path: Path) -> None:
    path = tmp_path / "flat.toml"
    path.write_text('port = 4444\ntrusted_proxies = ["10.0.0.0/8"]\n')
    settings = load_settings(environ={"REJOINDER_CONFIG": str(path)})
    assert (settings.port, settings.trusted_proxies) == (4444, ["10.0.0.0/8"])


def test_trusted_proxies_in_the_environment_are_a_comma_list() -> None:
    settings = load_settings(environ={"REJOINDER_TRUSTED_PROXIES": " 10.0.0.0/8, 192.0.2.1 ,,2001:db8::/32"})
    assert settings.trusted_proxies == ["10.0.0.0/8", "192.0.2.1", "2001:db8::/32"]


@pytest.mark.parametrize(
    ("source", "setting", "value"),
    [
        ("environ", "port", "eighty"),
        ("environ", "max_body_length", "0"),
        ("environ", "trusted_proxies", "10.0.0.1, not-a-network"),
        ("file", "port", 70000),
        ("file", "default_max_depth", 1),
        ("file", "trusted_proxies", ["192.0.2.300"]),
        ("overrides", "log_level", "loud"),
        ("overrides", "workers", 4),
    ],
)
def test_a_bad_value_is_a_configuration_error_naming_the_setting(
    tmp_path: Path, source: str, setting: str, value: Any
) -> None:
    environ: dict[str, str] = {}
    overrides: dict[str, Any] = {}
    config = None
    if source == "environ":
        environ[f"REJOINDER_{setting.upper()}"] = value
    elif source == "file":
        config = tmp_path / "bad.toml"
        config.write_text(f"{setting} = {value!r}\n".replace("'", '"'))
    else:
        overrides[setting] = value
    with pytest.raises(ConfigurationError) as caught:
        load_settings(config, environ=environ, overrides=overrides)
    assert setting in caught.value.message


def test_an_unknown_key_in_the_file_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "typo.toml"
    path.write_text("prot = 8081\n")
    with pytest.raises(ConfigurationError, match="prot"):
        load_settings(path, environ={})


def test_a_missing_or_broken_config_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read config file"):
        load_settings(tmp_path / "absent.toml", environ={})
    broken = tmp_path / "broken.toml"
    broken.write_text("port = = 1\n")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        load_settings(broken, environ={})


def test_the_reference_lists_every_setting_with_its_environment_variable() -> None:
    reference = settings_reference()
    rows = [line for line in reference.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == list(Settings.model_fields)
    for name in Settings.model_fields:
        assert f"`REJOINDER_{name.upper()}`" in reference


def test_the_settings_doc_contains_the_generated_reference() -> None:
    """Regenerate with ``rejoinder settings-doc`` (keep the intro above the table) when this fails."""
    doc = SETTINGS_DOC.read_text(encoding="utf-8")
    assert settings_reference() in doc
    missing = [name for name in Settings.model_fields if f"| `{name}` |" not in doc]
    assert not missing, f"{SETTINGS_DOC.name} does not document {missing}"


def test_unix_is_a_trusted_proxy_but_not_a_metrics_network() -> None:
    settings = load_settings(environ={"REJOINDER_TRUSTED_PROXIES": "unix, 10.0.0.0/8"})
    assert settings.trusted_proxies == ["unix", "10.0.0.0/8"]
    with pytest.raises(ConfigurationError, match="metrics_allow: .*'unix' is not an IP address"):
        load_settings(environ={"REJOINDER_METRICS_ALLOW": "unix"})


def test_a_unix_socket_without_unix_in_trusted_proxies_refuses_to_start() -> None:
    with pytest.raises(ConfigurationError, match="trusted_proxies must include 'unix'.*no client address"):
        load_settings(environ={"REJOINDER_UNIX_SOCKET": "/run/rejoinder.sock"})
    settings = load_settings(
        environ={"REJOINDER_UNIX_SOCKET": "/run/rejoinder.sock", "REJOINDER_TRUSTED_PROXIES": "unix"}
    )
    assert settings.unix_socket == "/run/rejoinder.sock"


def test_the_client_address_header_must_be_a_header_name() -> None:
    assert load_settings(environ={}).client_address_header == "X-Forwarded-For"
    chosen = load_settings(environ={"REJOINDER_CLIENT_ADDRESS_HEADER": " X-Real-IP "})
    assert chosen.client_address_header == "X-Real-IP"
    for bad in ("", "X Real IP", "X-Real-IP:", "é"):
        with pytest.raises(ConfigurationError, match="client_address_header: .*HTTP header name"):
            load_settings(environ={"REJOINDER_CLIENT_ADDRESS_HEADER": bad})

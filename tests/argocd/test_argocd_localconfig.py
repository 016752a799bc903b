"""The argocd CLI's own config (after `argocd login`): where it is, and whose token is used."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from argocd_double import FakeArgoCD
from argocd_support import ADMIN_TOKEN
from click.testing import CliRunner

from kuploy_gitops.argocd import localconfig, ops
from kuploy_gitops.cli import main
from kuploy_gitops.errors import ConfigError, CredentialsError


def write_config(folder: Path, server: str, token: str, **server_fields: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    extra = "".join(f"  {k}: {str(v).lower()}\n" for k, v in server_fields.items())
    path = folder / "config"
    path.write_text(
        "contexts:\n"
        f"- name: {server}\n  server: {server}\n  user: {server}\n"
        f"current-context: {server}\n"
        "prompts-enabled: false\n"
        f"servers:\n- server: {server}\n{extra}"
        f"users:\n- auth-token: {token}\n  name: {server}\n  refresh-token: r-{token}\n",
        encoding="utf-8",
    )
    return path


def test_config_is_found_where_the_argocd_cli_keeps_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert localconfig.config_path({"HOME": str(home)}) is None
    legacy = write_config(home / ".argocd", "old.example", "t")
    assert localconfig.config_path({"HOME": str(home)}) == legacy
    xdg = write_config(home / ".config" / "argocd", "new.example", "t")
    assert localconfig.config_path({"HOME": str(home)}) == xdg
    own = write_config(tmp_path / "xdg" / "argocd", "x.example", "t")
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert localconfig.config_path(env) == own
    env["ARGOCD_CONFIG_DIR"] = str(tmp_path / "empty")
    assert localconfig.config_path(env) is None  # the CLI looks nowhere else then
    flag = write_config(tmp_path / "flag", "f.example", "t")
    env["ARGOCD_OPTS"] = f"--grpc-web --config {flag}"
    assert localconfig.config_path(env) == flag


def test_current_context_and_its_token(tmp_path: Path) -> None:
    write_config(tmp_path, "argocd.lab.example:8443", "sess-1", **{"plain-text": True})
    ctx = localconfig.current_context({"ARGOCD_CONFIG_DIR": str(tmp_path)})
    assert ctx is not None and ctx.url() == "http://argocd.lab.example:8443"
    assert "sess-1" not in repr(ctx)
    env = {"ARGOCD_CONFIG_DIR": str(tmp_path)}
    creds = localconfig.credentials_for("https://argocd.lab.example:8443/", env)
    assert creds.secrets() == ["sess-1"]
    with pytest.raises(CredentialsError) as info:  # never another server's token
        localconfig.credentials_for("https://other.example", env)
    assert "argocd login other.example" in str(info.value)
    env["ARGOCD_AUTH_TOKEN"] = ADMIN_TOKEN  # the environment wins
    assert localconfig.credentials_for("https://other.example", env).secrets() == [ADMIN_TOKEN]


def test_a_broken_config_is_one_line_naming_the_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, "a.example", "t")
    path.write_text("current-context: gone\ncontexts: []\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"config is not usable: current-context 'gone'"):
        localconfig.current_context({"ARGOCD_CONFIG_DIR": str(tmp_path)})
    path.write_text("contexts: []\n", encoding="utf-8")  # logged out: no context, no error
    assert localconfig.current_context({"ARGOCD_CONFIG_DIR": str(tmp_path)}) is None


def test_the_server_of_argocd_login_is_used_when_nothing_else_names_one(
    tmp_path: Path,
) -> None:
    write_config(tmp_path / "cfg", "argocd.lab.example", "t", insecure=True)
    env = {"ARGOCD_CONFIG_DIR": str(tmp_path / "cfg")}
    conn = ops.resolve_connection(tmp_path / "not-a-repo", ops.ConnectOptions(), env)
    assert conn.server == "https://argocd.lab.example" and conn.insecure
    env["ARGOCD_SERVER"] = "https://elsewhere.example"
    conn = ops.resolve_connection(tmp_path / "not-a-repo", ops.ConnectOptions(), env)
    assert conn.server == "https://elsewhere.example" and not conn.insecure


def test_status_after_argocd_login_needs_no_token_in_the_environment(
    demo_repo: Path,
    fake: FakeArgoCD,
    argocd_env: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    url = argocd_env()
    monkeypatch.delenv("ARGOCD_AUTH_TOKEN")
    write_config(tmp_path / "cfg", url.split("://", 1)[1], ADMIN_TOKEN, **{"plain-text": True})
    monkeypatch.setenv("ARGOCD_CONFIG_DIR", str(tmp_path / "cfg"))
    result = CliRunner().invoke(main, ["-C", str(demo_repo), "status"], catch_exceptions=False)
    assert result.exit_code == 0, result.output + result.stderr
    assert fake.calls and ADMIN_TOKEN not in result.output + result.stderr

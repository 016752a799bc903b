"""The `argocd` CLI's own config: after `argocd login`, kuploy uses the same server and token.

The file is YAML with ``current-context``, ``contexts`` (name, server, user), ``servers``
(server, insecure, plain-text, grpc-web-root-path) and ``users`` (name, auth-token). It is
looked for where the argocd CLI looks: ``--config`` in ``ARGOCD_OPTS``, else
``$ARGOCD_CONFIG_DIR/config``, else ``$XDG_CONFIG_HOME/argocd/config`` (default
``~/.config/argocd/config``), else the legacy ``~/.argocd/config``.

The token is handed out only for the server it was issued by: a session token of one Argo CD
must never be sent to another.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kuploy_gitops import yamlio
from kuploy_gitops.argocd.model import Credentials
from kuploy_gitops.errors import ConfigError, CredentialsError


@dataclass(frozen=True)
class CliContext:
    """The argocd CLI's current context: where it logs in, and its session token."""

    path: Path
    server: str
    insecure: bool = False
    plain_text: bool = False
    root_path: str = ""
    token: str = field(default="", repr=False)

    def url(self) -> str:
        """The server as a URL (the CLI stores ``host:port``; plain-text means http)."""
        if "://" in self.server:
            return self.server
        return ("http://" if self.plain_text else "https://") + self.server


def config_path(env: Mapping[str, str]) -> Path | None:
    """The argocd CLI config file that exists, in the CLI's order, or None."""
    words = shlex.split(env.get("ARGOCD_OPTS", ""))
    for i, word in enumerate(words):
        name, eq, value = word.partition("=")
        if name == "--config":
            given = value if eq else (words[i + 1] if i + 1 < len(words) else "")
            return Path(given).expanduser() if given else None
    home = Path(env.get("HOME", "") or Path.home())
    candidates = []
    if env.get("ARGOCD_CONFIG_DIR"):
        candidates.append(Path(env["ARGOCD_CONFIG_DIR"]).expanduser() / "config")
    else:
        xdg = env.get("XDG_CONFIG_HOME") or str(home / ".config")
        candidates += [Path(xdg) / "argocd" / "config", home / ".argocd" / "config"]
    return next((p for p in candidates if p.is_file()), None)


def current_context(env: Mapping[str, str]) -> CliContext | None:
    """The current context of the argocd CLI config, or None when there is no config file.

    Raises:
        ConfigError: the file exists but cannot be read, or its current context is dangling.
    """
    path = config_path(env)
    if path is None or not path.is_file():
        return None
    try:
        data = yamlio.load(path.read_text(encoding="utf-8"), source=str(path))
    except OSError as exc:
        raise ConfigError(
            f"cannot read the argocd CLI config {path} ({exc.strerror or type(exc).__name__})",
            hint="run `argocd login` again, or set ARGOCD_SERVER and ARGOCD_AUTH_TOKEN",
        ) from exc
    if not isinstance(data, dict):
        raise _bad(path, "it is not a mapping")
    name = str(data.get("current-context") or "")
    if not name:
        return None
    ctx = _named(data, "contexts", "name", name)
    if ctx is None:
        raise _bad(path, f"current-context {name!r} is not among its contexts")
    server = _named(data, "servers", "server", str(ctx.get("server") or "")) or {}
    user = _named(data, "users", "name", str(ctx.get("user") or "")) or {}
    address = str(server.get("server") or ctx.get("server") or "")
    if not address:
        raise _bad(path, f"context {name!r} names no server")
    return CliContext(
        path=path,
        server=address,
        insecure=bool(server.get("insecure", False)),
        plain_text=bool(server.get("plain-text", False)),
        root_path=str(server.get("grpc-web-root-path") or ""),
        token=str(user.get("auth-token") or ""),
    )


def credentials_for(server: str, env: Mapping[str, str]) -> Credentials:
    """The environment's credentials, else the argocd CLI's token when it is ``server``'s.

    Raises:
        CredentialsError: neither is there (the hint names all three ways).
    """
    try:
        return Credentials.from_env(env)
    except CredentialsError as exc:
        ctx = current_context(env)
        if ctx is not None and ctx.token and same_server(ctx.url(), server):
            return Credentials(token=ctx.token)
        raise CredentialsError(
            exc.message,
            hint="set ARGOCD_AUTH_TOKEN, or ARGOCD_USERNAME and ARGOCD_PASSWORD, or run "
            f"`argocd login {_host(server)}`",
        ) from None


def _host(server: str) -> str:
    s = server.strip().rstrip("/")
    return s.split("://", 1)[1] if "://" in s else s


def same_server(a: str, b: str) -> bool:
    """Whether two server addresses name one Argo CD (scheme, case and trailing / aside)."""

    def key(s: str) -> str:
        return _host(s).lower().removesuffix(":443")

    return bool(a.strip()) and key(a) == key(b)


def _named(data: dict[str, Any], section: str, key: str, value: str) -> dict[str, Any] | None:
    for entry in data.get(section) or []:
        if isinstance(entry, dict) and str(entry.get(key) or "") == value:
            return entry
    return None


def _bad(path: Path, why: str) -> ConfigError:
    return ConfigError(
        f"the argocd CLI config {path} is not usable: {why}",
        hint="run `argocd login` again, or set ARGOCD_SERVER and ARGOCD_AUTH_TOKEN",
    )

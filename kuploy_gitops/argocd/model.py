"""The data of the Argo CD client: connection settings, credentials, app states, requests.

No I/O and no httpx here; :mod:`kuploy_gitops.argocd` does the talking.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from kuploy_gitops.argocd.reasons import Reason
from kuploy_gitops.errors import CredentialsError, InvalidInputError

Obj = dict[str, Any]
Refresh = Literal["normal", "hard"]

RETRY_STATUSES = frozenset({502, 503, 504})
DEFAULT_TIMEOUT = 30.0
SHOW_TIMEOUT = 5.0  # seconds `app show` waits: it answers from the repo; Argo CD is extra
DEFAULT_WAIT = 600.0  # seconds `--wait` waits for synced and healthy
DEFAULT_INTERVAL = 2.0  # seconds between status polls while waiting
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 0.5
REDACTED = "***"

# Metadata fields the client sends: the declared state, never server-owned bookkeeping.
_SENT_METADATA = ("name", "namespace", "labels", "annotations", "finalizers")


class Credentials:
    """How the client authenticates: a bearer token, or a username and password for a session.

    The secrets are private attributes and never part of ``repr``/``str``.
    """

    __slots__ = ("_password", "_token", "username")

    def __init__(self, *, token: str = "", username: str = "", password: str = "") -> None:
        if not token and not (username and password):
            raise CredentialsError(
                "no Argo CD credentials",
                hint="set ARGOCD_AUTH_TOKEN, or ARGOCD_USERNAME and ARGOCD_PASSWORD",
            )
        self._token = token
        self.username = username
        self._password = password

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Credentials:
        """Read ``ARGOCD_AUTH_TOKEN``, else ``ARGOCD_USERNAME``/``ARGOCD_PASSWORD``."""
        return cls(
            token=env.get("ARGOCD_AUTH_TOKEN", "").strip(),
            username=env.get("ARGOCD_USERNAME", "").strip(),
            password=env.get("ARGOCD_PASSWORD", ""),
        )

    @property
    def can_login(self) -> bool:
        """Whether the client logs in for a session (no static token; user and password known).

        A static token wins when both are set.
        """
        return not self._token and bool(self.username and self._password)

    def secrets(self) -> list[str]:
        """Every secret value held, for scrubbing text."""
        return [s for s in (self._token, self._password) if s]

    def __repr__(self) -> str:
        kind = "token" if self._token else f"user {self.username!r}"
        return f"Credentials({kind}, secrets={REDACTED})"


@dataclass(frozen=True)
class Connection:
    """Where Argo CD is and how to talk to it (no secrets here)."""

    server: str
    insecure: bool = False
    ca_file: Path | None = None
    root_path: str = ""
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    backoff: float = DEFAULT_BACKOFF

    @property
    def base_url(self) -> str:
        """``https://host[:port][/root-path]`` without a trailing slash."""
        server = self.server.strip().rstrip("/")
        if "://" not in server:
            server = "https://" + server
        parts = urlsplit(server)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInputError(
                f"Argo CD server {self.server!r} is not a URL or host name",
                hint="give --server like https://argocd.example.ac.kr or argocd.example:8443",
            )
        root = self.root_path.strip().strip("/")
        return f"{server}/{root}" if root else server


def opts_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """Connection flags from ``ARGOCD_OPTS`` (as the argocd CLI reads them).

    Understood: ``--server``, ``--insecure``, ``--plaintext`` (plain HTTP for a server given
    without a scheme) and ``--grpc-web-root-path``. Other flags belong to the argocd CLI and are
    ignored.
    """
    words = shlex.split(env.get("ARGOCD_OPTS", ""))
    found: dict[str, Any] = {}
    i = 0
    while i < len(words):
        word = words[i]
        name, eq, value = word.partition("=")
        if name in ("--insecure", "--plaintext"):
            found[name[2:]] = value.lower() not in ("false", "0") if eq else True
        elif name in ("--server", "--grpc-web-root-path"):
            if not eq and i + 1 < len(words):
                i += 1
                value = words[i]
            found["server" if name == "--server" else "root_path"] = value
        i += 1
    return found


@dataclass(frozen=True)
class AppState:
    """The parts of an Application's status a human needs."""

    name: str
    project: str
    sync: str
    health: str
    revision: str
    operation_phase: str
    operation_message: str
    operation_finished: str
    health_message: str
    pending_operation: bool

    @classmethod
    def of(cls, app: Obj) -> AppState:
        """Extract the state from an Application object as Argo CD returns it."""
        status = app.get("status") or {}
        op = status.get("operationState") or {}
        return cls(
            name=str((app.get("metadata") or {}).get("name", "")),
            project=str((app.get("spec") or {}).get("project", "")),
            sync=str((status.get("sync") or {}).get("status") or "Unknown"),
            health=str((status.get("health") or {}).get("status") or "Unknown"),
            revision=str((status.get("sync") or {}).get("revision") or ""),
            operation_phase=str(op.get("phase") or ""),
            operation_message=str(op.get("message") or ""),
            operation_finished=str(op.get("finishedAt") or ""),
            health_message=str((status.get("health") or {}).get("message") or ""),
            pending_operation=bool(app.get("operation")),
        )

    @property
    def running(self) -> bool:
        """An operation is requested or running."""
        return self.pending_operation or self.operation_phase in ("Running", "Terminating")

    @property
    def ready(self) -> bool:
        """Synced and healthy, with no operation in flight."""
        return not self.running and self.sync == "Synced" and self.health == "Healthy"

    @property
    def failed(self) -> bool:
        """The last operation failed, or the app went Degraded with nothing left running."""
        if self.running:
            return False
        return self.operation_phase in ("Failed", "Error") or self.health == "Degraded"

    def summary(self) -> str:
        """One line like ``Synced/Progressing (Succeeded)``."""
        op = f" ({self.operation_phase})" if self.operation_phase else ""
        if self.pending_operation and not self.operation_phase:
            op = " (sync requested)"
        return f"{self.sync}/{self.health}{op}"


@dataclass(frozen=True)
class WaitOutcome:
    """How a wait ended: ``healthy``, ``failed`` or ``timeout``; the last state; the reason."""

    result: Literal["healthy", "failed", "timeout"]
    state: AppState
    reason: Reason | None = None


@dataclass(frozen=True)
class SyncResource:
    """One resource to sync selectively."""

    kind: str
    name: str
    group: str = ""
    namespace: str = ""

    def to_body(self) -> Obj:
        """The ``SyncOperationResource`` JSON."""
        body: Obj = {"group": self.group, "kind": self.kind, "name": self.name}
        if self.namespace:
            body["namespace"] = self.namespace
        return body


@dataclass(frozen=True)
class ProjectToken:
    """A project-role token: shown once, never stored. ``repr`` hides the token."""

    token: str = field(repr=False)
    project: str
    role: str
    id: str
    expires_in: int


def declared(obj: Mapping[str, Any]) -> Obj:
    """The declared part of a manifest (metadata essentials and spec) as the API takes it.

    ``apiVersion``, ``kind`` and ``status`` are dropped: the API knows the kind from the path and
    owns the status.
    """
    meta = obj.get("metadata") or {}
    out: Obj = {"metadata": {k: meta[k] for k in _SENT_METADATA if k in meta}}
    if "spec" in obj:
        out["spec"] = obj["spec"]
    return out

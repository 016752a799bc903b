"""The Argo CD REST client: one httpx seam, errors mapped to ArgoCDError, secrets kept out of sight.

Only this module imports httpx. Every call has a timeout; idempotent calls (reads, deletes and
upserts of declared state) are retried with exponential backoff on connect errors and on
502/503/504. Every failure leaves as :class:`~kuploy_gitops.errors.ArgoCDError` carrying the
method, the path, the HTTP status and Argo CD's own ``message``, never an httpx exception and
never the token: error messages and server replies are scrubbed of every secret the client holds.
The data types live in :mod:`kuploy_gitops.argocd_model` and are re-exported here.
"""

from __future__ import annotations

import logging
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from kuploy_gitops.argocd.model import (
    DEFAULT_BACKOFF,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    REDACTED,
    RETRY_STATUSES,
    AppState,
    Connection,
    Credentials,
    Obj,
    ProjectToken,
    Refresh,
    SyncResource,
    WaitOutcome,
    declared,
    opts_from_env,
)
from kuploy_gitops.argocd.reasons import Reason, first_reason, node_uid, nodes_worth_events
from kuploy_gitops.argocd.repositories import RepositoryCalls
from kuploy_gitops.errors import ArgoCDError, InvalidInputError

__all__ = [
    "DEFAULT_BACKOFF",
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "REDACTED",
    "AppState",
    "ArgoCDClient",
    "Connection",
    "Credentials",
    "ProjectToken",
    "Reason",
    "Refresh",
    "SyncResource",
    "Transport",
    "WaitOutcome",
    "declared",
    "opts_from_env",
]

log = logging.getLogger(__name__)

Transport = httpx.BaseTransport
"""What tests inject instead of the network (``httpx.MockTransport`` is one)."""


def _seg(value: str) -> str:
    return quote(value, safe="")


def _bool(value: bool) -> str:
    return "true" if value else "false"


class ArgoCDClient(RepositoryCalls):
    """A small client for the Argo CD API server's REST gateway (repositories: the mixin).

    Args:
        conn: where the server is, TLS choices, timeout and retry policy.
        creds: a token, or a username/password exchanged for a session token on first use
            (and once more when the server answers 401).
        transport: an httpx transport to use instead of the network (tests); TLS options do
            not apply to an injected transport.
        sleep: how to wait between retries and polls (tests pass a no-op).
        clock: a monotonic clock for wait timeouts.
    """

    def __init__(
        self,
        conn: Connection,
        creds: Credentials,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.conn = conn
        self._creds = creds
        self._session_token = ""
        self.sleep = sleep
        self.clock = clock
        self._base = conn.base_url
        if transport is None:
            transport = httpx.HTTPTransport(verify=self._verify(conn))
        self._http = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(conn.timeout),
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": "kuploy-gitops"},
        )

    def __repr__(self) -> str:
        return f"ArgoCDClient({self._base!r}, {self._creds!r})"

    @staticmethod
    def _verify(conn: Connection) -> ssl.SSLContext | bool:
        if conn.insecure:
            return False
        try:
            return ssl.create_default_context(
                cafile=str(conn.ca_file) if conn.ca_file is not None else None
            )
        except (OSError, ssl.SSLError) as exc:
            raise InvalidInputError(
                f"--ca-file {conn.ca_file}: cannot load a CA certificate "
                f"({exc.__class__.__name__})",
                hint="give a PEM file with the CA that signed Argo CD's certificate",
            ) from exc

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> ArgoCDClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ plumbing

    def _scrub(self, text: str) -> str:
        for secret in (*self._creds.secrets(), self._session_token):
            if secret:
                text = text.replace(secret, REDACTED)
        return text

    def _token(self) -> str:
        if not self._creds.can_login:
            return self._creds._token
        if not self._session_token:
            self._login()
        return self._session_token

    def _login(self) -> None:
        body = {"username": self._creds.username, "password": self._creds._password}
        reply = self._call("POST", "/api/v1/session", body=body, auth=False, idempotent=False)
        token = reply.get("token") if isinstance(reply, dict) else None
        if not isinstance(token, str) or not token:
            raise ArgoCDError(
                "Argo CD POST /api/v1/session returned no token",
                method="POST",
                path="/api/v1/session",
                status=200,
            )
        self._session_token = token
        log.debug("logged in to Argo CD as %s", self._creds.username)

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | Sequence[str]] | None = None,
        body: Any = None,
        idempotent: bool,
        auth: bool = True,
    ) -> Any:
        url = self._base + path
        attempts = 1 + (max(self.conn.retries, 0) if idempotent else 0)
        attempt = 0
        relogged = False
        while True:
            attempt += 1
            headers = {"Authorization": f"Bearer {self._token()}"} if auth else {}
            try:
                resp = self._http.request(
                    method, url, params=dict(params or {}), json=body, headers=headers
                )
            except httpx.TimeoutException as exc:
                if isinstance(exc, httpx.ConnectTimeout) and attempt < attempts:
                    self._backoff(attempt, method, path, "connect timeout")
                    continue
                raise self._transport_error(method, path, exc) from exc
            except httpx.ConnectError as exc:
                # A TLS or DNS failure does not heal in a second: say so now, not after retries.
                if attempt < attempts and not _is_tls_failure(exc) and not _is_dns_failure(exc):
                    self._backoff(attempt, method, path, "connect error")
                    continue
                raise self._transport_error(method, path, exc) from exc
            except httpx.HTTPError as exc:
                raise self._transport_error(method, path, exc) from exc
            log.debug("%s %s -> %s", method, path, resp.status_code)
            if resp.status_code in RETRY_STATUSES and attempt < attempts:
                self._backoff(attempt, method, path, f"HTTP {resp.status_code}")
                continue
            if resp.status_code == 401 and auth and self._creds.can_login and not relogged:
                # The session token expired (or the server restarted): log in again, once.
                relogged = True
                self._session_token = ""
                continue
            if resp.status_code >= 400:
                raise self._http_error(method, path, resp)
            if not resp.content:
                return {}
            try:
                return resp.json()
            except ValueError as exc:
                raise ArgoCDError(
                    f"Argo CD {method} {path}: the reply is not JSON",
                    method=method,
                    path=path,
                    status=resp.status_code,
                    hint="check --server and --grpc-web-root-path point at the Argo CD API",
                ) from exc

    def _backoff(self, attempt: int, method: str, path: str, why: str) -> None:
        delay = self.conn.backoff * (2 ** (attempt - 1))
        log.info("Argo CD %s %s: %s, retrying in %.1fs", method, path, why, delay)
        self.sleep(delay)

    def _transport_error(self, method: str, path: str, exc: httpx.HTTPError) -> ArgoCDError:
        where = self._base
        if isinstance(exc, httpx.TimeoutException):
            msg, hint = (
                f"Argo CD {method} {path}: no answer from {where} within {self.conn.timeout:g}s",
                "check the server is up, or raise --timeout",
            )
        elif isinstance(exc, httpx.ConnectError) and _is_tls_failure(exc):
            msg, hint = (
                f"Argo CD {method} {path}: TLS certificate of {where} could not be verified",
                "pass --ca-file with the cluster's CA (or --insecure on a trusted lab network)",
            )
        elif isinstance(exc, httpx.ConnectError) and _is_dns_failure(exc):
            host = urlsplit(where).hostname or where
            msg, hint = (
                f"Argo CD {method} {path}: the host name {host!r} does not resolve (DNS)",
                "check the spelling of --server / ARGOCD_SERVER / argocd.server, and the DNS "
                "record (or /etc/hosts) for it",
            )
        elif isinstance(exc, httpx.ConnectError):
            msg, hint = (
                f"Argo CD {method} {path}: cannot connect to {where}",
                "check --server / ARGOCD_SERVER and that Argo CD is reachable",
            )
        else:
            msg, hint = (
                f"Argo CD {method} {path}: {exc.__class__.__name__}: {self._scrub(str(exc))}",
                None,
            )
        return ArgoCDError(msg, method=method, path=path, status=None, hint=hint)

    def _http_error(self, method: str, path: str, resp: httpx.Response) -> ArgoCDError:
        server_message = ""
        try:
            data = resp.json()
            if isinstance(data, dict):
                server_message = str(data.get("message") or data.get("error") or "")
        except ValueError:
            server_message = resp.text[:200].strip()
        server_message = self._scrub(" ".join(server_message.split()))
        status = resp.status_code
        hint = _HINTS.get(status)
        if status == 401 and not self._creds.can_login:
            hint = "ARGOCD_AUTH_TOKEN was rejected (expired or revoked): create a new one"
        elif "use upsert flag" in server_message:
            hint = "the object exists with another spec: register upserts it"
        detail = f": {server_message}" if server_message else ""
        return ArgoCDError(
            f"Argo CD {method} {path}: HTTP {status}{detail}",
            method=method,
            path=path,
            status=status,
            server_message=server_message,
            hint=hint,
        )

    # ------------------------------------------------------------------ projects

    def upsert_project(self, project: Mapping[str, Any]) -> Obj:
        """Create or update an AppProject from its manifest (``POST /api/v1/projects``)."""
        body = {"project": declared(project), "upsert": True}
        return dict(self._call("POST", "/api/v1/projects", body=body, idempotent=True))

    def get_project(self, name: str) -> Obj:
        """Read an AppProject (an ArgoCDError with status 404 when missing)."""
        return dict(self._call("GET", f"/api/v1/projects/{_seg(name)}", idempotent=True))

    def delete_project(self, name: str) -> None:
        """Delete an AppProject (Argo CD refuses while Applications still reference it)."""
        self._call("DELETE", f"/api/v1/projects/{_seg(name)}", idempotent=True)

    def create_project_token(
        self, project: str, role: str, *, expires_in: int, token_id: str, description: str = ""
    ) -> ProjectToken:
        """Issue a JWT for ``proj:<project>:<role>`` valid for ``expires_in`` seconds."""
        if expires_in <= 0:
            raise InvalidInputError(
                f"token lifetime {expires_in}s is not positive",
                hint="tokens for students must expire; give e.g. --expires 30d",
            )
        body: Obj = {"expiresIn": expires_in, "id": token_id}
        if description:
            body["description"] = description
        path = f"/api/v1/projects/{_seg(project)}/roles/{_seg(role)}/token"
        reply = self._call("POST", path, body=body, idempotent=False)
        token = reply.get("token") if isinstance(reply, dict) else None
        if not isinstance(token, str) or not token:
            raise ArgoCDError(
                f"Argo CD POST {path} returned no token", method="POST", path=path, status=200
            )
        return ProjectToken(token, project, role, token_id, expires_in)

    # ------------------------------------------------------------------ applications

    def upsert_application(
        self, app: Mapping[str, Any], *, upsert: bool = True, validate: bool = True
    ) -> Obj:
        """Create (or, with ``upsert``, update) an Application from its manifest."""
        params = {"upsert": _bool(upsert), "validate": _bool(validate)}
        return dict(
            self._call(
                "POST",
                "/api/v1/applications",
                params=params,
                body=declared(app),
                idempotent=upsert,
            )
        )

    def get_application(
        self, name: str, *, refresh: Refresh | None = None, project: str | None = None
    ) -> Obj:
        """Read an Application; ``refresh`` asks Argo CD to reconcile it first.

        With ``project`` Argo CD answers 404 for a missing app and 403 for an app of another
        project.
        """
        params: dict[str, str] = {}
        if refresh is not None:
            if refresh not in ("normal", "hard"):
                raise InvalidInputError(
                    f"refresh {refresh!r} is not normal or hard", hint="use normal or hard"
                )
            params["refresh"] = refresh
        if project:
            params["project"] = project
        return dict(
            self._call("GET", f"/api/v1/applications/{_seg(name)}", params=params, idempotent=True)
        )

    def list_applications(self, *, projects: Iterable[str] = (), selector: str = "") -> list[Obj]:
        """Applications, filtered by projects and a label selector like ``k=v,k2=v2``."""
        params: dict[str, str | list[str]] = {}
        projects = list(projects)
        if projects:
            params["projects"] = projects
        if selector:
            params["selector"] = selector
        reply = self._call("GET", "/api/v1/applications", params=params, idempotent=True)
        return list((reply or {}).get("items") or [])

    def sync(
        self,
        name: str,
        *,
        revision: str = "",
        prune: bool = False,
        dry_run: bool = False,
        resources: Sequence[SyncResource] = (),
    ) -> Obj:
        """Start a sync operation; returns the Application (poll with :meth:`wait`)."""
        body: Obj = {"name": name, "prune": prune, "dryRun": dry_run}
        if revision:
            body["revision"] = revision
        if resources:
            body["resources"] = [r.to_body() for r in resources]
        path = f"/api/v1/applications/{_seg(name)}/sync"
        return dict(self._call("POST", path, body=body, idempotent=False))

    def delete_application(
        self, name: str, *, cascade: bool = True, propagation_policy: str = ""
    ) -> None:
        """Delete an Application; with ``cascade`` its resources are deleted too."""
        if propagation_policy and propagation_policy not in ("foreground", "background"):
            raise InvalidInputError(
                f"propagation policy {propagation_policy!r} is not foreground or background",
                hint="use foreground or background",
            )
        if propagation_policy and not cascade:
            raise InvalidInputError(
                "a propagation policy needs cascade", hint="drop the policy or keep cascade on"
            )
        params = {"cascade": _bool(cascade)}
        if propagation_policy:
            params["propagationPolicy"] = propagation_policy
        self._call("DELETE", f"/api/v1/applications/{_seg(name)}", params=params, idempotent=True)

    def resource_tree(self, name: str) -> Obj:
        """The live resource tree (nodes with health and info) of an Application."""
        path = f"/api/v1/applications/{_seg(name)}/resource-tree"
        return dict(self._call("GET", path, idempotent=True))

    def events(
        self, name: str, *, namespace: str = "", resource: str = "", uid: str = ""
    ) -> list[Obj]:
        """Kubernetes events of one of the app's resources (or of the Application itself)."""
        params: dict[str, str] = {}
        if namespace:
            params["resourceNamespace"] = namespace
        if resource:
            params["resourceName"] = resource
        if uid:
            params["resourceUID"] = uid
        path = f"/api/v1/applications/{_seg(name)}/events"
        reply = self._call("GET", path, params=params, idempotent=True)
        return list((reply or {}).get("items") or [])

    def diagnose(self, app: Mapping[str, Any], *, max_event_calls: int = 8) -> Reason | None:
        """The first concrete reason the app is not running, from status, tree and events."""
        name = str((app.get("metadata") or {}).get("name", ""))
        state = AppState.of(dict(app))
        if state.ready:
            return None
        tree = self.resource_tree(name)
        events: dict[str, list[Obj]] = {}
        for node in nodes_worth_events(tree)[:max_event_calls]:
            events[node_uid(node)] = self.events(
                name,
                namespace=str(node.get("namespace", "")),
                resource=str(node.get("name", "")),
                uid=node_uid(node),
            )
        return first_reason(app, tree, events)

    def wait(
        self,
        name: str,
        *,
        timeout: float,
        interval: float = 2.0,
        progress: Callable[[AppState], None] | None = None,
    ) -> WaitOutcome:
        """Poll until the app is synced and healthy, has failed, or ``timeout`` passes.

        ``progress`` is called with every state seen. A failed operation ends the wait at
        once; Degraded health must be seen on two polls in a row, because right after a sync
        the health of the previous rollout can still show for a moment. A failed or timed-out
        wait carries the first concrete reason found.
        """
        deadline = self.clock() + timeout
        degraded_polls = 0
        while True:
            app = self.get_application(name)
            state = AppState.of(app)
            if progress is not None:
                progress(state)
            if state.ready:
                return WaitOutcome("healthy", state)
            degraded_polls = degraded_polls + 1 if state.failed else 0
            if state.failed and (
                state.operation_phase in ("Failed", "Error") or degraded_polls >= 2
            ):
                return WaitOutcome("failed", state, self.diagnose(app))
            if self.clock() >= deadline:
                return WaitOutcome("timeout", state, self.diagnose(app))
            self.sleep(interval)


_HINTS: dict[int, str] = {
    401: "log in again: check ARGOCD_USERNAME/ARGOCD_PASSWORD",
    403: "the account lacks an RBAC permission, or the object is in another project "
    "(see docs/argocd.md for the policy kuploy-gitops needs)",
    404: "it does not exist in Argo CD: run `kuploy-gitops register` first",
}


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and its causes (httpx wraps httpcore, which wraps the socket error)."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def _is_dns_failure(exc: BaseException) -> bool:
    """Whether a connect error was a failed name lookup."""
    return any(
        isinstance(cur, socket.gaierror)
        or "Name or service not known" in str(cur)
        or "name resolution" in str(cur)
        for cur in _causes(exc)
    )


def _is_tls_failure(exc: BaseException) -> bool:
    """Whether a connect error was a certificate that could not be verified."""
    return any(
        isinstance(cur, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(cur)
        for cur in _causes(exc)
    )

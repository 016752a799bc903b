"""Argo CD repository credentials: project-scoped repositories, one per student repo.

Mixed into :class:`~kuploy_gitops.argocd.client.ArgoCDClient`. A repository with ``project``
set is used only by the Applications of that AppProject (Argo CD looks repositories up by URL
and project), so a student's deploy key can fetch nothing for another tenant. Argo CD never
returns the key: replies are redacted, and every error leaving here has the key scrubbed out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from kuploy_gitops import repourl
from kuploy_gitops.argocd.model import REDACTED, Obj
from kuploy_gitops.errors import ArgoCDError

_PATH = "/api/v1/repositories"


@dataclass(frozen=True)
class RepoEntry:
    """A configured repository as Argo CD lists it (secrets are never listed)."""

    url: str
    project: str
    type: str
    connection: str  # "Successful", "Failed" or "" (unknown)


class RepositoryCalls:
    """The ``/api/v1/repositories`` calls of the Argo CD client."""

    if TYPE_CHECKING:
        # The client's request seam (ArgoCDClient._call): retries, errors, secrets scrubbed.
        _call: Callable[..., Any]

    def list_repositories(self) -> list[RepoEntry]:
        """Every repository the caller may see, with its project (credentials redacted)."""
        reply = self._call("GET", _PATH, idempotent=True)
        return [
            RepoEntry(
                url=str(item.get("repo", "")),
                project=str(item.get("project", "")),
                type=str(item.get("type", "") or "git"),
                connection=str((item.get("connectionState") or {}).get("status", "")),
            )
            for item in (reply or {}).get("items") or []
        ]

    def find_repository(self, url: str, project: str) -> RepoEntry | None:
        """The repository of ``url`` scoped to ``project``, or ``None``."""
        want = repourl.normalise(url)
        for entry in self.list_repositories():
            if entry.project == project and repourl.normalise(entry.url) == want:
                return entry
        return None

    def upsert_ssh_repository(self, url: str, project: str, private_key: str) -> None:
        """Create or replace the ``project``-scoped git repository ``url`` with an SSH key.

        The key leaves only in this request body; an error message that echoed any of it is
        scrubbed before it is raised.
        """
        body: Obj = {"repo": url, "type": "git", "project": project, "sshPrivateKey": private_key}
        try:
            self._call("POST", _PATH, params={"upsert": "true"}, body=body, idempotent=True)
        except ArgoCDError as exc:
            raise _scrubbed(exc, private_key) from None

    def delete_repository(self, url: str, project: str) -> None:
        """Delete the ``project``-scoped repository ``url`` (Argo CD deletes its Secret)."""
        path = f"{_PATH}/{quote(url, safe='')}"
        self._call("DELETE", path, params={"appProject": project}, idempotent=True)


def _scrubbed(exc: ArgoCDError, secret: str) -> ArgoCDError:
    """``exc`` with every line of ``secret`` (a PEM key) replaced in its texts."""
    pieces = sorted({secret, *(p.strip() for p in secret.splitlines())}, key=len, reverse=True)
    pieces = [p for p in pieces if len(p) >= 8]  # shorter pieces: ordinary words

    def clean(text: str) -> str:
        for piece in pieces:
            text = text.replace(piece, REDACTED)
        return text

    return ArgoCDError(
        clean(exc.message),
        method=exc.method,
        path=exc.path,
        status=exc.status,
        server_message=clean(exc.server_message),
        hint=exc.hint,
    )

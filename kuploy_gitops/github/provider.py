"""The GitProvider protocol: the only calls kuploy makes to a git host, and their value types.

Implementations translate every failure of their client library into
:class:`~kuploy_gitops.errors.ProviderError`; no foreign exception crosses this seam.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class RepoInfo:
    """What kuploy needs to know about a hosted repository."""

    owner: str
    name: str
    private: bool
    archived: bool
    default_branch: str
    clone_url: str
    html_url: str
    ssh_url: str = ""  # git@HOST:owner/name.git: what a deploy key authenticates
    description: str = ""  # github setup's ownership marker (only admins can change it)

    @property
    def full_name(self) -> str:
        """``owner/name``."""
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True)
class HookInfo:
    """A repository webhook as the host reports it (the secret is never readable back)."""

    id: int
    url: str
    events: tuple[str, ...]
    active: bool
    content_type: str


@dataclass(frozen=True)
class DeployKeyInfo:
    """A repository deploy key as the host reports it (only the public half exists there)."""

    id: int
    title: str
    key: str  # "ssh-ed25519 AAAA..."
    read_only: bool


class GitProvider(Protocol):
    """The calls kuploy makes to a git host (GitHub or GitHub Enterprise Server).

    Names are ``owner``/``name`` pairs; a missing object is ``None`` or ``False``, never an
    exception. Every other failure raises ``ProviderError`` with the host's status and message.
    """

    def user_exists(self, login: str) -> bool:
        """Whether an account with this login exists."""
        ...

    def get_repo(self, owner: str, name: str) -> RepoInfo | None:
        """The repository, or ``None`` when it does not exist (or is not visible)."""
        ...

    def create_repo(self, owner: str, name: str, *, private: bool, description: str) -> RepoInfo:
        """Create an organisation repository with one initial commit on its default branch."""
        ...

    def create_repo_from_template(
        self, template: str, owner: str, name: str, *, private: bool, description: str
    ) -> RepoInfo:
        """Generate a repository from the template repository ``template`` (``owner/name``)."""
        ...

    def update_repo(
        self,
        owner: str,
        name: str,
        *,
        private: bool | None = None,
        archived: bool | None = None,
        description: str | None = None,
    ) -> RepoInfo:
        """Change visibility, archive state or description; ``None`` leaves a setting as is."""
        ...

    def branch_head(self, owner: str, name: str, branch: str) -> str | None:
        """The commit SHA at the tip of ``branch``, or ``None`` when the branch does not exist."""
        ...

    def tree_blobs(self, owner: str, name: str, commit_sha: str) -> dict[str, str]:
        """Every file of the commit's tree as ``{path: git blob SHA}``."""
        ...

    def commit_files(
        self,
        owner: str,
        name: str,
        branch: str,
        parent_sha: str,
        files: Mapping[str, str],
        message: str,
    ) -> str:
        """Commit ``files`` (path: UTF-8 text) on top of ``parent_sha``; return the new SHA.

        All files go into ONE commit; the branch is fast-forwarded to it (never forced).
        """
        ...

    def collaborator_permission(self, owner: str, name: str, login: str) -> str | None:
        """A collaborator's permission, or ``None`` when ``login`` is not a collaborator.

        One of ``admin``, ``maintain``, ``write``, ``triage`` or ``read``.
        """
        ...

    def invitation_permission(self, owner: str, name: str, login: str) -> str | None:
        """The permission of a pending invitation of ``login``, or ``None``."""
        ...

    def add_collaborator(self, owner: str, name: str, login: str, permission: str) -> None:
        """Add (or invite) ``login`` with ``permission`` (``pull``, ``push``, ``admin``...)."""
        ...

    def remove_collaborator(self, owner: str, name: str, login: str) -> None:
        """Remove ``login`` from the repository's collaborators."""
        ...

    def add_team_member(self, org: str, team_slug: str, login: str) -> None:
        """Add (or invite) ``login`` to an organisation team as a plain member."""
        ...

    def list_hooks(self, owner: str, name: str) -> list[HookInfo]:
        """The repository's webhooks."""
        ...

    def create_hook(
        self, owner: str, name: str, *, url: str, secret: str, events: tuple[str, ...]
    ) -> HookInfo:
        """Create an active JSON webhook for ``events`` to ``url``, signed with ``secret``."""
        ...

    def update_hook(
        self,
        owner: str,
        name: str,
        hook_id: int,
        *,
        url: str,
        secret: str,
        events: tuple[str, ...],
    ) -> None:
        """Reset a webhook to the given URL, secret and events, and make it active."""
        ...

    def delete_hook(self, owner: str, name: str, hook_id: int) -> None:
        """Delete a webhook."""
        ...

    def list_deploy_keys(self, owner: str, name: str) -> list[DeployKeyInfo]:
        """The repository's deploy keys."""
        ...

    def add_deploy_key(
        self, owner: str, name: str, *, title: str, key: str, read_only: bool
    ) -> DeployKeyInfo:
        """Add a deploy key (an OpenSSH public key line) to the repository."""
        ...

    def delete_deploy_key(self, owner: str, name: str, key_id: int) -> None:
        """Delete a deploy key."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...

"""GitHub (and GitHub Enterprise Server) behind GitProvider: the only module importing PyGithub.

Authentication is a token (``GITHUB_TOKEN``) or a GitHub App installation (app id + private key
file), which is what an organisation should use. Every PyGithub or transport failure becomes a
:class:`~kuploy_gitops.errors.ProviderError` carrying GitHub's status and message, with every
secret this module knows scrubbed out. Rate limits (primary: ``x-ratelimit-reset``; secondary:
``retry-after`` or back-off) are waited out with an injected clock and sleeper, within bounds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from github import Auth, Github, GithubException, GithubIntegration, InputGitTreeElement
from github.GithubException import UnknownObjectException

from kuploy_gitops import __version__
from kuploy_gitops.config import GitHubSettings
from kuploy_gitops.errors import ConfigError, CredentialsError, ProviderError
from kuploy_gitops.github.provider import DeployKeyInfo, HookInfo, RepoInfo
from kuploy_gitops.github.ratelimit import RetryPolicy, rate_limit_wait
from kuploy_gitops.github.seam import Seam

__all__ = ["GitHubProvider", "RetryPolicy", "connect", "rate_limit_wait"]

T = TypeVar("T")

DEFAULT_API_URL = "https://api.github.com"
TOKEN_ENV = "GITHUB_TOKEN"
USER_AGENT = f"kuploy-gitops/{__version__}"


class GitHubProvider:
    """A :class:`~kuploy_gitops.github.provider.GitProvider` over PyGithub."""

    def __init__(
        self,
        auth: Auth.Auth,
        *,
        base_url: str = DEFAULT_API_URL,
        retry: RetryPolicy | None = None,
        throttle: bool = True,
        secrets: tuple[str, ...] = (),
    ) -> None:
        """Connect lazily (no request is made until the first call).

        Args:
            auth: a PyGithub auth object (token or App installation).
            base_url: REST API root; ``https://HOST/api/v3`` for GitHub Enterprise Server.
            retry: rate-limit policy (default: real clock, bounded waits).
            throttle: space requests as GitHub advises (0.25 s, 1 s between writes) to stay
                clear of secondary limits in bulk runs; tests turn it off.
            secrets: strings to scrub from every error message (tokens, webhook secrets).
        """
        self.base_url = base_url.rstrip("/")
        self._seam = Seam(self.base_url, retry or RetryPolicy(), secrets)
        self._gh = Github(
            auth=auth,
            base_url=self.base_url,
            user_agent=USER_AGENT,
            per_page=100,
            retry=None,  # rate limits are waited out here, with an injectable clock
            seconds_between_requests=0.25 if throttle else None,
            seconds_between_writes=1.0 if throttle else None,
        )
        # Objects from this twin are not fetched until used: no GET before each write.
        self._lazy = self._gh.withLazy(True)

    def __repr__(self) -> str:
        return f"GitHubProvider(base_url={self.base_url!r})"

    def close(self) -> None:
        """Close pooled connections."""
        self._lazy.close()
        self._gh.close()

    def __enter__(self) -> GitHubProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- GitProvider -----------------------------------------------------------------------------

    def user_exists(self, login: str) -> bool:
        """Whether an account with this login exists."""

        def run() -> bool:
            try:
                self._gh.get_user(login)
            except UnknownObjectException:
                return False
            return True

        return self._seam.call(f"look up user {login}", run)

    def get_repo(self, owner: str, name: str) -> RepoInfo | None:
        """The repository, or ``None`` when it does not exist."""

        def run() -> RepoInfo | None:
            try:
                return _repo_info(self._gh.get_repo(f"{owner}/{name}"))
            except UnknownObjectException:
                return None

        return self._seam.call(f"get repo {owner}/{name}", run)

    def create_repo(self, owner: str, name: str, *, private: bool, description: str) -> RepoInfo:
        """Create an org repository with an initial commit (so git data calls work on it)."""

        def run() -> RepoInfo:
            org = self._gh.get_organization(owner)
            repo = org.create_repo(name, description=description, private=private, auto_init=True)
            return _repo_info(repo)

        return self._seam.call(f"create repo {owner}/{name}", run)

    def create_repo_from_template(
        self, template: str, owner: str, name: str, *, private: bool, description: str
    ) -> RepoInfo:
        """Generate ``owner/name`` from the template repository ``template``."""

        def run() -> RepoInfo:
            source = self._gh.get_repo(template)
            org = self._gh.get_organization(owner)
            repo = org.create_repo_from_template(
                name, source, description=description, private=private
            )
            return _repo_info(repo)

        return self._seam.call(f"create repo {owner}/{name} from template {template}", run)

    def update_repo(
        self,
        owner: str,
        name: str,
        *,
        private: bool | None = None,
        archived: bool | None = None,
        description: str | None = None,
    ) -> RepoInfo:
        """Change visibility, archive state or description."""

        def run() -> RepoInfo:
            repo = self._gh.get_repo(f"{owner}/{name}")
            asked = {"private": private, "archived": archived, "description": description}
            changes: dict[str, Any] = {k: v for k, v in asked.items() if v is not None}
            if changes:
                repo.edit(**changes)
            return _repo_info(repo)

        return self._seam.call(f"update repo {owner}/{name}", run)

    def branch_head(self, owner: str, name: str, branch: str) -> str | None:
        """The branch's tip commit SHA, or ``None`` (no such branch, or an empty repo)."""

        def run() -> str | None:
            repo = self._lazy.get_repo(f"{owner}/{name}")
            try:
                return str(repo.get_git_ref(f"heads/{branch}").object.sha)
            except UnknownObjectException:
                return None
            except GithubException as exc:
                if exc.status == 409:  # "Git Repository is empty."
                    return None
                raise

        return self._seam.call(f"read branch {branch} of {owner}/{name}", run)

    def tree_blobs(self, owner: str, name: str, commit_sha: str) -> dict[str, str]:
        """Every file of the commit as ``{path: blob SHA}``."""

        def run() -> dict[str, str]:
            repo = self._lazy.get_repo(f"{owner}/{name}")
            commit = repo.get_git_commit(commit_sha)
            tree = repo.get_git_tree(commit.tree.sha, recursive=True)
            return {e.path: e.sha for e in tree.tree if e.type == "blob"}

        return self._seam.call(f"read the files of {owner}/{name}", run)

    def commit_files(
        self,
        owner: str,
        name: str,
        branch: str,
        parent_sha: str,
        files: Mapping[str, str],
        message: str,
    ) -> str:
        """One commit with ``files`` on top of ``parent_sha``; fast-forward ``branch`` to it."""

        def run() -> str:
            repo = self._lazy.get_repo(f"{owner}/{name}")
            ref = repo.get_git_ref(f"heads/{branch}")
            if ref.object.sha != parent_sha:
                raise ProviderError(
                    f"branch {branch} of {owner}/{name} moved while kuploy was writing to it",
                    hint="re-run the command",
                )
            parent = repo.get_git_commit(parent_sha)
            elements = [
                InputGitTreeElement(path, "100644", "blob", content=text)
                for path, text in sorted(files.items())
            ]
            tree = repo.create_git_tree(elements, base_tree=parent.tree)
            commit = repo.create_git_commit(message, tree, [parent])
            ref.edit(commit.sha, force=False)
            return str(commit.sha)

        return self._seam.call(f"commit to {owner}/{name}", run)

    def collaborator_permission(self, owner: str, name: str, login: str) -> str | None:
        """The collaborator's permission, or ``None`` when not a collaborator."""

        def run() -> str | None:
            repo = self._lazy.get_repo(f"{owner}/{name}")
            if not repo.has_in_collaborators(login):
                return None
            return str(repo.get_collaborator_permission(login))

        return self._seam.call(f"check collaborator {login} of {owner}/{name}", run)

    def invitation_permission(self, owner: str, name: str, login: str) -> str | None:
        """The permission of ``login``'s pending invitation, or ``None``."""

        def run() -> str | None:
            repo = self._lazy.get_repo(f"{owner}/{name}")
            for invitation in repo.get_pending_invitations():
                invitee = invitation.invitee
                if invitee is not None and invitee.login.lower() == login.lower():
                    return str(invitation.permissions)
            return None

        return self._seam.call(f"list invitations of {owner}/{name}", run)

    def add_collaborator(self, owner: str, name: str, login: str, permission: str) -> None:
        """Add or invite ``login`` with ``permission``."""

        def run() -> None:
            repo = self._lazy.get_repo(f"{owner}/{name}")
            repo.add_to_collaborators(login, permission)

        self._seam.call(f"add collaborator {login} to {owner}/{name}", run)

    def remove_collaborator(self, owner: str, name: str, login: str) -> None:
        """Remove ``login`` from the collaborators."""

        def run() -> None:
            repo = self._lazy.get_repo(f"{owner}/{name}")
            repo.remove_from_collaborators(login)

        self._seam.call(f"remove collaborator {login} from {owner}/{name}", run)

    def add_team_member(self, org: str, team_slug: str, login: str) -> None:
        """Add or invite ``login`` to the team as a member."""

        def run() -> None:
            team = self._gh.get_organization(org).get_team_by_slug(team_slug)
            team.add_membership(self._gh.get_user(login), role="member")

        self._seam.call(f"add {login} to team {org}/{team_slug}", run)

    def list_hooks(self, owner: str, name: str) -> list[HookInfo]:
        """The repository's webhooks."""

        def run() -> list[HookInfo]:
            repo = self._lazy.get_repo(f"{owner}/{name}")
            return [
                HookInfo(
                    id=int(h.id),
                    url=str(h.config.get("url", "")),
                    events=tuple(h.events),
                    active=bool(h.active),
                    content_type=str(h.config.get("content_type", "")),
                )
                for h in repo.get_hooks()
            ]

        return self._seam.call(f"list webhooks of {owner}/{name}", run)

    def create_hook(
        self, owner: str, name: str, *, url: str, secret: str, events: tuple[str, ...]
    ) -> HookInfo:
        """Create an active JSON webhook."""

        def run() -> HookInfo:
            repo = self._lazy.get_repo(f"{owner}/{name}")
            hook = repo.create_hook("web", _hook_config(url, secret), list(events), True)
            return HookInfo(
                id=int(hook.id),
                url=url,
                events=tuple(hook.events),
                active=bool(hook.active),
                content_type="json",
            )

        return self._seam.call(f"create webhook on {owner}/{name}", run)

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
        """Reset a webhook's URL, secret and events; make it active."""

        def run() -> None:
            repo = self._lazy.get_repo(f"{owner}/{name}")
            repo.get_hook(hook_id).edit(
                "web", _hook_config(url, secret), events=list(events), active=True
            )

        self._seam.call(f"update webhook {hook_id} on {owner}/{name}", run)

    def delete_hook(self, owner: str, name: str, hook_id: int) -> None:
        """Delete a webhook."""

        def run() -> None:
            repo = self._lazy.get_repo(f"{owner}/{name}")
            repo.get_hook(hook_id).delete()

        self._seam.call(f"delete webhook {hook_id} on {owner}/{name}", run)

    def list_deploy_keys(self, owner: str, name: str) -> list[DeployKeyInfo]:
        """The repository's deploy keys."""

        def run() -> list[DeployKeyInfo]:
            return [_key_info(k) for k in self._lazy.get_repo(f"{owner}/{name}").get_keys()]

        return self._seam.call(f"list deploy keys of {owner}/{name}", run)

    def add_deploy_key(
        self, owner: str, name: str, *, title: str, key: str, read_only: bool
    ) -> DeployKeyInfo:
        """Add a deploy key."""

        def run() -> DeployKeyInfo:
            repo = self._lazy.get_repo(f"{owner}/{name}")
            return _key_info(repo.create_key(title, key, read_only))

        return self._seam.call(f"add deploy key {title!r} to {owner}/{name}", run)

    def delete_deploy_key(self, owner: str, name: str, key_id: int) -> None:
        """Delete a deploy key."""

        def run() -> None:
            self._lazy.get_repo(f"{owner}/{name}").get_key(key_id).delete()

        self._seam.call(f"delete deploy key {key_id} of {owner}/{name}", run)


def _key_info(key: Any) -> DeployKeyInfo:
    return DeployKeyInfo(int(key.id), str(key.title), str(key.key), bool(key.read_only))


def _hook_config(url: str, secret: str) -> dict[str, str]:
    return {"url": url, "content_type": "json", "secret": secret, "insecure_ssl": "0"}


def _repo_info(repo: Any) -> RepoInfo:
    return RepoInfo(
        owner=str(repo.owner.login),
        name=str(repo.name),
        private=bool(repo.private),
        archived=bool(repo.archived),
        default_branch=str(repo.default_branch or "main"),
        clone_url=str(repo.clone_url),
        html_url=str(repo.html_url),
        ssh_url=str(repo.ssh_url or ""),
        description=str(repo.description or ""),
    )


def connect(
    settings: GitHubSettings,
    org: str,
    *,
    environ: Mapping[str, str] | None = None,
    retry: RetryPolicy | None = None,
    throttle: bool = True,
) -> GitHubProvider:
    """A provider authenticated as configured: GitHub App installation, else ``GITHUB_TOKEN``.

    Raises:
        ConfigError: no credentials, or the App's private key file cannot be read.
        ProviderError: the App's installation cannot be found or its token not issued.
    """
    env = os.environ if environ is None else environ
    base_url = settings.api_url or DEFAULT_API_URL
    if settings.app_id:
        key_path = Path(settings.app_private_key_file).expanduser()
        try:
            private_key = key_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"cannot read the GitHub App private key file {str(key_path)!r} "
                f"({exc.strerror or type(exc).__name__})",
                hint="fix github.app_private_key_file in kuploy.yaml",
            ) from exc
        if "PRIVATE KEY" not in private_key:
            raise ConfigError(
                f"{str(key_path)!r} is not a PEM private key",
                hint="download the GitHub App's private key (.pem) from its settings page",
            )
        app_auth = Auth.AppAuth(settings.app_id, private_key)
        installation_id = settings.app_installation_id or _org_installation(
            app_auth, org, base_url, retry or RetryPolicy(), throttle
        )
        return GitHubProvider(
            Auth.AppInstallationAuth(app_auth, installation_id),
            base_url=base_url,
            retry=retry,
            throttle=throttle,
        )
    token = require_token(settings, env)
    return GitHubProvider(
        Auth.Token(token), base_url=base_url, retry=retry, throttle=throttle, secrets=(token,)
    )


def require_token(settings: GitHubSettings, env: Mapping[str, str]) -> str:
    """``GITHUB_TOKEN`` when no GitHub App is configured ("" with an App), without connecting.

    Raises:
        CredentialsError: neither an App nor the token is set.
    """
    if settings.app_id:
        return ""
    token = env.get(TOKEN_ENV, "").strip()
    if not token:
        raise CredentialsError(
            f"no GitHub credentials: {TOKEN_ENV} is not set",
            hint=f"export {TOKEN_ENV} (scopes repo, workflow, admin:repo_hook), or set "
            "github.app_id and github.app_private_key_file in kuploy.yaml",
        )
    return token


def _org_installation(
    app_auth: Auth.AppAuth, org: str, base_url: str, retry: RetryPolicy, throttle: bool
) -> int:
    """Find the App's installation id on ``org`` (``GET /orgs/{org}/installation``)."""
    integration = GithubIntegration(
        auth=app_auth,
        base_url=base_url,
        user_agent=USER_AGENT,
        retry=None,
        seconds_between_requests=0.25 if throttle else None,
        seconds_between_writes=1.0 if throttle else None,
    )
    try:
        return Seam(base_url, retry, ()).call(
            f"find the GitHub App installation on {org}",
            lambda: int(integration.get_org_installation(org).id),
        )
    finally:
        integration.close()

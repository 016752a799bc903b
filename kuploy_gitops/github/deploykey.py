"""Per-repository read-only credentials: one deploy key per student repo, held by Argo CD only.

Argo CD fetches each student repo with a key that opens only that repo, read-only, and that only
the Applications of the student's own AppProject can use:

1. an Ed25519 key pair is generated in memory (never written to disk, git or a log);
2. its public half becomes a read-only deploy key of the repo, titled :func:`key_title`;
3. its private half is registered in Argo CD as a repository scoped to the student's AppProject
   (``POST /api/v1/repositories`` with ``project``), for the repo's SSH URL, the URL form a deploy
   key authenticates and the one the student's Application names.

A re-run keeps a working pair (one key of ours on GitHub, the repository in Argo CD and not
failing to connect); anything else, or ``rotate``, makes a new pair: the new key is added first,
Argo CD is switched to it, and only then are the old keys deleted, so fetching never breaks.
No org-wide credential or credential template is used: a remote base naming another student's
repo finds no credential for it (and ``validate`` refuses remote bases anyway).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from kuploy_gitops import repourl
from kuploy_gitops.argocd.repositories import RepoEntry
from kuploy_gitops.config import PlatformConfig
from kuploy_gitops.errors import ConfigError, CredentialsError, InvalidInputError, ProviderError
from kuploy_gitops.github.provider import GitProvider, RepoInfo

if TYPE_CHECKING:
    from kuploy_gitops.argocd.client import ArgoCDClient

STEP = "deploy key"


class RepoRegistry(Protocol):
    """The Argo CD calls this module makes (the Argo CD client has them)."""

    def find_repository(self, url: str, project: str) -> RepoEntry | None:
        """The repository of ``url`` scoped to ``project``, or ``None``."""
        ...

    def upsert_ssh_repository(self, url: str, project: str, private_key: str) -> None:
        """Create or replace the project-scoped repository with an SSH key."""
        ...

    def delete_repository(self, url: str, project: str) -> None:
        """Delete the project-scoped repository."""
        ...


class KeyPair:
    """An SSH key pair; the private half stays out of ``repr`` and ``str``."""

    __slots__ = ("_private", "public")

    def __init__(self, public: str, private: str) -> None:
        self.public = public
        self._private = private

    @property
    def private(self) -> str:
        """The OpenSSH-format private key (PEM text)."""
        return self._private

    def __repr__(self) -> str:
        return f"KeyPair(public={self.public!r}, private=<redacted>)"

    __str__ = __repr__


def generate_key_pair(comment: str) -> KeyPair:
    """A fresh Ed25519 pair: OpenSSH private key text and ``ssh-ed25519 ... comment``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode("ascii")
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return KeyPair(f"{public.decode('ascii')} {comment}", private)


def key_title(cfg: PlatformConfig) -> str:
    """The title that marks the deploy keys this platform owns (one platform per cluster)."""
    return f"kuploy Argo CD read-only ({cfg.cluster_name})"


def source_url(info: RepoInfo) -> str:
    """The URL Argo CD fetches a student repo by: its SSH URL, which the deploy key opens."""
    if not info.ssh_url:
        raise ProviderError(
            f"{info.full_name} has no SSH URL",
            hint="the git host must serve SSH for per-repository deploy keys",
        )
    return info.ssh_url


def same_repo(url: str, owner: str, name: str) -> bool:
    """Whether ``url`` (https or SSH, any case, with or without ``.git``) is ``owner/name``."""
    return repourl.normalise(url).endswith(f"/{owner}/{name}".lower())


def connect(repo: Path, environ: Mapping[str, str] | None) -> ArgoCDClient:
    """The Argo CD client `github setup` and `teardown` register and remove keys with."""
    from kuploy_gitops.argocd import ops as argocd_ops

    try:
        return argocd_ops.connect(repo, argocd_ops.ConnectOptions(), env=environ)
    except CredentialsError as exc:
        raise CredentialsError(
            f"each student repo's read-only deploy key is registered in Argo CD: {exc.message}",
            hint=exc.hint,
        ) from exc
    except (ConfigError, InvalidInputError) as exc:
        raise ConfigError(
            f"each student repo's read-only deploy key is registered in Argo CD: {exc.message}",
            hint=exc.hint or "set ARGOCD_SERVER and ARGOCD_AUTH_TOKEN",
        ) from exc


@contextmanager
def registry_for(
    repo: Path, given: RepoRegistry | None, environ: Mapping[str, str] | None
) -> Iterator[RepoRegistry]:
    """``given`` (tests pass a client on the Argo CD double), or one from the environment."""
    if given is not None:
        yield given
        return
    client = connect(repo, environ)
    try:
        yield client
    finally:
        client.close()


def ensure(
    gh: GitProvider,
    argocd: RepoRegistry,
    info: RepoInfo,
    *,
    title: str,
    project: str,
    rotate: bool = False,
) -> tuple[str, str]:
    """Give Argo CD a working read-only key for the repo; ``(status, detail)`` of the step."""
    url = source_url(info)
    ours = [k for k in gh.list_deploy_keys(info.owner, info.name) if k.title == title]
    entry = argocd.find_repository(url, project)
    working = entry is not None and entry.connection != "Failed"
    if not rotate and working and len(ours) == 1 and ours[0].read_only:
        return "ok", f"read-only key {ours[0].id}, registered for {url} in project {project}"
    pair = generate_key_pair(title)
    new = gh.add_deploy_key(info.owner, info.name, title=title, key=pair.public, read_only=True)
    argocd.upsert_ssh_repository(url, project, pair.private)
    for old in ours:
        gh.delete_deploy_key(info.owner, info.name, old.id)
    if not ours and entry is None:
        return "created", f"read-only key {new.id}, registered for {url} in project {project}"
    why = "rotated" if rotate else "replaced (missing, extra, writable or failing)"
    return "repaired", f"read-only key {new.id} {why}; {len(ours)} old key(s) deleted"


def remove(
    gh: GitProvider, argocd: RepoRegistry, info: RepoInfo, *, title: str, project: str
) -> tuple[str, str]:
    """Delete the repo's deploy keys of ours and its Argo CD repository; ``(status, detail)``."""
    ours = [k for k in gh.list_deploy_keys(info.owner, info.name) if k.title == title]
    for key in ours:
        gh.delete_deploy_key(info.owner, info.name, key.id)
    url = source_url(info)
    entry = argocd.find_repository(url, project)
    if entry is not None:
        argocd.delete_repository(entry.url, project)
    if not ours and entry is None:
        return "ok", "no deploy key or Argo CD repository to remove"
    registered = "and its Argo CD repository " if entry is not None else ""
    return "removed", f"{len(ours)} deploy key(s) {registered}for {url}"

"""Student repo URLs: their grammar, their host and organisation, and whose repo one is.

A student-repo app's URL goes into the tenant's AppProject ``sourceRepos`` and its Application,
so it decides what Argo CD fetches with the platform's credentials. Only two spellings of one
repository are accepted: ``https://HOST/ORG/NAME[.git]`` and the SSH form the deploy keys of
`github setup` use (``git@HOST:ORG/NAME[.git]`` or ``ssh://git@HOST/ORG/NAME[.git]``), with
HOST the platform's git host and ORG its organisation. Anything else (another scheme, a
wildcard, a negation such as ``!https://...``, credentials, a port, a query) is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from kuploy_gitops.errors import InvalidInputError
from kuploy_gitops.names import DNS_LABEL, GITHUB_LOGIN

# GitHub's repository names: letters, digits, '.', '-', '_' (at most 100); '.' and '..' are not
# names. Organisation names follow the login grammar (names.GITHUB_LOGIN).
_REPO_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
# The user each scheme's URL carries: none for https, git for SSH.
_SCHEME_USER = {"https": None, "ssh": "git"}
_SCP = re.compile(r"^git@(?P<host>[^:/@\s]+):(?P<path>[^\s]+)$")


@dataclass(frozen=True)
class RepoRef:
    """One repository on the platform's git host: ``org/name`` as typed (compared lowercase)."""

    host: str
    org: str
    name: str

    @property
    def key(self) -> str:
        """``org/name`` lowercase, without ``.git``: how GitHub (and Argo CD) tell repos apart."""
        return f"{self.org}/{self.name}".lower()


_SCP_LIKE = re.compile(r"^([\w.-]+@)?([\w.-]+):(?!//)(.+)$")


def normalise(url: str) -> str:
    """A repository URL as Argo CD compares them.

    Lowercase, no trailing ``/`` or ``.git``, the scp-like SSH form as an ``ssh://`` URL.

    ``git@github.com:o/r.git`` and ``ssh://git@github.com/o/r`` are the same repository (the
    deploy-key URLs of student repos are of the first form); an https URL of it is not (it
    needs another credential).
    """
    u = url.strip().lower().rstrip("/")
    scp = _SCP_LIKE.match(u)
    if scp and "/" not in scp.group(2):
        u = f"ssh://{scp.group(1) or ''}{scp.group(2)}/{scp.group(3).lstrip('/')}"
    return u[:-4] if u.endswith(".git") else u


def git_host(api_url: str) -> str:
    """The web/git host of the platform's GitHub: github.com, or the Enterprise server's host."""
    if not api_url:
        return "github.com"
    return (urlsplit(api_url).hostname or "github.com").lower()


def redacted(url: str) -> str:
    """``url`` with what may carry a token masked: credentials, the query and the fragment."""
    url, hash_, _ = url.partition("#")
    url, query, _ = url.partition("?")
    tail = ("?***" if query else "") + ("#***" if hash_ else "")
    scheme, sep, rest = url.partition("://")
    if sep:
        netloc, slash, path = rest.partition("/")
        if "@" in netloc:
            netloc = "***@" + netloc.rpartition("@")[2]
        url = f"{scheme}{sep}{netloc}{slash}{path}"
    return url + tail


def parse(url: str, host: str, org: str) -> RepoRef:
    """Parse a student repo URL on ``host`` in ``org``; refuse anything else in one line."""
    hint = f"use https://{host}/{org}/<repo> (or git@{host}:{org}/<repo>.git)"
    shown = redacted(url)
    if not url or len(url) > 300 or any(c.isspace() or ord(c) < 0x20 for c in url):
        raise InvalidInputError(f"repo URL {shown!r} is not a URL", hint=hint)
    scp = _SCP.match(url)
    if scp:
        got_host, path = scp.group("host"), scp.group("path")
    else:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise InvalidInputError(f"repo URL {shown!r} is not a URL", hint=hint) from exc
        if (
            parts.scheme not in _SCHEME_USER
            or parts.username != _SCHEME_USER[parts.scheme]
            or parts.password is not None
            or port is not None
            or parts.query
            or parts.fragment
        ):
            raise InvalidInputError(
                f"repo URL {shown!r} must be a plain https:// (or git@ SSH) URL without "
                "credentials, port, query or fragment",
                hint=hint,
            )
        got_host, path = parts.hostname or "", parts.path.removeprefix("/")
    if got_host.lower() != host:
        raise InvalidInputError(
            f"repo URL {shown!r} is not on the platform's git host {host}", hint=hint
        )
    segments = path.removesuffix("/").split("/")
    if len(segments) != 2:
        raise InvalidInputError(f"repo URL {shown!r} does not name one repository", hint=hint)
    got_org, name = segments[0], segments[1].removesuffix(".git")
    if not GITHUB_LOGIN.match(got_org) or got_org.lower() != org.lower():
        raise InvalidInputError(
            f"repo URL {shown!r} is outside the platform's organisation {org}", hint=hint
        )
    if not _REPO_NAME.match(name) or name in (".", ".."):
        raise InvalidInputError(f"repo URL {shown!r} does not name one repository", hint=hint)
    return RepoRef(host=host, org=got_org, name=name)


def key_of(url: str, host: str, org: str) -> str | None:
    """``org/name`` of a valid repo URL (lowercase), or None when ``url`` is not one."""
    try:
        return parse(url, host, org).key
    except InvalidInputError:
        return None


def named_for(name: str, repo_name_pattern: str, students: list[str]) -> list[str]:
    """The students whose `github setup` repos could be called ``name`` (longest name first).

    ``repo_name_pattern`` is kuploy.yaml's ``github.student_repo_name`` (``{student}`` and
    ``{app}``); a repo named for student ``kim-lee`` also looks like student ``kim``'s app
    ``lee-web``, so every candidate is returned and the longest name (the most specific) first.
    """
    lowered = name.lower()
    marker = "\x00"
    found: list[str] = []
    for student in students:
        prefix, _, suffix = repo_name_pattern.format(student=student, app=marker).partition(marker)
        prefix, suffix = prefix.lower(), suffix.lower()
        middle = lowered[len(prefix) : len(lowered) - len(suffix)]
        if (
            lowered.startswith(prefix)
            and lowered.endswith(suffix)
            and len(lowered) > len(prefix) + len(suffix)
            and DNS_LABEL.match(middle)
        ):
            found.append(student)
    return sorted(found, key=lambda s: (-len(s), s))


_PATH_SEGMENT = re.compile(r"^[A-Za-z0-9._-]+$")
_REVISION = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/-]{0,254}$")


def check_path(path: str) -> None:
    """Refuse an app path that is no relative folder inside the repo (``deploy``, ``k8s/prod``)."""
    segments = path.split("/")
    if path in ("", ".") or all(_PATH_SEGMENT.match(p) and p not in (".", "..") for p in segments):
        return
    raise InvalidInputError(
        f"path {path!r} must be a relative folder inside the repo",
        hint="use letters, digits, '.', '_', '-' and '/' between folders, e.g. deploy",
    )


def check_revision(revision: str) -> None:
    """Refuse a revision that is no git branch, tag or commit name (``main``, ``v1.2``, a SHA)."""
    if (
        _REVISION.match(revision)
        and ".." not in revision
        and "//" not in revision
        and not revision.endswith(("/", ".", ".lock"))
    ):
        return
    raise InvalidInputError(
        f"revision {revision!r} is not a branch, tag or commit",
        hint="e.g. main, v1.0 or a commit SHA",
    )

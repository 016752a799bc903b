"""Drift: committed rendered files that differ from what the specs render to.

Used by ``render`` (to re-render and commit), ``render --check`` and ``validate`` (to report
drift). Everything under :func:`kuploy_gitops.render.rendered_roots` is rendered, so a file there
that no spec renders is drift too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from kuploy_gitops import layout, render, tenant_spec
from kuploy_gitops.config import PlatformConfig
from kuploy_gitops.errors import ConfigError
from kuploy_gitops.plan import FilePlan


def expected_files(repo: Path, cfg: PlatformConfig) -> dict[str, str]:
    """Every rendered file of the repo: the platform's and every onboarded tenant's.

    Raises:
        ConfigError: a spec file is unreadable or breaks a rule (names the file and student),
            or two specs bind one GitHub login.
    """
    files = render.render_platform(cfg)
    login_of: dict[str, str] = {}  # login file -> the student whose spec binds it
    for student in tenant_spec.list_students(repo):
        spec = tenant_spec.load_spec(repo, student, cfg)
        assert spec is not None  # listed a moment ago
        tenant_files = render.render_tenant(cfg, spec)
        if spec.github:
            marker = layout.login_marker(spec.github)
            other = login_of.setdefault(marker, student)
            if other != student:
                raise ConfigError(
                    f"GitHub login {spec.github!r} is bound to two tenants: {other!r} "
                    f"({layout.tenant_spec(other)}) and {student!r} "
                    f"({layout.tenant_spec(student)})",
                    hint="a login belongs to one tenant: correct the github key of one spec",
                )
        files.update(tenant_files)
    return files


def rendered_on_disk(repo: Path) -> list[str]:
    """Repo-relative paths of every file under the rendered roots."""
    out: list[str] = []
    for root in render.rendered_roots():
        base = repo / root
        if base.is_dir():
            out.extend(p.relative_to(repo).as_posix() for p in base.rglob("*") if p.is_file())
    return out


def render_plan(repo: Path, cfg: PlatformConfig) -> FilePlan:
    """The whole-repo re-render as a plan: every rendered file written, strays deleted."""
    files = expected_files(repo, cfg)
    fplan = FilePlan(repo)
    for path in rendered_on_disk(repo):
        if path not in files:
            fplan.delete(path)
    fplan.write_all(files)
    return fplan


def compare(
    expected: Mapping[str, str], owned: Iterable[str], read: Callable[[str], str | None]
) -> list[str]:
    """Sorted paths that drift: expected but different or missing, or present but not expected.

    ``owned`` are the paths that exist under the rendered folders being compared; ``read``
    returns a path's committed text (``None`` when missing).
    """
    paths = set(owned) | set(expected)
    return sorted(p for p in paths if p not in expected or read(p) != expected[p])


def drift_paths(repo: Path, cfg: PlatformConfig) -> list[str]:
    """Every drifting path of the whole repo (see :func:`compare`)."""

    def read(path: str) -> str | None:
        try:
            return (repo / path).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    return compare(expected_files(repo, cfg), rendered_on_disk(repo), read)

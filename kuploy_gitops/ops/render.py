"""``render`` and ``render --check``: every tenant re-rendered from the specs."""

from __future__ import annotations

from pathlib import Path

from kuploy_gitops import drift
from kuploy_gitops.config import load_config
from kuploy_gitops.errors import DriftError
from kuploy_gitops.ops.writing import finish, writing
from kuploy_gitops.plan import ApplyResult


def render_check(repo: Path) -> None:
    """Raise :class:`DriftError` listing every drifting file; return when there is none."""
    paths = drift.drift_paths(repo, load_config(repo))
    if paths:
        raise DriftError(paths)


def render_all(repo: Path, *, dry_run: bool = False, push: bool = False) -> ApplyResult:
    """Re-render every tenant and the platform manifests; commit what changed."""
    with writing(repo) as (git, cfg):
        fplan = drift.render_plan(repo, cfg)
        return finish(
            git,
            cfg,
            fplan,
            "kuploy: re-render all tenants",
            summary="every tenant",
            dry_run=dry_run,
            push=push,
        )

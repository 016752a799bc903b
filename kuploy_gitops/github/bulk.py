"""`github setup` for many students: one result or one failure per student.

The batch stops early only when a rate limit outlasts the provider's bounded waits; a re-run
resumes where it stopped (finished steps are skipped).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from kuploy_gitops import config, tenant_spec
from kuploy_gitops.errors import KuployError, ProviderError
from kuploy_gitops.github import deploykey
from kuploy_gitops.github.deploykey import RepoRegistry
from kuploy_gitops.github.ops import Progress_, SetupOptions, SetupResult, provider_for, setup
from kuploy_gitops.github.provider import GitProvider


@dataclass
class BulkResult:
    """What a bulk setup did: one result per student that finished, one error per failure."""

    results: list[SetupResult] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (student, error)
    stopped: str = ""  # why the batch stopped early (a rate limit that outlasts the bounds)


def setup_many(
    repo: Path,
    students: Sequence[str],
    opts: SetupOptions,
    *,
    provider: GitProvider | None = None,
    argocd: RepoRegistry | None = None,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    progress: Progress_ | None = None,
) -> BulkResult:
    """Run :func:`setup` for each student (all onboarded ones with a GitHub login when empty).

    A failing student is recorded and the batch goes on; a rate limit that outlasts the
    provider's bounded waits stops the batch (a re-run resumes where it stopped).
    """
    cfg = config.load_config(repo)
    if not students:
        students = [
            s
            for s in tenant_spec.list_students(repo)
            if (spec := tenant_spec.read_spec(repo, s)) is not None and spec.github
        ]
    out = BulkResult()
    with (
        deploykey.registry_for(repo, argocd, environ) as registry,
        provider_for(cfg, provider, environ) as gh,
    ):
        for i, student in enumerate(students, 1):
            try:
                out.results.append(
                    setup(
                        repo,
                        replace(opts, student=student),
                        provider=gh,
                        argocd=registry,
                        environ=environ,
                        sleep=sleep,
                    )
                )
            except ProviderError as exc:
                out.failures.append((student, str(exc)))
                if exc.status in (403, 429) and "rate limited" in exc.message:
                    out.stopped = str(exc)
                    break
            except KuployError as exc:
                out.failures.append((student, str(exc)))
            if progress:
                progress(i, len(students))
    return out


def ensure_all_set_up(bulk: BulkResult) -> None:
    """Raise ProviderError when any student of a bulk setup failed (after the report is shown)."""
    if not bulk.failures:
        return
    raise ProviderError(
        f"github setup failed for {len(bulk.failures)} of "
        f"{len(bulk.failures) + len(bulk.results)} student(s)"
        + (" (stopped early: rate limited)" if bulk.stopped else ""),
        hint="fix what the lines above say and re-run: finished steps are skipped",
    )

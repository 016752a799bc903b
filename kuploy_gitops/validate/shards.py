"""Large repos checked in shards of tenants by forked worker processes (one per core).

Workers are forked so they inherit the parent's compiled schemas; each checks its shard with a
run of its own and sends back a small, picklable :class:`ShardResult`, which the parent merges
as if it had checked those tenants itself (one unknown-kind warning per kind, as in a serial
run).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate.crosstenant import Claim, ObjectKey
from kuploy_gitops.validate.findings import Finding

if TYPE_CHECKING:
    from kuploy_gitops.validate.engine import Run

PARALLEL_MIN_TENANTS = 40
_FORKED: Run | None = None


@dataclass
class ShardResult:
    """What a worker found in its shard of tenants (small, picklable)."""

    findings: list[Finding]
    files: int
    objects: int
    builds: int
    cached_builds: int
    hosts: dict[tuple[str, str], list[Claim]]
    checked: set[str]
    unknown_kinds: set[tuple[str, str]]
    object_keys: list[ObjectKey]
    tenants: int


def check_parallel(
    run: Run, students: list[str], workers: int, drift: bool, drift_of: list[str] | None
) -> list[str] | None:
    """Check ``students`` in shards on ``workers`` processes; the drift (when asked) beside."""
    global _FORKED  # noqa: PLW0603 - handed to forked children, never pickled
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    run.schemas.warm()
    _FORKED = run
    size = max(8, min(64, len(students) // (workers * 4) or 1))
    shards = [students[i : i + size] for i in range(0, len(students), size)]
    done = 0
    drift_future = None
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork() in a process with threads (rich's refresh
        # thread); the children only run pure Python validation and exit.
        warnings.simplefilter("ignore", DeprecationWarning)
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    try:
        if drift:
            drift_future = pool.submit(_forked_drift, drift_of)
        for result in pool.map(_forked_shard, shards):
            merge(run, result)
            done += result.tenants
            if run.progress:
                run.progress(done, len(students))
        return drift_future.result() if drift_future is not None else None
    finally:
        pool.shutdown()
        _FORKED = None


def shard_result(run: Run) -> ShardResult:
    """What ``run`` found, for the parent."""
    return ShardResult(
        findings=run.report.findings,
        files=run.report.files,
        objects=run.report.objects,
        builds=run.report.builds,
        cached_builds=run.report.cached_builds,
        hosts=run.hosts,
        checked=run.checked,
        unknown_kinds=run.unknown_kinds,
        object_keys=run.keys_of([p for p, _ in run.parsed_paths()]),
        tenants=len(run.checked),
    )


def merge(run: Run, result: ShardResult) -> None:
    """Add a shard's findings and facts to ``run``."""
    seen = {f.message for f in run.report.findings if f.rule == F.UNKNOWN_KIND}
    for finding in result.findings:
        if finding.rule == F.UNKNOWN_KIND:
            if finding.message in seen:
                continue  # one warning per kind per run, as in a serial run
            seen.add(finding.message)
        run.report.findings.append(finding)
    run.report.files += result.files
    run.report.objects += result.objects
    run.report.builds += result.builds
    run.report.cached_builds += result.cached_builds
    for key, claims in result.hosts.items():
        run.hosts.setdefault(key, []).extend(claims)
    run.checked |= result.checked
    run.object_keys.extend(result.object_keys)


def _child() -> Run:
    parent = _FORKED
    assert parent is not None
    return type(parent)(parent.cfg, parent.tree, parent.opts, None, schemas=parent.schemas)


def _forked_shard(students: list[str]) -> ShardResult:
    run = _child()
    run.check_tenants(students)
    return shard_result(run)


def _forked_drift(students: list[str] | None) -> list[str]:
    return _child().drift_paths(students)

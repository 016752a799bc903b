"""Large repos checked in shards of tenants by forked worker processes (one per core).

Workers are forked so they inherit the parent's compiled schemas; each checks its shard with a
run of its own and sends back one small, picklable :class:`TenantResult` per tenant, which the
parent merges as if it had checked those tenants itself.
"""

from __future__ import annotations

import gc
import warnings
from typing import TYPE_CHECKING

from kuploy_gitops.validate.results import TenantResult

if TYPE_CHECKING:
    from kuploy_gitops.validate.engine import Run

PARALLEL_MIN_TENANTS = 40
_FORKED: Run | None = None


def check_parallel(run: Run, students: list[str], workers: int) -> list[TenantResult]:
    """Check ``students`` in shards on ``workers`` processes; merge their results into ``run``."""
    global _FORKED  # noqa: PLW0603 - handed to forked children, never pickled
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    run.schemas.warm()
    _FORKED = run
    size = max(8, min(64, len(students) // (workers * 4) or 1))
    shards = [students[i : i + size] for i in range(0, len(students), size)]
    results: list[TenantResult] = []
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork() in a process with threads (rich's refresh
        # thread); the children only run pure Python validation and exit.
        warnings.simplefilter("ignore", DeprecationWarning)
        pool = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("fork"), initializer=_settle
        )
    try:
        for shard in pool.map(_forked_shard, shards):
            for result in shard:
                run.merge(result)
            results.extend(shard)
            if run.progress:
                run.progress(len(results), len(students))
        return results
    finally:
        pool.shutdown()
        _FORKED = None


def _settle() -> None:
    # What the fork inherited (schemas, the file listing) lives as long as the worker: keep the
    # garbage collector from walking it again and again.
    gc.freeze()


def _forked_shard(students: list[str]) -> list[TenantResult]:
    parent = _FORKED
    assert parent is not None
    run = type(parent)(parent.cfg, parent.tree, parent.opts, None, schemas=parent.schemas)
    return run.check_tenants(students)

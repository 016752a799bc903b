"""Real processes for the concurrency tests: forked children that share nothing but the disk.

Forked (not spawned) so that a child starts with the package already imported: a process costs
milliseconds, not an interpreter start.
"""

from __future__ import annotations

import multiprocessing
import os
import warnings
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import Any

CONTEXT = multiprocessing.get_context("fork")


def start(target: Callable[..., Any], *args: Any) -> BaseProcess:
    """Fork a child running ``target(*args)``; its exit code is 0 unless it raised or died."""
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork() in a process with threads (pytest-xdist's); the
        # children run kuploy's own code and exit.
        warnings.simplefilter("ignore", DeprecationWarning)
        proc = CONTEXT.Process(target=target, args=args)
        proc.start()
    return proc


def own_group() -> None:
    """Make the calling child lead its own process group (so a kill takes its git too)."""
    os.setpgid(0, 0)

"""An exclusive lock file whose holder's death frees it: an ``flock`` held for a block.

A lock file that holds its owner's pid must be created and then written: a second process
that reads it in between sees no pid, and a pid check cannot tell "not written yet" from
"owner died". An ``flock`` has no such window: the kernel holds it for the open file and drops
it when its holder dies, however it dies. The pid in the file is for people to read.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from kuploy_gitops.errors import GitError


@contextlib.contextmanager
def hold(path: Path) -> Iterator[int]:
    """Hold ``path``'s lock for the block and yield 0, or yield who holds it without taking it.

    The holder's pid is yielded (-1 when it has not written it yet): the caller decides what a
    held lock means. The file is removed when a holder releases it.
    """
    fd = _acquire(path)
    if fd is None:
        yield _read_pid(path) or -1
        return
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield 0
    finally:
        # Unlinked while still locked: a waiter that opened this inode sees it is no longer
        # the lock path and starts again (see _acquire).
        path.unlink(missing_ok=True)
        os.close(fd)


def _acquire(path: Path) -> int | None:
    """An open descriptor of ``path`` holding its exclusive flock, or None when it is held.

    Opening and locking are two steps, so the inode locked must still be the one at ``path``
    (the holder unlinks the file on release, and a third process may have created a new one
    since): when it is not, try again.
    """
    for _ in range(100):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            same = path.stat().st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)
    raise GitError(
        f"could not lock {path}: it keeps being replaced", hint="retry"
    )  # pragma: no cover


def _read_pid(path: Path) -> int:
    try:
        return int(path.read_text().strip() or "0")
    except (OSError, ValueError):
        return 0

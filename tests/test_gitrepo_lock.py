"""The repo lock with real processes: never two holders, and a killed holder frees it at once."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from helpers import git
from processes import CONTEXT, start

from kuploy_gitops import repolock
from kuploy_gitops.errors import GitError
from kuploy_gitops.gitrepo import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    path = tmp_path / "r"
    git(tmp_path, "init", "-q", "-b", "main", str(path))
    return GitRepo(path)


def contend(path: Path, log: Path, until: float) -> None:
    """Take the lock again and again until ``until``; log each hold's start and end."""
    repo = GitRepo(path)
    me = os.getpid()
    while time.time() < until:
        try:
            with repo.lock():
                with log.open("a") as fh:
                    fh.write(f"start {me}\n")
                time.sleep(0.002)  # a holder that overlapped another would show here
                with log.open("a") as fh:
                    fh.write(f"end {me}\n")
        except GitError:
            time.sleep(0.0005)


def test_processes_racing_for_the_lock_never_hold_it_together(
    repo: GitRepo, tmp_path: Path
) -> None:
    log = tmp_path / "holds.log"
    until = time.time() + 0.3
    procs = [start(contend, repo.path, log, until) for _ in range(4)]
    for proc in procs:
        proc.join(10)
        assert proc.exitcode == 0
    lines = log.read_text().splitlines()
    holders = {line.split()[1] for line in lines}
    assert len(lines) >= 10 and len(holders) >= 2, "the processes did not contend"
    # Every hold is one start immediately followed by the same process's end.
    for start_line, end_line in zip(lines[::2], lines[1::2], strict=True):
        assert start_line.startswith("start ")
        assert end_line == "end " + start_line.split()[1]
    assert not repo.lock_path.exists()  # the last holder removed it


def hold_before_writing_pid(path: Path, ready: object) -> None:
    """Take the lock and stop where the pid is not written yet (the old race's window)."""

    def stop(fd: int, length: int) -> None:
        del fd, length
        ready.set()  # type: ignore[attr-defined]
        time.sleep(60)

    repolock.os.ftruncate = stop  # type: ignore[attr-defined]  # this child's os only
    with GitRepo(path).lock():
        pass


def test_a_holder_killed_before_it_wrote_its_pid(repo: GitRepo) -> None:
    ready = CONTEXT.Event()
    child = start(hold_before_writing_pid, repo.path, ready)
    assert ready.wait(10)
    # The file exists and holds no pid yet: the old lock read that as pid 0, "stale", and a
    # second run took it. A live holder's lock is never taken.
    assert repo.lock_path.read_text() == ""
    with pytest.raises(GitError, match="another kuploy-gitops is writing") as info, repo.lock():
        pass
    assert info.value.hint == "wait for it to finish and run your command again"
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join(10)
    # Killed: the kernel dropped its flock, so the lock is free at once (the file is left).
    assert repo.lock_path.exists()
    with repo.lock():
        assert repo.lock_path.read_text() == f"{os.getpid()}\n"
    assert not repo.lock_path.exists()


def test_the_error_names_the_holders_pid(repo: GitRepo) -> None:
    with repo.lock(), pytest.raises(GitError) as info, GitRepo(repo.path).lock():
        pass
    assert info.value.message == (
        f"another kuploy-gitops is writing {repo.path} (pid {os.getpid()})"
    )

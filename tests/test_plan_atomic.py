"""Atomic writes: a process SIGKILLed at any step leaves the repo as before or as after."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import git, tree_snapshot

from kuploy_gitops import api, plan
from kuploy_gitops.gitrepo import GitRepo

ROSTER = "identifier,github_username,github_id,name\n" + "".join(
    f"s{i},,,Student {i}\n" for i in range(4)
)


# The CLI in a child process whose every apply SIGKILLs it after step N (N > 0), or after the
# first file moved into place past the commit point (N = -1): the kill is injected from here
# through plan.apply's step callback, never by the product itself.
CHILD = """
import os, signal, sys
from kuploy_gitops import plan
from kuploy_gitops.cli import run

kill_at = int(sys.argv[1])
steps = 0
original = plan.apply


def kill_at_step(done):
    global steps
    steps += 1
    if steps == kill_at or (kill_at == -1 and done.startswith("moved ")):
        os.kill(os.getpid(), signal.SIGKILL)


def apply(*args, **kwargs):
    return original(*args, on_step=kill_at_step, **kwargs)


plan.apply = apply
sys.exit(run(sys.argv[2:]))
"""


def run_cli(repo: Path, *args: str, kill_at: int = 0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(kill_at), "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_plan_diff_and_effective(platform: Path) -> None:
    fp = plan.FilePlan(platform)
    fp.write("kuploy.yaml", (platform / "kuploy.yaml").read_text())
    fp.write("new.txt", "hello\n")
    fp.delete("missing.txt")
    assert list(fp.effective()) == ["new.txt"]
    assert "+++ b/new.txt" in fp.diff() and "+hello" in fp.diff()


def kill_and_recover(platform: Path, tmp_path: Path, steps: list[int] | None) -> set[str]:
    """Kill `onboard --roster` at each of ``steps`` (None: every step until one completes).

    After each kill, recovery must leave the repo exactly as before or exactly as after the
    command (checked against the same command run to completion in a copy), and clean.
    Returns the outcomes seen ("before", "after").
    """
    roster = tmp_path / "r.csv"
    roster.write_text(ROSTER)
    before = tree_snapshot(platform)
    head_before = git(platform, "rev-parse", "HEAD")
    # The reference "after": the same command run to completion in a copy.
    ref = tmp_path / "ref"
    git(tmp_path, "clone", "-q", str(platform), str(ref))
    assert run_cli(ref, "onboard", "--roster", str(roster)).returncode == 0
    after = tree_snapshot(ref)

    outcomes = set()
    for step in steps or range(1, 1000):
        work = tmp_path / f"w{step}"
        git(tmp_path, "clone", "-q", str(platform), str(work))
        proc = run_cli(work, "onboard", "--roster", str(roster), kill_at=step)
        if proc.returncode == 0:
            assert steps is None, f"step {step} is past the last step"
            assert step > 10  # every file write, the journal and every rename were interrupted
            break
        assert proc.returncode == -signal.SIGKILL, proc.stderr
        # The next kuploy command (here a read-only one, then a no-op write) finishes the job.
        plan.recover(GitRepo(work))
        state = tree_snapshot(work)
        head = git(work, "rev-parse", "HEAD")
        if state == before:
            assert head == head_before
            outcomes.add("before")
        else:
            assert state == after, f"half-written repo after kill at step {step}"
            assert git(work, "log", "-1", "--format=%s").startswith("kuploy: onboard 4")
            outcomes.add("after")
        assert git(work, "status", "--porcelain") == ""
    return outcomes


def test_kill_before_and_after_the_commit_point(platform: Path, tmp_path: Path) -> None:
    # 4 students x 7 files are staged (steps 1-28), the journal is the commit point (29), the
    # files are moved into place (30-57), then the commit (58). The slow tier kills at every
    # step; this one at the first and last of each phase.
    assert kill_and_recover(platform, tmp_path, [1, 28, 29, 30, 56, 57, 58]) == {
        "before",
        "after",
    }


@pytest.mark.slow
def test_kill_at_every_step_leaves_before_or_after(platform: Path, tmp_path: Path) -> None:
    assert kill_and_recover(platform, tmp_path, None) == {"before", "after"}


def test_recovery_runs_before_any_write(platform: Path, tmp_path: Path) -> None:
    proc = run_cli(platform, "onboard", "kim", kill_at=-1)  # past the journal: rolls forward
    assert proc.returncode == -signal.SIGKILL
    # A later, different command completes the interrupted one first, then does its own.
    api.onboard(platform, api.OnboardOptions(student="lee"))
    log = git(platform, "log", "--format=%s").splitlines()
    assert log[:2] == ["kuploy: onboard student lee", "kuploy: onboard student kim"]
    assert git(platform, "status", "--porcelain") == ""

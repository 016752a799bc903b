"""A write killed at any point (git's own children with it): the next command, a read one too,
finds the repo as before or as after, with no lock, no journal and nothing half-staged.

The kills are real: a forked child leading its own process group runs `onboard --roster` and
SIGKILLs the whole group (itself and any git it is running) at a step chosen by a seeded
random draw, or while a `git update-index` of its commit holds `.git/index.lock`.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from helpers import git, tree_snapshot
from processes import CONTEXT, own_group, start

from kuploy_gitops import api, cli, plan
from kuploy_gitops.gitrepo import GitRepo


def roster(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "r.csv"
    path.write_text(
        "identifier,github_username,github_id,name\n"
        + "".join(f"s{i},,,Student {i}\n" for i in range(count))
    )
    return path


def onboard_and_die(repo: Path, roster_file: Path, kill_at: int, paused: object) -> None:
    """`onboard --roster` in a child that kills its process group at step ``kill_at``.

    ``kill_at`` 0: kill while the commit's `git update-index` holds index.lock; -1: stop at the
    commit point and wait there (set ``paused``), to be killed from outside.
    """
    own_group()
    steps = 0
    original = plan.apply

    def on_step(done: str) -> None:
        nonlocal steps
        steps += 1
        if kill_at == -1 and done == "journal written":
            paused.set()  # type: ignore[attr-defined]
            time.sleep(60)
        if steps == kill_at:
            os.killpg(0, signal.SIGKILL)

    def refresh_index_and_die(self: GitRepo, paths: object) -> None:
        del paths
        subprocess.Popen(  # noqa: S603 - git, as GitRepo.refresh_index runs it
            [*self.argv, "update-index", "--add", "--remove", "-z", "--stdin"],
            stdin=subprocess.PIPE,
        )
        while not (self.git_dir / "index.lock").exists():
            time.sleep(0.001)
        os.killpg(0, signal.SIGKILL)

    plan.apply = lambda *a, **kw: original(*a, on_step=on_step, **kw)  # type: ignore[assignment]
    if kill_at == 0:
        GitRepo.refresh_index = refresh_index_and_die  # type: ignore[method-assign]
    cli.run(["-C", str(repo), "onboard", "--roster", str(roster_file)])


def kill_run(work: Path, roster_file: Path, kill_at: int) -> None:
    child = start(onboard_and_die, work, roster_file, kill_at, None)
    child.join(120)
    assert child.exitcode == -signal.SIGKILL, f"not killed at step {kill_at}"


def cli_run(repo: Path, *args: str) -> Result:
    return CliRunner().invoke(cli.main, ["-C", str(repo), *args], catch_exceptions=False)


def assert_settled(work: Path, before: dict[str, bytes], after: dict[str, bytes]) -> str:
    """The repo is exactly as before or as after the roster, clean, with nothing left over."""
    git_dir = work / ".git"
    for leftover in ("kuploy-txn", "kuploy.lock", "index.lock"):
        assert not (git_dir / leftover).exists(), leftover
    assert git(work, "status", "--porcelain") == ""  # nothing staged or changed
    state = tree_snapshot(work)
    if state == before:
        return "before"
    assert state == after, "half-written repo"
    assert git(work, "log", "-1", "--format=%s").startswith("kuploy: onboard ")
    api.render_check(work)
    return "after"


def kill_at_random_points(
    platform: Path, tmp_path: Path, students: int, seeds: list[int], per_seed: int
) -> set[str]:
    """Kill the roster at seeded random steps, and once while its git holds index.lock; after
    each kill, one read command settles the repo."""
    roster_file = roster(tmp_path, students)
    before = tree_snapshot(platform)
    ref = tmp_path / "ref"
    git(tmp_path, "clone", "-q", str(platform), str(ref))
    api.onboard_roster(ref, roster_file, api.OnboardOptions(student=""))
    after = tree_snapshot(ref)
    files = len(git(ref, "show", "--name-only", "--format=", "HEAD").split())
    # Steps: each file staged (1..files), the journal (the commit point), each file moved
    # into place, the commit.
    last = 2 * files + 2
    outcomes: set[str] = set()
    readers = [("list",), ("render", "--check")]
    kills = [0]  # while the commit's git holds index.lock
    for seed in seeds:
        draw = random.Random(seed)
        kills.append(draw.randint(1, files))  # before the commit point
        kills.extend(draw.randint(files + 1, last) for _ in range(per_seed - 1))
    for n, kill_at in enumerate(kills):
        work = tmp_path / f"w{n}"
        git(tmp_path, "clone", "-q", str(platform), str(work))
        kill_run(work, roster_file, kill_at)
        if kill_at == 0:
            assert (work / ".git" / "index.lock").exists()
        result = cli_run(work, *readers[n % 2])
        assert result.exit_code == 0, result.output
        assert result.stderr.startswith(("note: finished an interrupted write", "note: discarded"))
        outcomes.add(assert_settled(work, before, after))
    return outcomes


def test_a_roster_killed_at_a_seeded_point_and_in_its_git_is_settled_by_a_read(
    platform: Path, tmp_path: Path
) -> None:
    assert kill_at_random_points(platform, tmp_path, 4, [0], 1) == {"before", "after"}


@pytest.mark.slow
def test_a_roster_of_fifty_killed_at_random_points(platform: Path, tmp_path: Path) -> None:
    assert kill_at_random_points(platform, tmp_path, 50, [1, 2, 3], 4) == {"before", "after"}


@pytest.mark.slow
def test_a_stale_index_lock_of_the_killed_git_is_removed(platform: Path, tmp_path: Path) -> None:
    roster_file = roster(tmp_path, 3)
    head = git(platform, "rev-parse", "HEAD")
    kill_run(platform, roster_file, 0)
    git_dir = platform / ".git"
    assert (git_dir / "index.lock").exists() and (git_dir / "kuploy-txn").is_dir()
    assert git(platform, "rev-parse", "HEAD") != head  # killed after the commit, before the index
    result = cli_run(platform, "render", "--check")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("note: finished an interrupted write (kuploy: onboard 3")
    assert git(platform, "status", "--porcelain") == ""
    assert not (git_dir / "index.lock").exists()
    assert [r["student"] for r in api.list_tenants(platform)] == ["s0", "s1", "s2"]


def test_a_running_write_and_a_live_index_lock_are_left_alone(
    platform: Path, tmp_path: Path
) -> None:
    roster_file = roster(tmp_path, 2)
    paused = CONTEXT.Event()
    child = start(onboard_and_die, platform, roster_file, -1, paused)
    assert paused.wait(60)
    # A write that is running (it holds the lock) is not interrupted: a read waits for it.
    result = cli_run(platform, "list")
    assert result.exit_code == 6
    assert f"another kuploy-gitops is writing {platform} (pid " in result.stderr
    assert "wait for it to finish and run your command again" in result.stderr
    # A human's git holds index.lock while the write is killed: the lock is theirs, kept.
    human = subprocess.Popen(  # noqa: S603
        ["git", "-C", str(platform), "update-index", "--add", "--remove", "-z", "--stdin"],
        stdin=subprocess.PIPE,
    )
    while not (platform / ".git" / "index.lock").exists():
        time.sleep(0.001)
    assert child.pid is not None
    os.killpg(child.pid, signal.SIGKILL)
    child.join(10)
    result = cli_run(platform, "list")
    assert result.exit_code == 6
    assert "index.lock is held by a running git" in result.stderr
    assert "run `kuploy-gitops recover`" in result.stderr
    assert human.stdin is not None
    human.stdin.close()
    assert human.wait(10) == 0
    result = cli_run(platform, "recover")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("finished an interrupted write: committed ")
    assert cli_run(platform, "recover").stdout == f"nothing to recover in {platform}.\n"
    assert git(platform, "status", "--porcelain") == ""
    assert not (platform / ".git" / "kuploy.lock").exists()


def push_and_die_in_the_rebase(repo: Path) -> None:
    """Push from a child whose rebase kills its process group after picking the commit."""
    own_group()
    run = GitRepo.run

    def dying(self: GitRepo, *args: str, **kw: object) -> object:
        if args[:2] == ("rebase", "-q"):
            args = ("rebase", "-q", "--exec", f"kill -9 -{os.getpid()}", *args[2:])
        return run(self, *args, **kw)  # type: ignore[arg-type]

    GitRepo.run = dying  # type: ignore[assignment,method-assign]
    GitRepo(repo).push()


@pytest.mark.slow
def test_a_push_killed_in_its_rebase_is_undone_then_pushed(
    platform: Path, other_admin: Path, remote: Path
) -> None:
    api.onboard(other_admin, api.OnboardOptions(student="lee"), push=True)
    api.onboard(platform, api.OnboardOptions(student="kim"))
    ours = git(platform, "rev-parse", "HEAD")
    child = start(push_and_die_in_the_rebase, platform)
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    assert (platform / ".git" / "rebase-merge").is_dir()  # stopped half-way, HEAD detached
    result = cli_run(platform, "list")
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "note: undid the rebase of an interrupted push (run `kuploy-gitops push`)\n"
    )
    assert git(platform, "rev-parse", "HEAD") == ours
    assert git(platform, "symbolic-ref", "--short", "HEAD").strip() == "main"
    assert git(platform, "status", "--porcelain") == ""
    assert not (platform / ".git" / "rebase-merge").exists()
    assert cli_run(platform, "push").stdout.startswith("pushed ")
    assert git(remote, "rev-parse", "main") == git(platform, "rev-parse", "HEAD")

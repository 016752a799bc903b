"""Benchmark of the term operations at the size of a term (a script, not a test).

Goal checked (issue 15): a bulk ``offboard --term T`` of 500 students is one commit, in under
10 s, timed as the admin waits for it: the ``kuploy-gitops offboard --term T --archive --yes``
process from start to exit, in a repo that also holds another term's students (``--others``).
For scale, ``suspend --term T``, ``resume --term T`` and a daily ``expire`` (nothing due) are
timed the same way.

Everything happens in a temporary folder with real git and an isolated git config. The figures
are printed as a table; the exit status is 1 when the goal is missed (the figures still print).

Usage (from the checkout)::

    python benchmarks/term_bench.py                      # 500 students, 100 others
    python benchmarks/term_bench.py --students 20 --others 5   # a quick look
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(CHECKOUT))

from onboard_bench import _isolate_git, _write_roster  # noqa: E402  (the same git and roster)

from kuploy_gitops import api  # noqa: E402

OFFBOARD_GOAL_S = 10.0
TERM = "2026-fall"


def _onboard(repo: Path, prefix: str, count: int, term: str) -> None:
    """Onboard ``count`` students of ``term`` from a roster (one commit)."""
    roster = _write_roster(repo.parent / f"{prefix}.csv", prefix, count)
    expires = (dt.date.today() + dt.timedelta(days=120)).isoformat()
    api.onboard_roster(
        repo,
        roster,
        api.OnboardOptions(student="", course="cs101", term=term, expires=expires),
    )


def _cli(repo: Path, *args: str) -> tuple[float, float]:
    """Seconds the ``kuploy-gitops`` process takes, start to exit (it must succeed), and the
    CPU seconds it and its children (git) used: on a shared machine the first depends on the
    others' load, the second much less."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "kuploy_gitops", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        cwd=CHECKOUT,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def main() -> int:
    """Build the repo, time the commands, print the table; 1 when the goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=500, help="students of the term")
    parser.add_argument("--others", type=int, default=100, help="students of another term")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kuploy-term-bench-") as tmp_name:
        tmp = Path(tmp_name)
        _isolate_git(tmp)
        repo = tmp / "platform"
        api.init(api.InitOptions(repo=repo))
        _onboard(repo, "s", args.students, TERM)
        if args.others:
            _onboard(repo, "o", args.others, "2027-spring")
        # The goal first, on a copy of the repo as it was built; then the others on the repo.
        copy = tmp / "offboard"
        shutil.copytree(repo, copy, symlinks=True)
        commits = int(_git(copy, "rev-list", "--count", "HEAD"))
        load = os.getloadavg()[0]
        offboard = _cli(copy, "offboard", "--term", TERM, "--archive", "--yes")
        one_commit = int(_git(copy, "rev-list", "--count", "HEAD")) == commits + 1
        body = _git(copy, "log", "-1", "--format=%B")
        named = all(f"- s{i:05d}" in body for i in range(1, args.students + 1))
        left = len(list((copy / "tenants").glob("*.yaml")))
        n = args.students
        rows = [
            (f"**offboard --term --archive --yes ({n} students)**", offboard),
            (f"suspend --term ({n} students)", _cli(repo, "suspend", "--term", TERM)),
            (f"resume --term ({n} students)", _cli(repo, "resume", "--term", TERM)),
            ("expire, nothing due", _cli(repo, "expire")),
        ]
    ok = offboard[0] < OFFBOARD_GOAL_S and one_commit and named and left == args.others
    print(f"term_bench on {platform.node()} ({os.cpu_count()} cores), {dt.date.today()}")
    print(f"load average (1 min) when the offboarding started: {load:.1f}")
    print("| the kuploy-gitops process | seconds | CPU seconds (with git) |")
    print("| --- | --- | --- |")
    for what, (wall, cpu) in rows:
        print(f"| {what} | {wall:.2f} | {cpu:.2f} |")
    print(f"| one commit naming every student | {'yes' if one_commit and named else 'NO'} | |")
    print(f"| goal: offboard under {OFFBOARD_GOAL_S:.0f} s | {'met' if ok else 'MISSED'} | |")
    return 0 if ok else 1


if __name__ == "__main__":
    shutil.which("git") or sys.exit("git is not installed")
    sys.exit(main())

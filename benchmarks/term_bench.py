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
import csv
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(CHECKOUT))

from kuploy_gitops import api  # noqa: E402

OFFBOARD_GOAL_S = 10.0
TERM = "2026-fall"


def _isolate_git(tmp: Path) -> None:
    """Use a throw-away global git config with a fixed identity; ignore the system config."""
    cfg = tmp / "gitconfig"
    cfg.write_text(
        "[user]\n\tname = kuploy bench\n\temail = bench@kuploy.invalid\n"
        "[init]\n\tdefaultBranch = main\n",
        encoding="utf-8",
    )
    os.environ["GIT_CONFIG_GLOBAL"] = str(cfg)
    os.environ["GIT_CONFIG_NOSYSTEM"] = "1"


def _onboard(repo: Path, prefix: str, count: int, term: str) -> None:
    """Onboard ``count`` students of ``term`` from a roster (one commit)."""
    roster = repo.parent / f"{prefix}.csv"
    with roster.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["student_id", "github_username", "email", "name"])
        for i in range(1, count + 1):
            sid = f"{prefix}{i:05d}"
            out.writerow([sid, f"gh-{sid}", f"{sid}@student.konkuk.example", f"Student {i}"])
    expires = (dt.date.today() + dt.timedelta(days=120)).isoformat()
    api.onboard_roster(
        repo,
        roster,
        api.OnboardOptions(student="", course="cs101", term=term, expires=expires),
    )


def _cli(repo: Path, *args: str) -> float:
    """Seconds the ``kuploy-gitops`` process takes, start to exit (it must succeed)."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "kuploy_gitops", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        cwd=CHECKOUT,
    )
    return time.perf_counter() - start


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
        rows: list[tuple[str, float]] = []
        rows.append(
            (
                f"suspend --term (process, {args.students} students)",
                _cli(repo, "suspend", "--term", TERM),
            )
        )
        rows.append(
            (
                f"resume --term (process, {args.students} students)",
                _cli(repo, "resume", "--term", TERM),
            )
        )
        rows.append(("expire, nothing due (process)", _cli(repo, "expire")))
        commits = int(_git(repo, "rev-list", "--count", "HEAD"))
        offboard = _cli(repo, "offboard", "--term", TERM, "--archive", "--yes")
        rows.append(
            (f"**offboard --term --archive --yes (process, {args.students} students)**", offboard)
        )
        one_commit = int(_git(repo, "rev-list", "--count", "HEAD")) == commits + 1
        body = _git(repo, "log", "-1", "--format=%B")
        named = all(f"- s{i:05d}" in body for i in range(1, args.students + 1))
        left = len(list((repo / "tenants").glob("*.yaml")))
    ok = offboard < OFFBOARD_GOAL_S and one_commit and named and left == args.others
    print(f"term_bench on {platform.node()} ({os.cpu_count()} cores), {dt.date.today()}")
    print("| measurement | seconds |")
    print("| --- | --- |")
    for what, seconds in rows:
        print(f"| {what} | {seconds:.2f} |")
    print(f"| one commit naming every student | {'yes' if one_commit and named else 'NO'} |")
    print(f"| goal: offboard under {OFFBOARD_GOAL_S:.0f} s | {'met' if ok else 'MISSED'} |")
    return 0 if ok else 1


if __name__ == "__main__":
    shutil.which("git") or sys.exit("git is not installed")
    sys.exit(main())

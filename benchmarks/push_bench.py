"""Several admins pushing at once: N `onboard --push` processes from N clones of one remote.

Each repetition makes a platform repo, a bare remote and N clones in a temporary folder, starts
N ``kuploy-gitops onboard s<i> --push`` processes at the same moment (one per clone) and
measures the time until the last one exits; then checks that all N landed (every student in the
remote's tree, which `render --check` passes). Exit 1 when one did not land.

Usage::

    python benchmarks/push_bench.py                  # 10 pushers, 3 repetitions
    python benchmarks/push_bench.py --pushers 6 --reps 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from kuploy_gitops import api  # noqa: E402

# The CLI, with its push timed and its `git push` attempts counted (reported on stderr).
CHILD = """
import sys, time
from kuploy_gitops import gitrepo
from kuploy_gitops.cli import run

push, git_run, attempts = gitrepo.GitRepo.push, gitrepo.GitRepo.run, [0]


def counted(self, *args, **kw):
    attempts[0] += args[:1] == ("push",)
    return git_run(self, *args, **kw)


def timed(self, **kw):
    began = time.monotonic()
    try:
        return push(self, **kw)
    finally:
        print(f"push {time.monotonic() - began:.3f} {attempts[0]}", file=sys.stderr)


gitrepo.GitRepo.push, gitrepo.GitRepo.run = timed, counted
sys.exit(run(sys.argv[1:]))
"""


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True)


def one_run(base: Path, pushers: int) -> tuple[float, int, float, int]:
    """Seconds until every pusher exited, how many students the remote then holds, the
    longest push (first attempt to landing) and the most attempts of one pusher."""
    platform = base / "platform"
    api.init(api.InitOptions(repo=platform))
    bare = base / "remote.git"
    git(base, "init", "-q", "--bare", "-b", "main", str(bare))
    git(platform, "remote", "add", "origin", str(bare))
    git(platform, "push", "-q", "origin", "main")
    clones = []
    for i in range(pushers):
        clones.append(base / f"admin{i}")
        git(base, "clone", "-q", str(bare), str(clones[-1]))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "NO_COLOR": "1"}
    began = time.monotonic()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, "-C", str(c), "onboard", f"s{i}", "--push"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, c in enumerate(clones)
    ]
    pushes: list[tuple[float, int]] = []
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode != 0:
            print(f"a pusher failed (exit {proc.returncode}): {err.strip()}", file=sys.stderr)
        for line in err.splitlines():
            if line.startswith("push "):
                pushes.append((float(line.split()[1]), int(line.split()[2])))
    took = time.monotonic() - began
    final = base / "final"
    git(base, "clone", "-q", str(bare), str(final))
    api.render_check(final)
    longest = max((p[0] for p in pushes), default=0.0)
    return took, len(api.list_tenants(final)), longest, max((p[1] for p in pushes), default=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushers", type=int, default=10)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    times: list[float] = []
    landed: list[int] = []
    longest: list[float] = []
    attempts: list[int] = []
    for _ in range(args.reps):
        with tempfile.TemporaryDirectory(prefix="kuploy-push-bench-") as tmp:
            took, count, push_took, tries = one_run(Path(tmp), args.pushers)
        times.append(took)
        landed.append(count)
        longest.append(push_took)
        attempts.append(tries)
    load = os.getloadavg()[0]
    print("| measurement | figure |")
    print("| --- | --- |")
    print(f"| pushers started at once | {args.pushers} |")
    print(f"| landed, each repetition | {', '.join(f'{n} of {args.pushers}' for n in landed)} |")
    print(
        f"| time until the last exited, median (range) of {args.reps} | "
        f"{statistics.median(times):.1f} s ({min(times):.1f}-{max(times):.1f}) |"
    )
    print(
        f"| longest push (first attempt to landing), each repetition | "
        f"{', '.join(f'{t:.1f} s' for t in longest)} |"
    )
    most = ", ".join(map(str, attempts))
    print(f"| most push attempts of one pusher, each repetition | {most} |")
    print(f"| load average at the end | {load:.1f} |")
    return 0 if all(n == args.pushers for n in landed) else 1


if __name__ == "__main__":
    sys.exit(main())

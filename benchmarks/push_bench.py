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


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True)


def one_run(base: Path, pushers: int) -> tuple[float, int]:
    """Seconds until every pusher exited, and how many students the remote then holds."""
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
            [sys.executable, "-m", "kuploy_gitops", "-C", str(c), "onboard", f"s{i}", "--push"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, c in enumerate(clones)
    ]
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode != 0:
            print(f"a pusher failed (exit {proc.returncode}): {err.strip()}", file=sys.stderr)
    took = time.monotonic() - began
    final = base / "final"
    git(base, "clone", "-q", str(bare), str(final))
    api.render_check(final)
    return took, len(api.list_tenants(final))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushers", type=int, default=10)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    times: list[float] = []
    landed: list[int] = []
    for _ in range(args.reps):
        with tempfile.TemporaryDirectory(prefix="kuploy-push-bench-") as tmp:
            took, count = one_run(Path(tmp), args.pushers)
        times.append(took)
        landed.append(count)
    load = os.getloadavg()[0]
    print("| measurement | figure |")
    print("| --- | --- |")
    print(f"| pushers started at once | {args.pushers} |")
    print(f"| landed, each repetition | {', '.join(f'{n} of {args.pushers}' for n in landed)} |")
    print(
        f"| time until the last exited, median (range) of {args.reps} | "
        f"{statistics.median(times):.1f} s ({min(times):.1f}-{max(times):.1f}) |"
    )
    print(f"| load average at the end | {load:.1f} |")
    return 0 if all(n == args.pushers for n in landed) else 1


if __name__ == "__main__":
    sys.exit(main())

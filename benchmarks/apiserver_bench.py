"""The API server tier's costs: harness build (warm, optionally cold), start-up, RSS (a script).

- warm build: ``go build`` of the harness with Go's build cache as it is (after one build, only
  the link and our package), into a temporary file: the cached binary is left alone;
- cold build (``--cold``): the same with an empty ``GOCACHE`` (modules already downloaded; the
  download itself is measured by ``go mod download`` into an empty ``GOMODCACHE`` with
  ``--download``);
- start-up: ``--starts`` starts of the cached binary to READY (etcd, kube-apiserver, the
  controller manager launched), median and range, and the resident memory after start.

Usage::

    python benchmarks/apiserver_bench.py                 # warm build + 5 starts
    python benchmarks/apiserver_bench.py --cold --download
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "cluster"))

from apiserver_harness import HARNESS_DIR, build, kube_version, ldflags, start  # noqa: E402


def timed_build(env: dict[str, str]) -> float:
    with tempfile.TemporaryDirectory() as out:
        started = time.monotonic()
        subprocess.run(
            [
                "go",
                "build",
                "-trimpath",
                "-ldflags",
                ldflags(kube_version()),
                "-o",
                f"{out}/b",
                ".",
            ],
            cwd=HARNESS_DIR,
            env={**env, "GOFLAGS": "-mod=readonly -buildvcs=false"},
            check=True,
        )
        return time.monotonic() - started


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (the controller manager), in MiB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--starts", type=int, default=5)
    ap.add_argument("--cold", action="store_true", help="also build with an empty GOCACHE")
    ap.add_argument("--download", action="store_true", help="also time the module download")
    args = ap.parse_args()

    print(f"Kubernetes {kube_version()}, {os.cpu_count()} cores")
    binary = build().binary
    print(f"binary: {binary} ({binary.stat().st_size / 2**20:.0f} MiB)")
    if args.download:
        with tempfile.TemporaryDirectory() as mods:
            env = {**os.environ, "GOMODCACHE": mods, "GOFLAGS": "-mod=mod"}
            t0 = time.monotonic()
            subprocess.run(["go", "mod", "download"], cwd=HARNESS_DIR, env=env, check=True)
            print(f"module download (empty GOMODCACHE): {time.monotonic() - t0:.1f} s")
            subprocess.run(["chmod", "-R", "u+w", mods], check=True)
    if args.cold:
        with tempfile.TemporaryDirectory() as cache:
            print(
                f"cold build (empty GOCACHE): {timed_build({**os.environ, 'GOCACHE': cache}):.1f} s"
            )
    print(f"warm build (GOCACHE as it is): {timed_build(dict(os.environ)):.1f} s")

    times, rss = [], []
    for _ in range(args.starts):
        cluster = start(binary)
        times.append(cluster.start_seconds)
        time.sleep(2)  # let the controller manager's caches fill before reading memory
        rss.append(rss_mib(cluster.pid))
        cluster.stop()
    print(
        f"start to READY over {len(times)} starts: median {statistics.median(times):.2f} s "
        f"(min {min(times):.2f}, max {max(times):.2f}); "
        f"RSS after start: median {statistics.median(rss):.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

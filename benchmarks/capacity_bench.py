"""`capacity` and `report` on a platform repo of N tenants (issue 15: under 2 s each at 5,000).

Builds the repo directly (kuploy.yaml with a class timetable of four rooms and their node
sizes, and N tenant specs written as files: `capacity` reads only kuploy.yaml and the specs,
so no onboarding commits are needed), then runs each command ``--reps`` times as a separate
process, as the admin runs it, and prints median and range of the wall times. The first run,
which parses every spec and fills the summaries' cache, is shown on its own.

Usage::

    python benchmarks/capacity_bench.py                 # 5,000 tenants, 5 runs each
    python benchmarks/capacity_bench.py --tenants 500 --reps 3
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(CHECKOUT))

from kuploy_gitops import config, layout, yamlio  # noqa: E402
from kuploy_gitops.tenant_spec import AppSpec, TenantSpec, dump_spec  # noqa: E402

GOAL = 2.0
ROOMS = ("b201", "b202", "b204", "b205")


def build(repo: Path, tenants: int) -> None:
    data = config.default_config_data()
    data["timetable"]["rooms"] = {
        room: {
            "slots": [
                {"day": day, "start": f"{9 + 3 * i:02d}:00", "end": f"{11 + 3 * i:02d}:45"}
                for day in ("mon", "wed", "fri")
            ]
        }
        for i, room in enumerate(ROOMS)
    }
    data["capacity"] = {
        "volume_storage": "20Ti",
        "rooms": {
            r: {"nodes": 40, "cpu": "8", "memory": "32Gi", "ephemeral_storage": "200Gi"}
            for r in ROOMS
        },
        "pools": {"core": {"nodes": 3, "cpu": "8", "memory": "32Gi"}},
    }
    repo.mkdir(parents=True)
    (repo / layout.CONFIG_FILE).write_text(yamlio.dump(data))
    (repo / layout.TENANTS_DIR).mkdir()
    app = AppSpec("web", "managed", image="ghcr.io/konkuk-kuploy/web:1.0", port=8080)
    for i in range(tenants):
        spec = TenantSpec(
            f"student-{i:05d}",
            "large" if i % 10 == 0 else "small",
            name=f"Student {i}",
            course=f"cs{101 + i % 7}",
            term="2026-2",
            expires=f"2026-12-{1 + i % 28:02d}",
            apps=(app,),
        )
        (repo / layout.tenant_spec(spec.student)).write_text(dump_spec(spec))


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time, and CPU time (user + system) of the process: on a shared machine the
    second says what the command costs, the first also what the neighbours cost it."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stderr}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return elapsed, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tenants", type=int, default=5000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    env_note = f"{platform.python_version()}, {os.cpu_count()} cores"
    with tempfile.TemporaryDirectory(prefix="kuploy-capacity-bench-") as tmp:
        repo = Path(tmp) / "platform"
        started = time.perf_counter()
        build(repo, args.tenants)
        built = time.perf_counter() - started
        cli = [sys.executable, "-m", "kuploy_gitops", "-C", str(repo)]
        at = ["--at", "2026-12-02 10:00"]
        commands = {
            "`capacity -o json`": [*cli, "capacity", *at, "-o", "json"],
            "`capacity` (table)": [*cli, "capacity", *at],
            "`report --out DIR`": [*cli, "report", "--out", str(Path(tmp) / "site"), *at],
        }
        # A cache of its own: the first run parses every spec (cold), later ones only changed
        # specs (none here).
        env = {**os.environ, "XDG_CACHE_HOME": str(Path(tmp) / "cache")}
        cold = timed(commands["`capacity -o json`"], env)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(args.reps):  # interleaved: a busy moment hits every command alike
            for name, argv in commands.items():
                times[name].append(timed(argv, env))
        page = (Path(tmp) / "site" / "index.html").stat().st_size
    load = os.getloadavg()[0]
    print(f"{args.tenants} tenants (written in {built:.1f} s), {args.reps} runs each; {env_note}")
    print(f"load average at the end: {load:.1f}")
    print()
    print("| command | wall: median (range) | CPU: median | goal (wall) |")
    print("| --- | --- | --- | --- |")
    missed = []
    for name, pairs in times.items():
        walls, cpus = [w for w, _ in pairs], [c for _, c in pairs]
        med = statistics.median(walls)
        ok = med <= GOAL
        if not ok:
            missed.append(name)
        print(
            f"| {name} | {med:.2f} s ({min(walls):.2f}-{max(walls):.2f}) "
            f"| {statistics.median(cpus):.2f} s | {GOAL:.0f} s {'✓' if ok else '✗'} |"
        )
    print(
        f"| `capacity -o json`, first run (every spec parsed) | {cold[0]:.2f} s (one run) "
        f"| {cold[1]:.2f} s | - |"
    )
    print(f"\nthe page: {page / 1024:.0f} KiB")
    if missed:
        print("\nGOALS MISSED: " + ", ".join(missed))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

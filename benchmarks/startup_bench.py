"""Start-up of the CLI: whole-process times beside a bare ``python -c pass`` (a script).

Runs each command ``--reps`` times as a separate process, interleaved with the baseline, and
prints median wall times, their difference to the baseline, and the goals of issue 9:

- ``--help``, ``--version`` and a command's ``--help``: at most 0.15 s over ``python -c pass``;
- ``validate --student`` on a one-app folder (the student's CI): at most 0.3 s.

Then the heaviest imports of ``--help`` and of ``validate --student`` (``python -X importtime``,
cumulative microseconds). Python may write bytecode (as an installed wheel has it): the first
round only warms that and the kustomize cache and is not counted.

With ``--venv`` the commands run with a fresh venv's interpreter holding this checkout installed
as a wheel (``pip install .``, dependencies from the configured index), as a student's CI would
have it: no start-up hooks of the machine's own interpreter (``.pth`` files) in the figures.

Usage::

    python benchmarks/startup_bench.py            # 15 rounds
    python benchmarks/startup_bench.py --reps 30
    python benchmarks/startup_bench.py --venv     # in a fresh venv (needs the package index)
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
GOAL_HELP_OVER = 0.15
GOAL_STUDENT = 0.30


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, check=False)
    return time.perf_counter() - start


def importtime(cmd: list[str], cwd: Path, env: dict[str, str], top: int) -> list[tuple[int, str]]:
    proc = subprocess.run(
        [cmd[0], "-X", "importtime", *cmd[1:]], cwd=cwd, env=env, capture_output=True, text=True
    )
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line.split("|"))
        if cumulative.isdigit():
            rows.append((int(cumulative), name))
    return sorted(rows, reverse=True)[:top]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--venv", action="store_true", help="run in a fresh venv with the wheel")
    args = parser.parse_args()
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(CHECKOUT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed wheel has its bytecode compiled
    work = Path(tempfile.mkdtemp(prefix="kuploy-startup-"))
    env["XDG_CACHE_HOME"] = str(work / "cache")
    py = sys.executable
    if args.venv:
        subprocess.run([py, "-m", "venv", str(work / "venv")], check=True)
        py = str(work / "venv" / "bin" / "python")
        print(f"installing {CHECKOUT} into {work / 'venv'} ...", flush=True)
        subprocess.run(
            [py, "-m", "pip", "install", "-q", "--disable-pip-version-check", str(CHECKOUT)],
            check=True,
        )
        del env["PYTHONPATH"]  # the installed wheel, not the checkout
    kuploy = [py, "-m", "kuploy_gitops"]
    subprocess.run(
        [*kuploy, "demo", str(work / "platform")], env=env, capture_output=True, check=True
    )
    subprocess.run(
        [
            *kuploy,
            "-C",
            str(work / "platform"),
            "scaffold",
            "kim-minji",
            "api",
            "--out",
            str(work / "student"),
        ],
        env=env,
        capture_output=True,
        check=True,
    )
    commands = {
        "python -c pass (baseline)": [py, "-c", "pass"],
        "kuploy-gitops --help": [*kuploy, "--help"],
        "kuploy-gitops --version": [*kuploy, "--version"],
        "kuploy-gitops validate --help": [*kuploy, "validate", "--help"],
        "kuploy-gitops onboard --help": [*kuploy, "onboard", "--help"],
        # The goal's command: the student's CI, against the rules the scaffold ships in .kuploy/.
        "validate --student (one-app folder)": [
            *kuploy,
            "-C",
            ".kuploy",
            "validate",
            "--student",
            "kim-minji",
            "deploy/",
        ],
        # For information: the same folder against the platform repo, whose managed apps of the
        # tenant share its quota and are rendered and counted (issue 12).
        "(info) validate --student against the platform repo": [
            *kuploy,
            "-C",
            str(work / "platform"),
            "validate",
            "--student",
            "kim-minji",
            "deploy/",
        ],
    }
    cwd = work / "student"
    times: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(args.reps + 1):
        for name, cmd in commands.items():
            took = timed(cmd, cwd, env)
            if round_:
                times[name].append(took)
    base = statistics.median(times["python -c pass (baseline)"])
    print(
        f"kuploy-gitops start-up  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  "
        f"nproc={os.cpu_count()}  python={platform.python_version()}  "
        f"load={os.getloadavg()[0]:.2f}  reps={args.reps}  "
        f"interpreter={'fresh venv' if args.venv else sys.executable}"
    )
    print()
    print("| command | median | min | over baseline | goal |")
    print("| --- | --- | --- | --- | --- |")
    missed = []
    for name, values in times.items():
        med = statistics.median(values)
        over = med - base
        goal = ""
        if name.startswith("kuploy-gitops"):
            ok = over <= GOAL_HELP_OVER
            goal = f"<= +{GOAL_HELP_OVER:.2f} s: {'ok' if ok else 'MISSED'}"
            missed += [] if ok else [name]
        elif name.startswith("validate --student"):
            ok = med <= GOAL_STUDENT
            goal = f"<= {GOAL_STUDENT:.2f} s: {'ok' if ok else 'MISSED'}"
            missed += [] if ok else [name]
        print(f"| {name} | {med:.3f} s | {min(values):.3f} s | +{over:.3f} s | {goal} |")
    for label, cmd in (
        ("--help", commands["kuploy-gitops --help"]),
        ("validate --student", commands["validate --student (one-app folder)"]),
    ):
        print(f"\nheaviest imports of {label} (cumulative us):")
        for cumulative, name in importtime(cmd, cwd, env, 8):
            print(f"  {cumulative:>8}  {name}")
    if missed:
        print("\nGOALS MISSED: " + ", ".join(missed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of the performance goals for `kuploy-gitops validate` (a script, not a test).

For N tenants (default 1,000 and 5,000), each with one platform-managed app (about 10 objects and
one kustomization per tenant), it generates a platform repo with the real renderer and times,
on the same files, in the same run:

- ``kuploy-gitops validate --no-kustomize`` (schemas + admission + drift, end to end),
- ``kuploy-gitops validate`` with kustomize builds: cold (empty cache) and warm (nothing changed),
- ``kuploy-gitops validate --changed-since HEAD~1`` after one tenant changed (warm),
- ``kubernetes-validate --strict`` over the same manifest files,
- ``checkov -d apps --framework kubernetes`` (only for N <= --checkov-max, default 100).

Every command runs as a separate process (the wall time a user or CI sees), and every cold run
(including each ``--no-kustomize`` run) gets an empty ``--cache-dir`` of its own, so no run
reuses an earlier run's results. Goals (issue 3) at N = 1,000: no-kustomize <= 10 s, >= 20x
faster than kubernetes-validate and >= 50x faster than checkov; cold <= 40 s; warm <= 10 s.
Goals (issue 9) at N = 5,000: no-kustomize <= 15 s, cold <= 30 s, warm <= 5 s. The exit
status is 1 when a goal is missed.

Usage (from the checkout; checkov lives in a throw-away venv, never a project dependency)::

    python -m venv /tmp/checkov-venv && /tmp/checkov-venv/bin/pip install checkov
    python benchmarks/validate_bench.py --checkov /tmp/checkov-venv/bin/checkov
    python benchmarks/validate_bench.py --tenants 100 --reps 1          # a quick look
    python benchmarks/validate_bench.py --tenants 5000 --no-kv          # issue 9's goals
    python benchmarks/validate_bench.py --corpus --checkov /tmp/checkov-venv/bin/checkov
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
SNAPSHOT = Path(tempfile.mkdtemp(prefix="kuploy-bench-src-"))
# Every run (and the generator) uses this copy of the package: edits to the checkout during a
# long run cannot make the generated tree drift from its renderer.
_SKIP = shutil.ignore_patterns("__pycache__")
shutil.copytree(CHECKOUT / "kuploy_gitops", SNAPSHOT / "kuploy_gitops", ignore=_SKIP)
shutil.copytree(CHECKOUT / "templates", SNAPSHOT / "templates", ignore=_SKIP)
# The one file that sets the Kubernetes version (the package reads it from the checkout).
_VERSIONS = Path("cluster-bootstrap", "group_vars", "all", "versions.yml")
(SNAPSHOT / _VERSIONS).parent.mkdir(parents=True)
shutil.copy2(CHECKOUT / _VERSIONS, SNAPSHOT / _VERSIONS)
sys.path.insert(0, str(SNAPSHOT))

from kuploy_gitops import config, layout, render, tenant_spec, yamlio  # noqa: E402
from kuploy_gitops.tenant_spec import AppSpec, TenantSpec  # noqa: E402

CORPUS = CHECKOUT / "tests" / "validate" / "corpus" / "broken"
# Goals by the N they are set at (only the N that were run are checked).
GOALS = {
    1000: {"no_kustomize_s": 10.0, "kv_ratio": 20.0, "cold_s": 40.0, "warm_s": 10.0},
    5000: {"no_kustomize_s": 15.0, "cold_s": 30.0, "warm_s": 5.0},
}


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def generate(root: Path, tenants: int) -> Path:
    """A platform repo of ``tenants`` students with one managed app each, committed."""
    repo = root / f"repo-{tenants}"
    data = config.default_config_data()
    cfg = config.parse_config(data)
    files = dict(render.render_platform(cfg))
    files[layout.CONFIG_FILE] = yamlio.dump(data)
    for i in range(tenants):
        spec = TenantSpec(
            student=f"student-{i:04d}",
            github=f"gh-student-{i:04d}",  # as real tenants: RBAC subjects, a login file
            tier="small",
            course="cs101",
            term="2026-fall",
            apps=(
                AppSpec(
                    name="web",
                    mode="managed",
                    image="ghcr.io/konkuk-kuploy/web:1.0",
                    port=8080,
                    size="tiny",
                ),
            ),
        )
        files[layout.tenant_spec(spec.student)] = tenant_spec.dump_spec(spec)
        files.update(render.render_tenant(cfg, spec))
    for path, text in files.items():
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "generated")
    return repo


def manifest_files(repo: Path) -> list[str]:
    """The files kubernetes-validate gets: every manifest under apps/ but kustomizations."""
    return sorted(
        str(p) for p in (repo / layout.APPS_DIR).rglob("*.yaml") if p.name != "kustomization.yaml"
    )


CPU: dict[str, float] = {}


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Wall time, exit code and output; the CPU time (user+sys, children included) goes to CPU."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU["last"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, proc.returncode, proc.stdout + proc.stderr


def kuploy(repo: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "kuploy_gitops",
        "-C",
        str(repo),
        "validate",
        "-o",
        "json",
        *args,
    ]


def run_n(
    root: Path, n: int, reps: int, checkov: str, checkov_max: int, kv: bool
) -> dict[str, float]:
    t0 = time.perf_counter()
    repo = generate(root, n)
    print(
        f"\nN={n}: generated {len(list(repo.rglob('*.yaml')))} YAML files in "
        f"{time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    env = {**os.environ, "PYTHONPATH": str(SNAPSHOT)}
    out: dict[str, float] = {"tenants": float(n)}
    caches = iter(range(10**6))

    def fresh_cache() -> str:
        return str(root / f"cache-{n}-{next(caches)}")

    def report(label: str, times: list[float], cpus: list[float]) -> float:
        value = statistics.median(times)
        out[label + " cpu"] = statistics.median(cpus)
        print(
            f"  {label:<34} {value:8.2f} s wall, {statistics.median(cpus):6.2f} s CPU  "
            f"(runs: {', '.join(f'{t:.2f}' for t in times)}; load "
            f"{os.getloadavg()[0]:.1f})",
            flush=True,
        )
        return value

    def best(label: str, make: Callable[[], list[str]]) -> tuple[float, str]:
        times, cpus, text = [], [], ""
        for _ in range(reps):
            secs, code, text = timed(make(), env)
            if code != 0:
                raise SystemExit(f"{label} failed ({code}): {text[-2000:]}")
            times.append(secs)
            cpus.append(CPU["last"])
        return report(label, times, cpus), text

    out["no_kustomize_s"], text = best(
        "validate --no-kustomize (cold)",
        lambda: kuploy(repo, "--no-kustomize", "--cache-dir", fresh_cache()),
    )
    out["objects"] = json.loads(text[: text.rindex("}") + 1])["objects"]
    warm_cache = fresh_cache()
    out["cold_s"], _ = best(
        "validate (kustomize, cold cache)",
        lambda: kuploy(
            repo, "--cache-dir", warm_cache if not Path(warm_cache).exists() else fresh_cache()
        ),
    )
    out["warm_s"], _ = best(
        "validate (kustomize, warm cache)", lambda: kuploy(repo, "--cache-dir", warm_cache)
    )
    # One tenant changes its replicas through its spec and re-render (a realistic PR).
    spec_path = repo / layout.tenant_spec(f"student-{min(7, n - 1):04d}")
    spec = tenant_spec.parse_spec(yamlio.load(spec_path.read_text()), str(spec_path))
    cfg = config.load_config(repo)
    app = spec.apps[0]
    spec = spec.with_app(AppSpec(**{**app.__dict__, "replicas": 2}))
    spec_path.write_text(tenant_spec.dump_spec(spec))
    for path, text in render.render_tenant(cfg, spec).items():
        (repo / path).write_text(text)
    _git(repo, "commit", "-qam", "student-0007: 2 replicas")
    out["changed_since_s"], _ = best(
        "validate --changed-since HEAD~1",
        lambda: kuploy(repo, "--cache-dir", warm_cache, "--changed-since", "HEAD~1"),
    )
    if kv:
        files = manifest_files(repo)
        exe = shutil.which("kubernetes-validate") or "kubernetes-validate"
        secs, code, text = timed([exe, "--strict", "-k", "1.34.0", "--quiet", *files], env)
        out["kubernetes_validate_s"] = secs
        print(
            f"  {'kubernetes-validate --strict':<34} {secs:8.2f} s wall, {CPU['last']:6.2f} s "
            f"CPU  (1 run, exit {code}; {len(files)} files)",
            flush=True,
        )
    if checkov and n <= checkov_max:
        secs, code, text = timed(
            [
                checkov,
                "-d",
                str(repo / layout.APPS_DIR),
                "--framework",
                "kubernetes",
                "--quiet",
                "--compact",
                "--skip-download",
            ]
        )
        out["checkov_s"] = secs
        print(
            f"  {'checkov --framework kubernetes':<34} {secs:8.2f} s wall, {CPU['last']:6.2f} "
            f"s CPU  (1 run, exit {code})",
            flush=True,
        )
    return out


def corpus_vs_checkov(root: Path, checkov: str) -> None:
    """Run checkov on each broken-corpus manifest; print what it flags."""
    print("\ncheckov on the broken corpus (failed check ids per file):")
    for case in sorted(CORPUS.glob("*.yaml")):
        folder = root / "corpus" / case.stem
        folder.mkdir(parents=True)
        # Each "# file:" section of a corpus case is one more document of the same stream.
        body = "".join(
            "---\n" if line.startswith("# file: ") else line
            for line in case.read_text().splitlines(keepends=True)
            if line.startswith("# file: ") or not line.startswith("# ")
        )
        (folder / "manifest.yaml").write_text(body)
        proc = subprocess.run(
            [
                checkov,
                "-d",
                str(folder),
                "--framework",
                "kubernetes",
                "--skip-download",
                "-o",
                "json",
                "--quiet",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            data = json.loads(proc.stdout or "{}")
        except json.JSONDecodeError:
            data = {}
        runs = data if isinstance(data, list) else [data]
        failed = sorted(
            {
                c["check_id"]
                for r in runs
                for c in (r.get("results", {}) or {}).get("failed_checks", [])
            }
        )
        expect = next(
            (ln[10:].strip() for ln in case.read_text().splitlines() if ln.startswith("# expect:")),
            "",
        )
        print(f"  {case.stem:<34} ours: {expect:<45} checkov: {' '.join(failed) or '-'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--checkov", default="", help="checkov executable (throw-away venv)")
    parser.add_argument("--checkov-max", type=int, default=100)
    parser.add_argument("--corpus", action="store_true", help="checkov on the broken corpus")
    parser.add_argument(
        "--no-kv", action="store_true", help="skip kubernetes-validate (~200 s per 1,000 tenants)"
    )
    args = parser.parse_args()
    print(
        f"{platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} cores",
        flush=True,
    )
    failed = False
    with tempfile.TemporaryDirectory(prefix="kuploy-validate-bench-") as tmp:
        root = Path(tmp)
        gitcfg = root / "gitconfig"
        gitcfg.write_text(
            "[user]\n\tname = bench\n\temail = bench@kuploy.invalid\n"
            "[init]\n\tdefaultBranch = main\n"
        )
        os.environ["GIT_CONFIG_GLOBAL"] = str(gitcfg)
        os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
        if args.corpus:
            if not args.checkov:
                raise SystemExit("--corpus needs --checkov")
            corpus_vs_checkov(root, args.checkov)
            return 0
        results = [
            run_n(root, n, args.reps, args.checkov, args.checkov_max, not args.no_kv)
            for n in args.tenants
        ]
    print(
        "\n| N | objects | validate --no-kustomize | cold | warm | --changed-since | "
        "kubernetes-validate --strict | ratio | checkov | ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        kvs = r.get("kubernetes_validate_s")
        kv_ratio = kvs / r["no_kustomize_s"] if kvs else None
        kv_text = f"{kvs:.1f} s | {kv_ratio:.0f}x" if kv_ratio else "not run | -"
        ck = r.get("checkov_s")
        ck_text = f"{ck:.1f} s | {ck / r['no_kustomize_s']:.0f}x" if ck else "not run | -"
        print(
            f"| {r['tenants']:.0f} | {r['objects']:.0f} | {r['no_kustomize_s']:.2f} s | "
            f"{r['cold_s']:.2f} s | {r['warm_s']:.2f} s | {r['changed_since_s']:.2f} s | "
            f"{kv_text} | {ck_text} |"
        )
        for key, goal in GOALS.get(int(r["tenants"]), {}).items():
            value = kv_ratio if key == "kv_ratio" else r[key]
            if value is None:
                continue
            missed = value < goal if key == "kv_ratio" else value > goal
            verdict = "MISSED" if missed else "ok"
            print(f"  N={r['tenants']:.0f} {key}: {value:.2f} (goal {goal}) {verdict}")
            failed |= missed
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    finally:
        shutil.rmtree(SNAPSHOT, ignore_errors=True)

"""Benchmark of issue 3's performance goals for `kuploy-gitops validate` (a script, not a test).

For N tenants (default 100 and 1,000), each with one platform-managed app (about 10 objects and
one kustomization per tenant), it generates a platform repo with the real renderer and times,
on the same files, in the same run:

- ``kuploy-gitops validate --no-kustomize`` (schemas + admission + drift, end to end),
- ``kuploy-gitops validate`` with kustomize builds: cold (empty cache) and warm (nothing changed),
- ``kuploy-gitops validate --changed-since HEAD~1`` after one tenant changed (warm),
- ``kubernetes-validate --strict`` over the same manifest files,
- ``checkov -d apps --framework kubernetes`` (only for N <= --checkov-max, default 100).

Every command runs as a separate process (the wall time a user or CI sees). Goals at N = 1,000:
no-kustomize <= 10 s, >= 20x faster than kubernetes-validate and >= 50x faster than checkov;
cold <= 40 s; warm <= 10 s. The exit status is 1 when a goal is missed.

Usage (from the checkout; checkov lives in a throw-away venv, never a project dependency)::

    python -m venv /tmp/checkov-venv && /tmp/checkov-venv/bin/pip install checkov
    python benchmarks/validate_bench.py --checkov /tmp/checkov-venv/bin/checkov
    python benchmarks/validate_bench.py --tenants 100 --reps 1          # a quick look
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
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
SNAPSHOT = Path(tempfile.mkdtemp(prefix="kuploy-bench-src-"))
# Every run (and the generator) uses this copy of the package: edits to the checkout during a
# long run cannot make the generated tree drift from its renderer.
_SKIP = shutil.ignore_patterns("__pycache__")
shutil.copytree(CHECKOUT / "kuploy_gitops", SNAPSHOT / "kuploy_gitops", ignore=_SKIP)
shutil.copytree(CHECKOUT / "templates", SNAPSHOT / "templates", ignore=_SKIP)
sys.path.insert(0, str(SNAPSHOT))

from kuploy_gitops import config, layout, render, tenant_spec, yamlio  # noqa: E402
from kuploy_gitops.tenant_spec import AppSpec, TenantSpec  # noqa: E402

CRD_DIR = CHECKOUT / "tests" / "data" / "argocd"
CORPUS = CHECKOUT / "tests" / "validate" / "corpus" / "broken"
GOALS = {
    "no_kustomize_s": 10.0,
    "kv_ratio": 20.0,
    "checkov_ratio": 50.0,
    "cold_s": 40.0,
    "warm_s": 10.0,
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
        "--crd-dir",
        str(CRD_DIR),
        "-o",
        "json",
        *args,
    ]


def run_n(root: Path, n: int, reps: int, checkov: str, checkov_max: int) -> dict[str, float]:
    t0 = time.perf_counter()
    repo = generate(root, n)
    print(
        f"\nN={n}: generated {len(list(repo.rglob('*.yaml')))} YAML files in "
        f"{time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    env = {**os.environ, "PYTHONPATH": str(SNAPSHOT)}
    out: dict[str, float] = {"tenants": float(n)}
    objects = 0

    def best(label: str, cmd: list[str], expect_ok: bool = True) -> float:
        times, cpus = [], []
        for _ in range(reps):
            secs, code, text = timed(cmd, env)
            if expect_ok and code != 0:
                raise SystemExit(f"{label} failed ({code}): {text[-2000:]}")
            times.append(secs)
            cpus.append(CPU["last"])
        value = statistics.median(times)
        out[label + " cpu"] = statistics.median(cpus)
        print(
            f"  {label:<34} {value:8.2f} s wall, {statistics.median(cpus):6.2f} s CPU  "
            f"(runs: {', '.join(f'{t:.2f}' for t in times)}; load "
            f"{os.getloadavg()[0]:.1f})",
            flush=True,
        )
        return value

    out["no_kustomize_s"] = best("validate --no-kustomize", kuploy(repo, "--no-kustomize"))
    secs, _, text = timed(kuploy(repo, "--no-kustomize"), env)
    objects = json.loads(text[: text.rindex("}") + 1])["objects"]
    out["objects"] = objects
    colds: list[float] = []
    cold_cpu: list[float] = []
    for i in range(reps):
        cache = root / f"cache-{n}-{i}"
        secs, code, text = timed(kuploy(repo, "--cache-dir", str(cache)), env)
        if code != 0:
            raise SystemExit(f"cold run failed: {text[-2000:]}")
        colds.append(secs)
        cold_cpu.append(CPU["last"])
    out["cold_s"] = statistics.median(colds)
    print(
        f"  {'validate (kustomize, cold cache)':<34} {out['cold_s']:8.2f} s wall, "
        f"{statistics.median(cold_cpu):6.2f} s CPU  "
        f"(runs: {', '.join(f'{t:.2f}' for t in colds)}; load {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    warm_cache = root / f"cache-{n}-0"
    out["warm_s"] = best(
        "validate (kustomize, warm cache)", kuploy(repo, "--cache-dir", str(warm_cache))
    )
    # One tenant changes its replicas through its spec and re-render (a realistic PR).
    spec_path = repo / layout.tenant_spec("student-0007")
    spec = tenant_spec.parse_spec(yamlio.load(spec_path.read_text()), str(spec_path))
    cfg = config.load_config(repo)
    app = spec.apps[0]
    spec = spec.with_app(AppSpec(**{**app.__dict__, "replicas": 2}))
    spec_path.write_text(tenant_spec.dump_spec(spec))
    for path, text in render.render_tenant(cfg, spec).items():
        (repo / path).write_text(text)
    _git(repo, "commit", "-qam", "student-0007: 2 replicas")
    out["changed_since_s"] = best(
        "validate --changed-since HEAD~1",
        kuploy(repo, "--cache-dir", str(warm_cache), "--changed-since", "HEAD~1"),
    )
    files = manifest_files(repo)
    kv = shutil.which("kubernetes-validate") or "kubernetes-validate"
    secs, code, text = timed([kv, "--strict", "-k", "1.34.0", "--quiet", *files], env)
    out["kubernetes_validate_s"] = secs
    print(
        f"  {'kubernetes-validate --strict':<34} {secs:8.2f} s wall, {CPU['last']:6.2f} s CPU"
        f"  (1 run, exit {code}; {len(files)} files)",
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
    parser.add_argument("--tenants", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--checkov", default="", help="checkov executable (throw-away venv)")
    parser.add_argument("--checkov-max", type=int, default=100)
    parser.add_argument("--corpus", action="store_true", help="checkov on the broken corpus")
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
        results = [run_n(root, n, args.reps, args.checkov, args.checkov_max) for n in args.tenants]
    print(
        "\n| N | objects | validate --no-kustomize | cold | warm | --changed-since | "
        "kubernetes-validate --strict | ratio | checkov | ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        kv_ratio = r["kubernetes_validate_s"] / r["no_kustomize_s"]
        ck = r.get("checkov_s")
        ck_text = f"{ck:.1f} s | {ck / r['no_kustomize_s']:.0f}x" if ck else "not run | -"
        print(
            f"| {r['tenants']:.0f} | {r['objects']:.0f} | {r['no_kustomize_s']:.2f} s | "
            f"{r['cold_s']:.2f} s | {r['warm_s']:.2f} s | {r['changed_since_s']:.2f} s | "
            f"{r['kubernetes_validate_s']:.1f} s | {kv_ratio:.0f}x | {ck_text} |"
        )
        if r["tenants"] >= 1000:
            failed |= r["no_kustomize_s"] > GOALS["no_kustomize_s"]
            failed |= kv_ratio < GOALS["kv_ratio"]
            failed |= r["cold_s"] > GOALS["cold_s"] or r["warm_s"] > GOALS["warm_s"]
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    finally:
        shutil.rmtree(SNAPSHOT, ignore_errors=True)

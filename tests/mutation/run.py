"""Mutation testing of the modules that decide security and correctness (docs/testing.md).

    python tests/mutation/run.py              # a fresh run of every mutant in scope, then the table
    python tests/mutation/run.py pss quota    # only these modules (names as in SCOPE)
    python tests/mutation/run.py --report     # the table of the last run (--survivors: and those)

mutmut's settings (the modules, the fast test selection) are in pyproject.toml's [tool.mutmut];
this script picks the functions in scope (only the guard and AppProject builders of
manifests.py, only the push part of gitrepo.py), runs mutmut on them and counts the results per
module from mutmut's own result files under mutants/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MUTANTS = ROOT / "mutants"
LOG = MUTANTS / "run.log"


def _functions(module: str, *names: str) -> list[str]:
    return [f"kuploy_gitops.{module}.{name}__mutmut_*" for name in names]


# Module -> mutant name globs (mutmut names a mutant <module>.x_<function>__mutmut_<n>, a
# method <module>.xǁ<Class>ǁ<method>__mutmut_<n>).
SCOPE: dict[str, list[str]] = {
    "names": ["kuploy_gitops.names.*"],
    "tenant_spec": ["kuploy_gitops.tenant_spec.*"],
    "validate/pss": ["kuploy_gitops.validate.pss.*"],
    "validate/quota": ["kuploy_gitops.validate.quota.*"],
    "validate/isolation": ["kuploy_gitops.validate.isolation.*"],
    "validate/context": ["kuploy_gitops.validate.context.*"],
    "manifests (guards, AppProject)": _functions(
        "manifests",
        "x__labels",
        "x__meta",
        "x_namespace",
        "x_resource_quota",
        "x_limit_range",
        "x_network_policies",
        "x_rbac",
        "x_source_repos",
        "x_app_project",
    ),
    "roster": ["kuploy_gitops.roster.*"],
    "gitrepo (push)": _functions(
        "gitrepo", "xǁGitRepoǁpush", "xǁGitRepoǁremote", "x__last_line", "x_redact"
    ),
    "argocd/reasons": ["kuploy_gitops.argocd.reasons.*"],
    "github/ratelimit": ["kuploy_gitops.github.ratelimit.*"],
}

STATUS = {1: "killed", 3: "killed", 0: "survived", 36: "timeout", 24: "timeout", -24: "timeout"}
STATUS.update({152: "timeout", 255: "timeout", 5: "no tests", 33: "no tests", 37: "type check"})


def module_of(mutant: str, modules: list[str]) -> str | None:
    for module in modules:
        if any(fnmatch.fnmatchcase(mutant, glob) for glob in SCOPE[module]):
            return module
    return None


def results(modules: list[str]) -> dict[str, dict[str, int | None]]:
    """mutant name -> exit code, per module, from mutmut's result files."""
    out: dict[str, dict[str, int | None]] = {m: {} for m in modules}
    for meta in sorted(MUTANTS.glob("kuploy_gitops/**/*.py.meta")):
        for name, code in json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"].items():
            module = module_of(name, modules)
            if module is not None:
                out[module][name] = code
    return out


def table(modules: list[str]) -> str:
    rows = [
        "| module | mutants | killed | survived | timeout | no tests | score |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    total: Counter[str] = Counter()
    for module, codes in results(modules).items():
        count = Counter(
            STATUS.get(c, "not checked" if c is None else "suspicious") for c in codes.values()
        )
        count["mutants"] = len(codes)
        total.update(count)
        rows.append(_row(module, count))
    rows.append(_row("**total**", total))
    return "\n".join(rows)


def _row(name: str, c: Counter[str]) -> str:
    done = c["killed"] + c["survived"] + c["timeout"] + c["no tests"]
    score = f"{100 * (c['killed'] + c['timeout']) / done:.1f}%" if done else "-"
    extra = {k: v for k, v in c.items() if k not in _COLUMNS and v}
    note = f" ({', '.join(f'{v} {k}' for k, v in sorted(extra.items()))})" if extra else ""
    return (
        f"| {name}{note} | {c['mutants']} | {c['killed']} | {c['survived']} | {c['timeout']} "
        f"| {c['no tests']} | {score} |"
    )


_COLUMNS = {"mutants", "killed", "survived", "timeout", "no tests"}


def survivors(modules: list[str]) -> list[str]:
    return sorted(
        name
        for codes in results(modules).values()
        for name, code in codes.items()
        if STATUS.get(code) in ("survived", "no tests")
    )


def run(modules: list[str], children: int) -> None:
    if MUTANTS.exists():
        shutil.rmtree(MUTANTS)
    MUTANTS.mkdir()
    globs = [g for m in modules for g in SCOPE[m]]
    mutmut = shutil.which("mutmut", path=str(Path(sys.executable).parent)) or "mutmut"
    cmd = [mutmut, "run", "--max-children", str(children), *globs]
    print("$", " ".join(cmd[1:]), f"> {LOG.relative_to(ROOT)}", flush=True)
    start = time.monotonic()
    with LOG.open("w", encoding="utf-8") as log:
        proc = subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, check=False)
    minutes = (time.monotonic() - start) / 60
    print(f"mutmut exited {proc.returncode} after {minutes:.1f} min")
    if proc.returncode != 0:
        sys.exit(f"mutmut failed: see {LOG}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "modules", nargs="*", help=f"modules to run (default all): {', '.join(SCOPE)}"
    )
    parser.add_argument("--report", action="store_true", help="only report the last run")
    parser.add_argument("--survivors", action="store_true", help="list mutants not killed")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    modules = [m for m in SCOPE if not args.modules or any(a in m for a in args.modules)]
    if not modules:
        parser.error(f"no module matches {args.modules}")
    if not args.report:
        run(modules, args.max_children)
    elif not args.modules:
        # The last run's modules: those with results (mutmut lists every module's mutants).
        found = results(modules)
        modules = [m for m in modules if any(c is not None for c in found[m].values())]
    print(f"mutation testing, {dt.date.today().isoformat()}")
    print(table(modules))
    if args.survivors or not args.report:
        left = survivors(modules)
        print(f"\n{len(left)} not killed (`mutmut show NAME` shows one):")
        print("\n".join(left))


if __name__ == "__main__":
    main()

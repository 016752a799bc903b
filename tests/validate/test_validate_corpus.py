"""The broken corpus: every file must produce exactly the rule ids it names, nothing else.

A corpus file holds a header (``# expect: rule.id[, rule.id]``, optional ``# severity:``), a body
placed as a new plain-YAML app of the demo student, and optional ``# file: PATH`` sections that
add or replace files of the demo repo. Each is validated in memory with ``validate_files``.

The demo repo here enforces Pod Security baseline (warn and audit restricted), not a new
platform's restricted: so a baseline control is an error and a restricted-only one a warning,
and each case can show either. Under restricted enforcement every control is an error, and
restricted's checks replace the baseline ones they overlap (tests/cluster/test_pod_security.py
proves both setups against the real API server).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kuploy_gitops.config import PlatformConfig
from kuploy_gitops.validate.engine import validate_files
from kuploy_gitops.validate.findings import RULES

CORPUS = Path(__file__).parent / "corpus" / "broken"
DEFAULT_PATH = "apps/workloads/kim-minji/corpus/manifest.yaml"
CASES = sorted(CORPUS.glob("*.yaml"))


# The demo's tenants enforce baseline here (see the module's docstring).
DEMO_ENFORCE = "baseline"


def parse_case(path: Path) -> tuple[set[str], str | None, dict[str, str]]:
    expect: set[str] = set()
    severity = None
    files: dict[str, str] = {}
    current = DEFAULT_PATH
    chunks: dict[str, list[str]] = {current: []}
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        m = re.match(r"^# (expect|severity|file): (.+)$", line.rstrip("\n"))
        if m and m.group(1) == "expect":
            expect = {x.strip() for x in m.group(2).split(",")}
        elif m and m.group(1) == "severity":
            severity = m.group(2).strip()
        elif m and m.group(1) == "file":
            current = m.group(2).strip()
            chunks[current] = []
        else:
            chunks[current].append(line)
    for name, lines in chunks.items():
        body = "".join(lines)
        if body.strip("\n") and not all(x.startswith("#") for x in body.strip().splitlines()):
            files[name] = body
    return expect, severity, files


def test_corpus_is_big_enough_and_covers_the_rules() -> None:
    assert len(CASES) >= 40
    named = set().union(*(parse_case(p)[0] for p in CASES))
    assert named <= set(RULES), named - set(RULES)
    # Every rule has a corpus case except drift (checked in test_validate_repo), unreadable
    # files (symlinks, FIFOs and bytes cannot live in this text corpus: test_hostile) and a
    # missing helm (the corpus runs with the pinned helm: test_render).
    assert set(RULES) - named == {
        "drift.out-of-date",
        "file.unreadable",
        "render.helm-unavailable",
    }


@pytest.mark.parametrize("case", CASES, ids=[p.stem for p in CASES])
def test_broken_manifest_reports_exact_rule(
    case: Path,
    demo: Path,
    demo_cfg: PlatformConfig,
    crd_dir: Path,
    request: pytest.FixtureRequest,
) -> None:
    expect, severity, files = parse_case(case)
    assert expect, f"{case.name} names no expected rule"
    if any(p.endswith("/Chart.yaml") for p in files):
        request.getfixturevalue("helm")  # a chart is rendered by the pinned helm
    findings = validate_files(demo_cfg, files, demo, crd_dir=crd_dir)
    got = {f.rule for f in findings}
    assert got == expect, "\n".join(f"{f.rule} {f.file}:{f.line} {f.message}" for f in findings)
    for f in findings:
        assert f.message and f.fix and f.file and f.line >= 1
    if severity is not None:
        assert {f.severity for f in findings} == {severity}
    else:
        assert any(f.severity == "error" for f in findings)

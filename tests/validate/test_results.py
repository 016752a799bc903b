"""Tenant results cached between runs: a warm run reports exactly what a cold one does."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from kuploy_gitops.validate import engine, results
from kuploy_gitops.validate.engine import Options, Run, validate_repo
from kuploy_gitops.validate.index import FileIndex


@pytest.fixture
def repo(demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(demo, copy)
    # The copy was written a moment ago: results over it would count as racy and not be kept.
    monkeypatch.setattr(results, "RACY_NS", 0)
    return copy


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tenants each run really checks (not taken from the cache)."""
    seen: list[str] = []
    original = Run.check_tenant

    def spy(self: Run, student: str) -> results.TenantResult:
        seen.append(student)
        return original(self, student)

    monkeypatch.setattr(Run, "check_tenant", spy)
    return seen


def rewrite(path: Path, old: str, new: str) -> None:
    """Change a file in place, and its mtime too (a tick of the clock may not pass)."""
    st = path.stat()
    path.write_text(path.read_text().replace(old, new))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - 1_000_000_000))


def test_a_warm_run_reports_what_the_cold_run_did(repo: Path, checked: list[str]) -> None:
    quota = repo / "apps/cluster/tenants/kim-minji/resourcequota.yaml"
    rewrite(quota, "requests.cpu: '1'", "requests.cpu: '8'")
    cold = validate_repo(Options(repo=repo))
    assert checked == ["kim-minji", "lee-jun", "park-seoyeon"]
    assert {f.rule for f in cold.findings} == {"drift.out-of-date"}
    checked.clear()
    warm = validate_repo(Options(repo=repo))
    assert checked == []
    assert warm == cold


def test_a_changed_file_is_checked_again(repo: Path, checked: list[str]) -> None:
    validate_repo(Options(repo=repo))
    checked.clear()
    deployment = repo / "apps/workloads/kim-minji/web/deployment.yaml"
    rewrite(deployment, "runAsNonRoot: true", "runAsNonRoot: false")
    report = validate_repo(Options(repo=repo))
    assert checked == ["kim-minji"]
    assert "pss.run-as-non-root" in {f.rule for f in report.findings}


def test_kuploy_yaml_and_options_are_part_of_the_key(repo: Path, checked: list[str]) -> None:
    validate_repo(Options(repo=repo))
    checked.clear()
    validate_repo(Options(repo=repo, drift=False))
    assert len(checked) == 3
    checked.clear()
    rewrite(repo / "kuploy.yaml", "limits.cpu: '2'", "limits.cpu: '3'")
    validate_repo(Options(repo=repo, drift=False))
    assert len(checked) == 3
    checked.clear()
    validate_repo(Options(repo=repo, use_cache=False, drift=False))
    assert len(checked) == 3


def test_recent_changes_and_outside_references_are_not_kept(
    repo: Path, checked: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    kustomization = repo / "apps/workloads/kim-minji/web/kustomization.yaml"
    rewrite(kustomization, "  - ingress.yaml\n", "  - ingress.yaml\n  - ../../lee-jun/x.yaml\n")
    monkeypatch.setattr(results, "RACY_NS", 10**18)  # every file counts as just changed
    validate_repo(Options(repo=repo, kustomize=False))
    monkeypatch.setattr(results, "RACY_NS", 0)
    checked.clear()
    validate_repo(Options(repo=repo, kustomize=False))
    assert checked == ["kim-minji", "lee-jun", "park-seoyeon"]
    checked.clear()
    validate_repo(Options(repo=repo, kustomize=False))
    assert checked == ["kim-minji"]  # reads ../../lee-jun: never taken from the cache


def test_a_broken_cache_file_is_rebuilt(repo: Path, checked: list[str]) -> None:
    validate_repo(Options(repo=repo))
    digest = hashlib.sha256(str(repo.resolve()).encode()).hexdigest()[:20]
    cache = Path(os.environ["XDG_CACHE_HOME"]) / "kuploy-gitops" / f"results-{digest}.json"
    assert cache.is_file()
    for broken in ("{", '{"version": 1, "shared": 3}', "[]"):
        cache.write_text(broken)
        checked.clear()
        assert validate_repo(Options(repo=repo)).findings == []
        assert len(checked) == 3
    assert engine.validate_repo(Options(repo=repo)).findings == []


def test_changed_since_takes_untouched_tenants_facts_from_the_cache(
    repo: Path, checked: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    validate_repo(Options(repo=repo))
    read: list[str] = []
    original = FileIndex.facts

    def spy(self: FileIndex, rel: str, compute: Any) -> Any:
        read.append(rel)
        return original(self, rel, compute)

    monkeypatch.setattr(FileIndex, "facts", spy)
    # park-seoyeon (touched) claims the host of kim-minji's app (untouched, cached).
    source = repo / "apps/workloads/kim-minji/web"
    target = repo / "apps/workloads/park-seoyeon/web"
    shutil.copytree(source, target)
    for path in target.iterdir():
        path.write_text(path.read_text().replace("namespace: kim-minji", "namespace: park-seoyeon"))
    checked.clear()
    report = validate_repo(Options(repo=repo, changed_since="HEAD"))
    assert checked == ["park-seoyeon"]
    assert not [p for p in read if "kim-minji" in p or "lee-jun" in p]
    duplicates = [f for f in report.findings if f.rule == "ingress.host-duplicate"]
    assert duplicates and {f.tenant for f in duplicates} == {"park-seoyeon"}
    assert "kim-minji" in duplicates[0].message
    # Without the cache the same facts come from the files themselves.
    read.clear()
    again = validate_repo(Options(repo=repo, changed_since="HEAD", use_cache=False))
    assert [f for f in again.findings if f.rule == "ingress.host-duplicate"] == duplicates


def test_a_claim_round_trips_through_its_data() -> None:
    from dataclasses import asdict

    from kuploy_gitops.validate.crosstenant import Claim

    claim = Claim("kim", "apps/x.yaml", 3, "Ingress", "web", "kim", 2, ["spec", "rules", 0])
    data = claim.to_data()
    assert data == asdict(claim) and Claim(**data) == claim
    data["key"].append("host")  # a copy: the claim keeps its own key
    assert claim.key == ["spec", "rules", 0]

"""A Helm chart rendered as Argo CD renders it, judged by the real API server.

The charts of tests/validate/render/ are rendered with the pinned helm and Argo CD's arguments
(kuploy_gitops.validate.helm), then applied in the demo tenant's namespace (its Pod Security
labels, quotas and LimitRange as rendered): `validate --student` must say what the server says.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from apiserver_harness import REPO_ROOT, Cluster
from helpers import isolated_env
from rendered import apply_guards, apply_in_waves, delete_and_wait, folder_objects, wait_for_pods

from kuploy_gitops import api, config, layout
from kuploy_gitops.validate import helm as argo_helm
from kuploy_gitops.validate.engine import Options, validate_student
from kuploy_gitops.validate.schemas import SchemaSet

CASES = REPO_ROOT / "tests" / "validate" / "render"
STUDENT = "kim-minji"
APP = "shop"


@pytest.fixture(scope="module")
def demo(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo platform repo, its tenant's guards (and the tenant PriorityClass) applied."""
    base = tmp_path_factory.mktemp("chart-demo")
    repo = base / "demo"
    with isolated_env(base, cache=False):
        api.demo(repo)
    platform = folder_objects(repo / "apps" / "cluster" / "platform")
    result = cluster.apply([o for o in platform if o["kind"] == "PriorityClass"])
    assert result.ok, result.stderr
    apply_guards(cluster, repo, STUDENT)
    return repo


def argo_render(case: str, tmp_path: Path) -> list[dict[str, Any]]:
    """What Argo CD applies from the chart: helm template's objects, in the app's namespace."""
    chart = tmp_path / "chart"
    shutil.copytree(CASES / case, chart)
    version = config.kubernetes_version()
    release = argo_helm.Release(
        layout.application_name(STUDENT, APP),
        layout.namespace_name(STUDENT),
        version,
        SchemaSet(version).api_versions(),
    )
    result = argo_helm.template(chart, release)
    assert result.error is None, result.error
    objects = [obj for _, obj in result.objects]
    for obj in objects:
        obj["metadata"].setdefault("namespace", layout.namespace_name(STUDENT))
    return objects


def validate_errors(demo: Path, case: str, tmp_path: Path) -> set[str]:
    root = tmp_path / "student"
    (root / ".git").mkdir(parents=True)
    shutil.copytree(CASES / case, root / "deploy")
    report = validate_student(
        Options(repo=demo, cache_dir=tmp_path / "cache"), STUDENT, root / "deploy"
    )
    return {f.rule for f in report.findings if f.severity == "error"}


def test_a_compliant_chart_is_admitted_and_validate_agrees(
    cluster: Cluster, demo: Path, tmp_path: Path, helm: Path
) -> None:
    objects = argo_render("chart-clean", tmp_path)
    assert {o["kind"] for o in objects} == {"Deployment", "Service"}
    assert validate_errors(demo, "chart-clean", tmp_path) == set()
    try:
        answers = apply_in_waves(cluster, objects)
        problems = [f"{a.what}: {a.stderr}" for a in answers if not a.ok or a.warnings]
        assert not problems, problems
        wait_for_pods(cluster, objects)
    finally:
        delete_and_wait(cluster, objects)


def test_a_privileged_chart_is_refused_and_validate_agrees(
    cluster: Cluster, demo: Path, tmp_path: Path, helm: Path
) -> None:
    objects = argo_render("chart-privileged", tmp_path)
    assert "pss.privileged" in validate_errors(demo, "chart-privileged", tmp_path)
    answer = cluster.apply(objects, dry_run=True)
    assert not answer.ok
    assert "privileged" in answer.stderr

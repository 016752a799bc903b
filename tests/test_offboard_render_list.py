from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import commit_count, git, tree_snapshot

from kuploy_gitops import api, layout, tenant_spec, yamlio
from kuploy_gitops.errors import ConflictError, DriftError, InvalidInputError


@pytest.fixture
def two(platform: Path) -> Path:
    api.onboard(platform, api.OnboardOptions(student="kim", course="cs101"))
    api.onboard(platform, api.OnboardOptions(student="lee"))
    api.app_add(
        platform,
        api.AppOptions(student="kim", app="web", image="ghcr.io/konkuk-kuploy/w:1", port=80),
    )
    api.app_add(
        platform,
        api.AppOptions(
            student="kim", app="api", repo_url="https://github.com/konkuk-kuploy/kim-api.git"
        ),
    )
    return platform


def test_offboard_removes_everything_in_one_commit(two: Path) -> None:
    count = commit_count(two)
    api.offboard(two, "kim")
    assert commit_count(two) == count + 1
    assert not (two / layout.tenant_dir("kim")).exists()
    assert not (two / layout.workload_dir("kim")).exists()
    assert not (two / layout.tenant_spec("kim")).exists()
    assert (two / layout.tenant_dir("lee")).is_dir()
    removed = git(two, "show", "--name-status", "--format=", "HEAD").splitlines()
    assert all(line.startswith("D\t") for line in removed)
    assert any("app-web.yaml" in line for line in removed)
    assert any("appproject.yaml" in line for line in removed)
    assert any("namespace.yaml" in line for line in removed)
    assert git(two, "status", "--porcelain") == ""


def test_offboard_archive_keeps_spec(two: Path) -> None:
    spec_text = (two / layout.tenant_spec("kim")).read_text()
    api.offboard(two, "kim", archive=True)
    assert (two / layout.archived_spec("kim")).read_text() == spec_text
    assert tenant_spec.list_students(two) == ["lee"]


def test_offboard_unknown_student(two: Path) -> None:
    with pytest.raises(ConflictError, match="not onboarded"):
        api.offboard(two, "nobody")


def test_teardown_order_is_declared(two: Path) -> None:
    from kuploy_gitops import yamlio

    def wave_and_options(path: str) -> tuple[int, str]:
        (obj,) = yamlio.load_all((two / path).read_text())
        ann = obj["metadata"]["annotations"]
        return int(ann["argocd.argoproj.io/sync-wave"]), ann.get(
            "argocd.argoproj.io/sync-options", ""
        )

    ns = wave_and_options(layout.tenant_file("kim", "namespace.yaml"))
    proj = wave_and_options(layout.tenant_file("kim", "appproject.yaml"))
    app = wave_and_options(layout.application_file("kim", "web"))
    assert ns[0] < proj[0] < app[0]
    assert "PruneLast=true" in ns[1] and "PruneLast=true" in proj[1]
    assert "PruneLast" not in app[1]


def test_render_is_deterministic_and_check_finds_drift(two: Path, tmp_path: Path) -> None:
    assert api.render_all(two).changed == []
    api.render_check(two)  # raises DriftError on drift
    victim = two / layout.tenant_file("lee", "resourcequota.yaml")
    victim.write_text(victim.read_text().replace("'10'", "'99'"))
    stray = two / layout.tenant_file("lee", "extra.yaml")
    stray.write_text("kind: ConfigMap\n")
    git(two, "add", "-A")
    git(two, "commit", "-qm", "hand edit")
    before = tree_snapshot(two)
    with pytest.raises(DriftError) as info:
        api.render_check(two)
    assert sorted(info.value.paths) == sorted(
        [layout.tenant_file("lee", "resourcequota.yaml"), layout.tenant_file("lee", "extra.yaml")]
    )
    assert info.value.exit_code == 7
    assert tree_snapshot(two) == before
    api.render_all(two)
    api.render_check(two)  # raises DriftError on drift
    assert not stray.exists()


def test_render_rolls_out_a_config_change(two: Path) -> None:
    cfg_path = two / "kuploy.yaml"
    # An admin may relax enforcement to baseline (warn and audit stay restricted).
    cfg_path.write_text(cfg_path.read_text().replace("enforce: restricted", "enforce: baseline"))
    git(two, "commit", "-qam", "baseline pod security")
    result = api.render_all(two)
    assert sorted(result.changed) == [
        layout.tenant_file("kim", "namespace.yaml"),
        layout.tenant_file("lee", "namespace.yaml"),
    ]


def test_render_rolls_out_a_new_run_as_user(two: Path) -> None:
    cfg_path = two / "kuploy.yaml"
    text = cfg_path.read_text()
    assert "run_as_user: 10001" in text
    cfg_path.write_text(text.replace("run_as_user: 10001", "run_as_user: 2000"))
    git(two, "commit", "-qam", "images run as 2000")
    result = api.render_all(two)
    # Only the managed app's Deployment uses the id (the student-repo app's are the student's).
    deployment = f"{layout.workload_dir('kim', 'web')}/deployment.yaml"
    assert result.changed == [deployment]
    (dep,) = yamlio.load_all((two / deployment).read_text())
    context = dep["spec"]["template"]["spec"]["securityContext"]
    assert (context["runAsUser"], context["runAsGroup"], context["fsGroup"]) == (2000,) * 3


def test_render_is_byte_identical_in_a_fresh_clone(two: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(two, "clone", "-q", str(two), str(clone))
    for p in clone.joinpath("apps").rglob("*.yaml"):
        p.unlink()
    # Another process, another hash seed and locale: the output must not change by a byte.
    env = {**os.environ, "PYTHONHASHSEED": "12345", "LC_ALL": "C", "TZ": "Pacific/Kiritimati"}
    subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "import sys; from pathlib import Path; from kuploy_gitops import config, drift;"
                "repo = Path(sys.argv[1]); cfg = config.load_config(repo);"
                "fp = drift.render_plan(repo, cfg);"
                "[(repo / p).parent.mkdir(parents=True, exist_ok=True) or (repo / p).write_text(t)"
                " for p, t in fp.changes.items() if t is not None]"
            ),
            str(clone),
        ],
        check=True,
        env=env,
    )
    assert tree_snapshot(clone) == tree_snapshot(two)


def test_list_tenants(two: Path) -> None:
    rows = api.list_tenants(two)
    assert [r["student"] for r in rows] == ["kim", "lee"]
    assert rows[0]["apps"] == ["api", "web"]
    assert rows[0]["course"] == "cs101"


def test_offboard_a_tenant_whose_name_became_reserved(two: Path) -> None:
    """kuploy.yaml's reserved_namespaces grew to cover an existing tenant: it can still go."""
    cfg_file = two / layout.CONFIG_FILE
    cfg_file.write_text(cfg_file.read_text() + "reserved_namespaces: [lee]\n")
    git(two, "commit", "-qam", "reserve lee")
    with pytest.raises(InvalidInputError, match="'lee' is reserved"):
        api.onboard(two, api.OnboardOptions(student="lee"))
    api.offboard(two, "lee")
    assert not (two / layout.tenant_dir("lee")).exists()
    assert git(two, "status", "--porcelain") == ""

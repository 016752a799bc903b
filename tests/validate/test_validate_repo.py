"""Whole-repo, changed-since, student-folder and in-memory validation on real platform repos."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import REPO_ROOT, git

from kuploy_gitops import api, cli, config, render, tenant_spec
from kuploy_gitops.errors import ConfigError, ConflictError, UsageError
from kuploy_gitops.tenant_spec import AppSpec, TenantSpec
from kuploy_gitops.validate.engine import Options, validate_files, validate_repo, validate_student

PRIVILEGED = """apiVersion: v1
kind: Pod
metadata:
  name: root-shell
spec:
  containers:
    - name: sh
      image: docker.io/library/busybox:1.36
      securityContext:
        privileged: true
"""


def rules(findings: list) -> set[str]:  # type: ignore[type-arg]
    return {f.rule for f in findings}


def test_demo_repo_has_zero_findings(demo: Path, crd_dir: Path) -> None:
    report = validate_repo(Options(repo=demo, crd_dir=crd_dir))
    assert report.findings == []
    assert report.tenants == tenant_spec.list_students(demo)
    assert report.builds >= 1 and report.objects > 30


def test_example_tree_of_this_repo_has_zero_findings(crd_dir: Path) -> None:
    report = validate_repo(Options(repo=REPO_ROOT, crd_dir=crd_dir))
    assert report.findings == []


def test_init_onboard_and_app_add_render_zero_findings(tmp_path: Path, crd_dir: Path) -> None:
    repo = tmp_path / "p"
    api.init(api.InitOptions(repo=repo))
    assert validate_repo(Options(repo=repo, crd_dir=crd_dir)).findings == []
    api.onboard(
        repo,
        api.OnboardOptions(
            student="choi-ara", github="ara-c", tier="large", course="cs101", term="2026-fall"
        ),
    )
    api.onboard(repo, api.OnboardOptions(student="han-bit"))
    assert validate_repo(Options(repo=repo, crd_dir=crd_dir)).findings == []
    api.app_add(
        repo,
        api.AppOptions(
            student="choi-ara",
            app="web",
            image="ghcr.io/konkuk-kuploy/web:2.1",
            port=8080,
            replicas=3,
            size="medium",
            health_path="/healthz",
            env=(("MODE", "prod"),),
        ),
    )
    api.app_add(
        repo,
        api.AppOptions(
            student="choi-ara", app="api", image="docker.io/library/nginx:1.27", port=80
        ),
    )
    api.app_add(
        repo,
        api.AppOptions(
            student="han-bit",
            app="game",
            repo_url="https://github.com/konkuk-kuploy/han-bit-game.git",
        ),
    )
    report = validate_repo(Options(repo=repo, crd_dir=crd_dir))
    assert report.findings == [], [str(f) for f in report.findings]
    assert report.builds == 2


def test_without_crd_dir_the_bundled_crds_check_argo_kinds(demo: Path, tmp_path: Path) -> None:
    assert validate_repo(Options(repo=demo, drift=False)).findings == []
    repo = tmp_path / "copy"
    shutil.copytree(demo, repo)
    app = repo / "apps/cluster/tenants/kim-minji/app-web.yaml"
    app.write_text(app.read_text().replace("  syncPolicy:", "  syncPolcy:"))
    report = validate_repo(Options(repo=repo, drift=False))
    assert rules(report.findings) == {"schema.unknown-field"}
    (unknown,) = report.findings
    assert unknown.kind == "Application" and "syncPolcy" in unknown.message


def test_a_kind_without_any_schema_is_one_warning(demo: Path, tmp_path: Path) -> None:
    # In the admin's platform folder: in a student's app the kind is refused outright
    # (isolation.kind-not-allowed, tests/validate/test_boundary.py).
    repo = tmp_path / "copy"
    shutil.copytree(demo, repo)
    for name in ("a", "b"):
        (repo / f"apps/cluster/platform/{name}.yaml").write_text(
            f"apiVersion: example.org/v1\nkind: Widget\nmetadata:\n  name: {name}\n"
        )
    report = validate_repo(Options(repo=repo, drift=False, kustomize=False))
    unknown = [f for f in report.findings if f.rule == "schema.unknown-kind"]
    assert len(unknown) == 1 and not [f for f in unknown if f.severity == "error"]
    assert "nor in the CRDs bundled with kuploy-gitops" in unknown[0].message


def test_drift_is_reported_per_file(demo: Path, tmp_path: Path, crd_dir: Path) -> None:
    repo = tmp_path / "copy"
    shutil.copytree(demo, repo)
    quota = repo / "apps/cluster/tenants/kim-minji/resourcequota.yaml"
    quota.write_text(quota.read_text().replace("requests.cpu: '1'", "requests.cpu: '8'"))
    (repo / "apps/cluster/tenants/lee-jun/extra.yaml").write_text(
        "apiVersion: v1\nkind: LimitRange\nmetadata:\n  name: x\n  namespace: lee-jun\n"
    )
    report = validate_repo(Options(repo=repo, crd_dir=crd_dir))
    assert rules(report.findings) == {"drift.out-of-date"}
    assert sorted(f.file for f in report.findings) == [
        "apps/cluster/tenants/kim-minji/resourcequota.yaml",
        "apps/cluster/tenants/lee-jun/extra.yaml",
    ]


def test_changed_since_checks_touched_tenants_and_cross_tenant_hosts(
    demo: Path, tmp_path: Path, crd_dir: Path
) -> None:
    repo = tmp_path / "copy"
    shutil.copytree(demo, repo)
    bad = repo / "apps/workloads/kim-minji/shell/pod.yaml"
    bad.parent.mkdir(parents=True)
    bad.write_text(PRIVILEGED)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "planted problem in kim-minji")
    base = git(repo, "rev-parse", "HEAD").strip()
    steal = repo / "apps/workloads/lee-jun/steal/ingress.yaml"
    steal.parent.mkdir(parents=True)
    steal.write_text(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: steal\nspec:\n"
        "  rules:\n    - host: web-kim-minji.apps.konkuk.example\n      http:\n        paths:\n"
        "          - path: /\n            pathType: Prefix\n            backend:\n"
        "              service:\n                name: web\n                port:\n"
        "                  number: 80\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "lee-jun steals a host")

    report = validate_repo(Options(repo=repo, crd_dir=crd_dir, changed_since=base, drift=False))
    assert report.tenants == ["lee-jun"]
    assert rules(report.findings) == {"ingress.host-pattern", "ingress.host-duplicate"}
    assert {f.tenant for f in report.findings} == {"lee-jun"}

    full = validate_repo(Options(repo=repo, crd_dir=crd_dir, drift=False))
    assert "pss.privileged" in rules(full.findings)
    # Both claims are reported when both tenants are checked.
    dup = [f for f in full.findings if f.rule == "ingress.host-duplicate"]
    assert {f.tenant for f in dup} == {"kim-minji", "lee-jun"}

    with_drift = validate_repo(Options(repo=repo, crd_dir=crd_dir, changed_since=base))
    drift = {f.file for f in with_drift.findings if f.rule == "drift.out-of-date"}
    assert drift == {"apps/workloads/lee-jun/steal/ingress.yaml"}


def test_changed_since_config_change_touches_every_tenant(
    demo: Path, tmp_path: Path, crd_dir: Path
) -> None:
    repo = tmp_path / "copy"
    shutil.copytree(demo, repo)
    cfg = repo / "kuploy.yaml"
    cfg.write_text(cfg.read_text() + "\n")
    report = validate_repo(Options(repo=repo, crd_dir=crd_dir, changed_since="HEAD", drift=False))
    assert report.tenants == tenant_spec.list_students(repo)


def test_changed_since_unknown_ref_is_a_usage_error(demo: Path) -> None:
    with pytest.raises(UsageError, match="no-such-ref"):
        validate_repo(Options(repo=demo, changed_since="no-such-ref"))


def test_bad_kubernetes_version_and_crd_dir_are_config_errors(demo: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="1.x"):
        validate_repo(Options(repo=demo, kubernetes_version="1.x"))
    with pytest.raises(ConfigError, match="no schemas for Kubernetes 1.2"):
        validate_repo(Options(repo=demo, kubernetes_version="1.2.0"))
    with pytest.raises(ConfigError, match="does not exist"):
        validate_repo(Options(repo=demo, crd_dir=tmp_path / "nope"))
    with pytest.raises(ConfigError, match="not a kuploy platform repo"):
        validate_repo(Options(repo=tmp_path))


def test_removed_api_depends_on_the_kubernetes_version(demo: Path, crd_dir: Path) -> None:
    cronjob = (
        "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata:\n  name: nightly\nspec:\n"
        "  schedule: '@daily'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n"
        "          restartPolicy: Never\n          containers: []\n"
    )
    files = {"apps/workloads/kim-minji/cron/cron.yaml": cronjob}
    cfg = config.load_config(demo)
    found = validate_files(cfg, files, demo, crd_dir=crd_dir)
    (removed,) = [f for f in found if f.rule == "api.removed"]
    assert "batch/v1 CronJob" in removed.message and "1.25" in removed.message


def test_validate_files_checks_an_in_memory_onboarding(demo: Path, crd_dir: Path) -> None:
    cfg = config.load_config(demo)
    spec = TenantSpec(
        student="new-kid",
        tier="small",
        apps=(AppSpec(name="web", mode="managed", image="ghcr.io/konkuk-kuploy/w:1", port=8080),),
    )
    files = render.render_tenant(cfg, spec)
    files["tenants/new-kid.yaml"] = tenant_spec.dump_spec(spec)
    assert not (demo / "apps/workloads/new-kid").exists()
    assert validate_files(cfg, files, demo, crd_dir=crd_dir) == []
    # The same plan with a foreign host in the (in-memory, kustomize-built) ingress.
    key = "apps/workloads/new-kid/web/ingress.yaml"
    files[key] = files[key].replace(
        "web-new-kid.apps.konkuk.example", "web-kim-minji.apps.konkuk.example"
    )
    found = validate_files(cfg, files, demo, crd_dir=crd_dir)
    assert rules(found) == {"ingress.host-pattern", "ingress.host-duplicate"}
    assert {f.file for f in found if f.tenant == "new-kid"} == {key}


def _scaffold(demo: Path, out: Path) -> None:
    assert cli.run(["-C", str(demo), "scaffold", "kim-minji", "api", "--out", str(out)]) == 0


def test_student_folder_of_the_scaffold_is_clean(
    demo: Path, tmp_path: Path, crd_dir: Path, chdir_tmp: Path
) -> None:
    _scaffold(demo, tmp_path / "student")
    rules_dir = tmp_path / "student" / ".kuploy"
    report = validate_student(
        Options(repo=rules_dir, crd_dir=crd_dir), "kim-minji", tmp_path / "student" / "deploy"
    )
    assert report.findings == [] and report.builds == 1
    # Against the full platform repo too (the tenant's committed guards and AppProject).
    report = validate_student(
        Options(repo=demo, crd_dir=crd_dir), "kim-minji", tmp_path / "student" / "deploy"
    )
    assert report.findings == []


def test_student_folder_findings_use_the_student_paths(
    demo: Path, tmp_path: Path, crd_dir: Path, chdir_tmp: Path
) -> None:
    _scaffold(demo, tmp_path / "student")
    deploy = tmp_path / "student" / "deploy"
    dep = deploy / "deployment.yaml"
    dep.write_text(
        dep.read_text().replace(
            "allowPrivilegeEscalation: false",
            "allowPrivilegeEscalation: false\n            privileged: true",
        )
    )
    ingress = deploy / "ingress.yaml"
    ingress.write_text(ingress.read_text().replace("api-kim-minji", "web-kim-minji"))
    report = validate_student(Options(repo=demo, crd_dir=crd_dir), "kim-minji", deploy)
    by_rule = {f.rule: f for f in report.findings}
    assert set(by_rule) >= {"pss.privileged", "ingress.host-duplicate"}
    assert by_rule["pss.privileged"].file == "student/deploy/deployment.yaml"
    line = dep.read_text().splitlines()[by_rule["pss.privileged"].line - 1]
    assert "privileged: true" in line
    # A duplicate host is placed at the Ingress's own file and line, not at the kustomization.
    (dup,) = [
        f for f in report.findings if f.rule == "ingress.host-duplicate" and "student" in f.file
    ]
    assert dup.file == "student/deploy/ingress.yaml"
    assert "web-kim-minji" in ingress.read_text().splitlines()[dup.line - 1]


def test_student_mode_refuses_unknown_students(demo: Path, tmp_path: Path) -> None:
    with pytest.raises(ConflictError, match="'nobody' is not onboarded") as info:
        validate_student(Options(repo=demo), "nobody", tmp_path)
    assert info.value.exit_code == 5  # as for every command given an unknown student


def test_validate_files_sees_changes_to_untouched_tenants_through_its_index(
    demo: Path, tmp_path: Path, crd_dir: Path
) -> None:
    repo = tmp_path / "copy"
    shutil.copytree(demo, repo)
    cfg = config.load_config(repo)
    spec = TenantSpec(
        student="new-kid",
        tier="small",
        apps=(AppSpec(name="web", mode="managed", image="ghcr.io/konkuk-kuploy/w:1", port=8080),),
    )
    files = render.render_tenant(cfg, spec)
    assert validate_files(cfg, files, repo, crd_dir=crd_dir) == []
    assert validate_files(cfg, files, repo, crd_dir=crd_dir) == []  # from the index
    # An untouched tenant's file changes on disk: the index notices (size/mtime) and re-reads.
    kim = repo / "apps/workloads/kim-minji/web/ingress.yaml"
    kim.write_text(kim.read_text().replace("web-kim-minji", "web-new-kid"))
    found = validate_files(cfg, files, repo, crd_dir=crd_dir)
    assert {(f.rule, f.tenant) for f in found} == {("ingress.host-duplicate", "new-kid")}
    # A duplicate AppProject name in another tenant's folder is seen as well.
    (repo / "apps/cluster/tenants/lee-jun/extra.yaml").write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata:\n  name: new-kid\n"
        "  namespace: argocd\nspec: {}\n"
    )
    found = validate_files(cfg, files, repo, crd_dir=crd_dir)
    assert "manifest.duplicate" in {f.rule for f in found}


def _big_repo(root: Path, tenants: int) -> Path:
    from kuploy_gitops import layout, yamlio

    data = config.default_config_data()
    cfg = config.parse_config(data)
    files = dict(render.render_platform(cfg))
    files[layout.CONFIG_FILE] = yamlio.dump(data)
    for i in range(tenants):
        spec = TenantSpec(
            student=f"s-{i:03d}",
            tier="small",
            apps=(
                AppSpec(
                    name="web",
                    mode="managed",
                    image="ghcr.io/konkuk-kuploy/w:1",
                    port=8080,
                    size="tiny",
                ),
            ),
        )
        files[layout.tenant_spec(spec.student)] = tenant_spec.dump_spec(spec)
        files.update(render.render_tenant(cfg, spec))
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def test_parallel_shards_find_what_a_serial_run_finds(tmp_path: Path, crd_dir: Path) -> None:
    repo = _big_repo(tmp_path / "big", 45)
    (repo / "apps/workloads/s-003/shell").mkdir()
    (repo / "apps/workloads/s-003/shell/pod.yaml").write_text(PRIVILEGED)
    ingress = repo / "apps/workloads/s-040/web/ingress.yaml"
    ingress.write_text(ingress.read_text().replace("web-s-040", "web-s-001"))
    (repo / "apps/cluster/tenants/s-020/extra.yaml").write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata:\n  name: s-021\n"
        "  namespace: argocd\nspec: {}\n"
    )
    serial = validate_repo(Options(repo=repo, crd_dir=crd_dir, jobs=1))
    parallel = validate_repo(Options(repo=repo, crd_dir=crd_dir, jobs=2))
    assert parallel.findings == serial.findings
    assert (parallel.files, parallel.objects, parallel.builds) == (
        serial.files,
        serial.objects,
        serial.builds,
    )
    assert rules(serial.findings) >= {
        "pss.privileged",
        "ingress.host-pattern",
        "ingress.host-duplicate",
        "manifest.duplicate",
        "drift.out-of-date",
    }

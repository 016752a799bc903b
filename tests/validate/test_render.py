"""App folders read as Argo CD reads them (issue 12, part B): Helm charts, jsonnet, plain dirs.

Each case is a folder under tests/validate/render/, copied as a student's ``deploy/`` folder into
a repository of its own and validated with ``validate --student`` (and, for the repo mode, as an
app folder of the platform repo). Charts are rendered by the pinned helm (the ``helm`` fixture
builds it once; see tests/helm_binary.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kuploy_gitops import cli
from kuploy_gitops.config import PlatformConfig, load_config
from kuploy_gitops.validate import helm as helm_module
from kuploy_gitops.validate import jsonnet
from kuploy_gitops.validate.engine import Options, validate_files, validate_student
from kuploy_gitops.validate.findings import Finding

CASES = Path(__file__).parent / "render"
STUDENT = "kim-minji"
# The demo enforces Pod Security baseline here: a privileged pod is an error, the restricted
# controls it also misses are warnings (left out by errors()).
DEMO_ENFORCE = "baseline"


def student_repo(tmp_path: Path, case: str) -> Path:
    """A student repository (its top marked by .git) whose deploy/ folder is the case."""
    root = tmp_path / "student"
    (root / ".git").mkdir(parents=True)
    shutil.copytree(CASES / case, root / "deploy")
    return root


def check(demo: Path, tmp_path: Path, case: str) -> list[Finding]:
    root = student_repo(tmp_path, case)
    opts = Options(repo=demo, cache_dir=tmp_path / "cache")
    return validate_student(opts, STUDENT, root / "deploy").findings


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]


def where(findings: list[Finding]) -> set[tuple[str, str, int]]:
    """(rule, file inside deploy/, line) of the errors."""
    return {
        (f.rule, Path(f.file).as_posix().split("deploy/", 1)[-1], f.line) for f in errors(findings)
    }


# -- Helm --------------------------------------------------------------------------------------


def test_privileged_pod_in_a_chart_is_an_error_on_its_template(
    demo: Path, tmp_path: Path, helm: Path
) -> None:
    findings = check(demo, tmp_path, "chart-privileged")
    # Line 14 of templates/pod.yaml is `privileged: {{ .Values.privileged }}`.
    assert where(findings) == {("pss.privileged", "templates/pod.yaml", 14)}
    (privileged,) = errors(findings)
    assert privileged.kind == "Pod" and privileged.name == "kim-minji-debug"  # release name


def test_privileged_chart_exits_8(
    demo: Path, tmp_path: Path, helm: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = student_repo(tmp_path, "chart-privileged")
    code = cli.run(["-C", str(demo), "validate", "--student", STUDENT, str(root / "deploy")])
    assert code == 8
    assert "[pss.privileged]" in capsys.readouterr().out


def test_a_compliant_chart_is_clean(demo: Path, tmp_path: Path, helm: Path) -> None:
    # values-prod.yaml, docs/example-pod.yaml (privileged) and NOTES.txt are not manifests;
    # the release's namespace is the tenant's (else isolation findings), its name the app's.
    assert check(demo, tmp_path, "chart-clean") == []


def test_chart_values_decide_what_is_rendered(demo: Path, tmp_path: Path, helm: Path) -> None:
    root = student_repo(tmp_path, "chart-clean")
    values = root / "deploy" / "values.yaml"
    values.write_text(values.read_text().replace("privileged: false", "privileged: true"))
    opts = Options(repo=demo, cache_dir=tmp_path / "cache")
    findings = validate_student(opts, STUDENT, root / "deploy").findings
    assert where(findings) == {("pss.privileged", "templates/deployment.yaml", 39)}


def test_a_chart_helm_cannot_render_is_a_finding(demo: Path, tmp_path: Path, helm: Path) -> None:
    findings = check(demo, tmp_path, "chart-broken")
    assert where(findings) == {("render.helm-failed", "Chart.yaml", 1)}
    message = findings[0].message
    assert "nil pointer" in message and "templates/cm.yaml" in message
    assert "kuploy-helm-" not in message and str(tmp_path) not in message


def test_unvendored_dependencies_are_a_finding_not_a_download(
    demo: Path, tmp_path: Path, helm: Path
) -> None:
    findings = check(demo, tmp_path, "chart-unvendored")
    assert where(findings) == {("render.helm-failed", "Chart.yaml", 1)}
    assert "common" in findings[0].message and "charts/" in findings[0].message


def test_a_chart_symlink_out_of_the_repository_is_never_read(
    demo: Path, tmp_path: Path, helm: Path
) -> None:
    secret = tmp_path / "outside.yaml"
    secret.write_text("password: s3cr3t-outside-the-repo\n")
    root = student_repo(tmp_path, "chart-clean")
    (root / "deploy" / "templates" / "leak.yaml").symlink_to(secret)
    opts = Options(repo=demo, cache_dir=tmp_path / "cache")
    findings = validate_student(opts, STUDENT, root / "deploy").findings
    assert where(findings) == {("file.unreadable", "templates/leak.yaml", 1)}
    assert "outside the repository" in findings[0].message
    assert all("s3cr3t" not in f.message for f in findings)


def test_helmignore_is_honoured(demo: Path, tmp_path: Path, helm: Path) -> None:
    # Argo CD's helm skips what .helmignore names: a pod template that would have findings.
    root = student_repo(tmp_path, "chart-clean")
    shutil.copy(CASES / "chart-privileged" / "templates" / "pod.yaml", root / "deploy/templates")
    (root / "deploy" / ".helmignore").write_text("templates/pod.yaml\n")
    opts = Options(repo=demo, cache_dir=tmp_path / "cache")
    assert validate_student(opts, STUDENT, root / "deploy").findings == []


def test_a_file_dependency_inside_the_repository_is_rendered(
    demo: Path, tmp_path: Path, helm: Path
) -> None:
    root = student_repo(tmp_path, "chart-local-dep")
    shutil.copytree(CASES / "common-chart", root / "common")
    opts = Options(repo=demo, cache_dir=tmp_path / "cache")
    findings = validate_student(opts, STUDENT, root / "deploy").findings
    # The dependency's privileged pod, placed at its template in the repository.
    assert {(f.rule, f.file, f.line) for f in errors(findings)} == {
        ("pss.privileged", "common/templates/pod.yaml", 15)
    }


def test_without_helm_a_chart_is_an_error_never_a_pass(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUPLOY_HELM", str(tmp_path / "no-such-helm"))
    findings = check(demo, tmp_path, "chart-privileged")
    assert where(findings) == {("render.helm-unavailable", "Chart.yaml", 1)}
    assert findings[0].severity == "error"
    assert helm_module.HELM_VERSION in findings[0].message  # how to install the pinned one


def test_a_helm_that_is_not_helm_3_is_refused(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "helm4"
    fake.write_text("#!/bin/sh\necho v4.2.4+g1234567\n")
    fake.chmod(0o755)
    monkeypatch.setenv("KUPLOY_HELM", str(fake))
    findings = check(demo, tmp_path, "chart-clean")
    assert where(findings) == {("render.helm-unavailable", "Chart.yaml", 1)}
    assert "not Helm 3" in findings[0].message


# -- jsonnet -----------------------------------------------------------------------------------


def test_jsonnet_is_evaluated_and_checked(demo: Path, tmp_path: Path) -> None:
    findings = check(demo, tmp_path, "jsonnet-app")
    # main.jsonnet's Pod is privileged (line 15); lib.libsonnet is only imported.
    assert where(findings) == {("pss.privileged", "main.jsonnet", 15)}


def test_jsonnet_import_outside_the_repository_is_refused(demo: Path, tmp_path: Path) -> None:
    secret = "s3cr3t-outside-the-repo"
    (tmp_path / "outside.txt").write_text(secret)
    findings = check(demo, tmp_path, "jsonnet-escape")
    assert where(findings) == {("render.jsonnet-failed", "main.jsonnet", 6)}, findings[0].message
    assert "outside the repository" in findings[0].message
    assert all(secret not in f.message for f in findings)


def jsonnet_failure(demo: Path, tmp_path: Path, program: str) -> str:
    """The message of the one finding a deploy/main.jsonnet holding ``program`` gives."""
    root = student_repo(tmp_path, "jsonnet-not-objects")
    (root / "deploy" / "main.jsonnet").write_text(program)
    opts = Options(repo=demo, cache_dir=tmp_path / "cache")
    (finding,) = validate_student(opts, STUDENT, root / "deploy").findings
    assert finding.rule == "render.jsonnet-failed"
    return finding.message


def test_jsonnet_absolute_import_is_refused(demo: Path, tmp_path: Path) -> None:
    message = jsonnet_failure(demo, tmp_path, "{ x: importstr '/etc/passwd' }\n")
    assert "outside the repository" in message and "root:" not in message


def test_jsonnet_output_must_be_objects(demo: Path, tmp_path: Path) -> None:
    findings = check(demo, tmp_path, "jsonnet-not-objects")
    assert where(findings) == {("render.jsonnet-failed", "main.jsonnet", 1)}
    assert "not an object or a list of objects" in findings[0].message


def test_jsonnet_that_never_ends_is_stopped(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonnet, "TIMEOUT", 3.0)
    loop = "std.foldl(function(a, b) a + b, std.range(1, 1000000000), 0)\n"
    message = jsonnet_failure(demo, tmp_path, loop)
    assert "ran over" in message or "memory" in message


def test_jsonnet_output_nesting_is_bounded(demo: Path, tmp_path: Path) -> None:
    # 300 levels: under go-jsonnet's own stack limit (500 frames), over ours.
    deep = "std.foldl(function(acc, i) { a: acc }, std.range(1, 300), {})\n"
    assert "deeper than 100 levels" in jsonnet_failure(demo, tmp_path, deep)


# -- plain directories and kustomize -----------------------------------------------------------


def test_sub_folders_of_a_plain_directory_are_not_read(demo: Path, tmp_path: Path) -> None:
    # extra/pod.yaml is privileged and extra/notes.yaml is not a manifest: Argo CD reads neither.
    assert check(demo, tmp_path, "dir-subfolder") == []


def test_a_kustomization_still_reads_what_it_lists(demo: Path, tmp_path: Path) -> None:
    findings = check(demo, tmp_path, "kustomize-subfolder")
    assert {(f.rule, Path(f.file).name) for f in findings} >= {("pss.privileged", "pod.yaml")}


def _as_repo_app(case: str, app: str) -> dict[str, str | None]:
    base = f"apps/workloads/{STUDENT}/{app}"
    return {
        f"{base}/{p.relative_to(CASES / case).as_posix()}": p.read_text()
        for p in sorted((CASES / case).rglob("*"))
        if p.is_file()
    }


def test_repo_mode_reads_an_app_folder_as_argo_cd_does(
    demo: Path, demo_cfg: PlatformConfig, crd_dir: Path
) -> None:
    files = _as_repo_app("dir-subfolder", "notes")
    assert validate_files(demo_cfg, files, demo, crd_dir=crd_dir) == []
    findings = validate_files(demo_cfg, _as_repo_app("jsonnet-app", "gen"), demo, crd_dir=crd_dir)
    assert {(f.rule, f.file, f.line) for f in errors(findings)} == {
        ("pss.privileged", f"apps/workloads/{STUDENT}/gen/main.jsonnet", 15)
    }


def test_repo_mode_renders_charts(
    demo: Path, demo_cfg: PlatformConfig, crd_dir: Path, helm: Path
) -> None:
    findings = validate_files(
        demo_cfg, _as_repo_app("chart-privileged", "debug"), demo, crd_dir=crd_dir
    )
    assert {(f.rule, f.file, f.line, f.name) for f in errors(findings)} == {
        (
            "pss.privileged",
            f"apps/workloads/{STUDENT}/debug/templates/pod.yaml",
            14,
            f"{STUDENT}-debug-debug",
        )
    }


INGRESS = """apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {name}
spec:
  ingressClassName: traefik
  rules:
    - host: {host}
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: web
                port:
                  name: http
"""


@pytest.mark.parametrize(("where_", "claimed"), [("notes/extra", False), ("notes", True)])
def test_host_claims_of_other_tenants_come_only_from_files_argo_cd_reads(
    demo: Path, tmp_path: Path, where_: str, claimed: bool
) -> None:
    # Another tenant's plain-directory app holds an Ingress for the same host: in a sub-folder
    # Argo CD never applies it (no claim), at the top it does (a duplicate).
    platform = tmp_path / "platform"
    shutil.copytree(demo, platform)
    host = f"shop.{STUDENT}.{load_config(platform).base_domain}"
    other = platform / "apps" / "workloads" / "park-seoyeon" / where_
    other.mkdir(parents=True)
    (other / "ingress.yaml").write_text(INGRESS.format(name="other", host=host))
    root = student_repo(tmp_path, "dir-subfolder")
    (root / "deploy" / "ingress.yaml").write_text(INGRESS.format(name="shop", host=host))
    opts = Options(repo=platform, cache_dir=tmp_path / "cache")
    findings = validate_student(opts, STUDENT, root / "deploy").findings
    assert ("ingress.host-duplicate" in {f.rule for f in findings}) is claimed


def test_app_option_names_the_release(
    demo: Path, tmp_path: Path, helm: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = student_repo(tmp_path, "chart-privileged")
    # web is the demo's platform-managed app of kim-minji: the folder stands in for it.
    args = ["-C", str(demo), "validate", "--student", STUDENT, "--app", "web", "-o", "json"]
    assert cli.run([*args, str(root / "deploy")]) == 8
    out = capsys.readouterr().out
    assert f'"name": "{STUDENT}-web-debug"' in out  # Argo CD's release: the Application's name
    assert cli.run([*args[:-2], "--app", "Bad_App", str(root / "deploy")]) != 0
    assert "Bad_App" in capsys.readouterr().err


def test_a_chart_that_exhausts_memory_is_stopped(demo: Path, tmp_path: Path, helm: Path) -> None:
    findings = check(demo, tmp_path, "chart-memory-bomb")
    assert where(findings) == {("render.helm-failed", "Chart.yaml", 1)}
    assert "MiB of memory" in findings[0].message

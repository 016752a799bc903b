"""Findings on kustomize-built objects land at the file and line to edit (issue 12, part B).

Each case is a student folder (its own git repository) or a platform app folder whose build
renames, patches or pulls in objects from elsewhere; each asserts the file AND the line.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kuploy_gitops import config
from kuploy_gitops.validate.engine import Options, validate_files, validate_repo, validate_student
from kuploy_gitops.validate.kustomize import Kustomizer
from kuploy_gitops.validate.tree import error_line, parse

STUDENT = "kim-minji"


def deployment(name: str, privileged: bool = False, host_network: bool = False) -> str:
    """A Deployment whose only Pod Security problems are the ones asked for."""
    return (
        "apiVersion: apps/v1\n"
        "kind: Deployment\n"
        "metadata:\n"
        f"  name: {name}\n"
        "spec:\n"
        "  selector:\n"
        f"    matchLabels: {{app: {name}}}\n"
        "  template:\n"
        "    metadata:\n"
        f"      labels: {{app: {name}}}\n"
        "    spec:\n"
        + ("      hostNetwork: true\n" if host_network else "")
        + "      containers:\n"
        "        - name: app\n"
        "          image: ghcr.io/konkuk-kuploy/kim-minji-api:1\n"
        "          securityContext:\n"
        f"            privileged: {'true' if privileged else 'false'}\n"
    )


PRIVILEGED_PATCH = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: app
          securityContext:
            privileged: true
"""


def write(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")


def line_of(shown: str, needle: str) -> int:
    """The 1-based line of the first line of ``shown`` (relative to the cwd) with ``needle``."""
    lines = Path(shown).read_text(encoding="utf-8").splitlines()
    return next(i for i, text in enumerate(lines, 1) if needle in text)


# name -> (files of the student's repository, rule -> (file shown, text of the line to edit)).
# Before: built objects were mapped by (kind, name) over every file of the folder and the last
# file won (an unused dev/ copy, an unused patch file); a namePrefix or a base outside the
# folder matched nothing, so every finding sat at kustomization.yaml:1.
STUDENT_CASES: dict[str, tuple[dict[str, str], dict[str, tuple[str, str]]]] = {
    "same kind and name in an unused overlay and an unused patch file": (
        {
            "deploy/kustomization.yaml": "resources:\n  - prod\n",
            "deploy/prod/kustomization.yaml": "resources:\n  - deployment.yaml\n",
            "deploy/prod/deployment.yaml": deployment("web", privileged=True),
            "deploy/dev/deployment.yaml": deployment("web", privileged=True),
            "deploy/zz-unused-patch.yaml": PRIVILEGED_PATCH,
        },
        {"pss.privileged": ("student/deploy/prod/deployment.yaml", "privileged: true")},
    ),
    "namePrefix and nameSuffix, two objects of a kind in one file": (
        {
            "deploy/kustomization.yaml": (
                "namePrefix: dev-\nnameSuffix: -v2\nresources:\n  - all.yaml\n"
            ),
            "deploy/all.yaml": deployment("web")
            + "---\n"
            + deployment("web-api", host_network=True),
        },
        {"pss.host-namespaces": ("student/deploy/all.yaml", "hostNetwork: true")},
    ),
    "a base outside the folder is named by its path": (
        {
            "deploy/kustomization.yaml": "namePrefix: x-\nresources:\n  - ../base\n",
            "base/kustomization.yaml": "resources:\n  - deployment.yaml\n",
            "base/deployment.yaml": deployment("web", privileged=True),
        },
        {"pss.privileged": ("student/base/deployment.yaml", "privileged: true")},
    ),
    "a field a strategic-merge patch sets is at the patch, the others at the resource": (
        {
            "deploy/kustomization.yaml": (
                "namePrefix: dev-\nresources:\n  - deployment.yaml\npatches:\n"
                "  - path: patch.yaml\n"
            ),
            "deploy/deployment.yaml": deployment("web", host_network=True),
            "deploy/patch.yaml": PRIVILEGED_PATCH,
        },
        {
            "pss.privileged": ("student/deploy/patch.yaml", "privileged: true"),
            "pss.host-namespaces": ("student/deploy/deployment.yaml", "hostNetwork: true"),
        },
    ),
    "a JSON 6902 patch is placed at its operation": (
        {
            "deploy/kustomization.yaml": (
                "resources:\n  - deployment.yaml\npatches:\n  - path: ops.yaml\n"
                "    target:\n      kind: Deployment\n      name: web\n"
            ),
            "deploy/deployment.yaml": deployment("web"),
            "deploy/ops.yaml": (
                "- op: add\n  path: /spec/template/spec/hostPID\n  value: true\n"
                "- op: replace\n  path: /spec/template/spec/containers/0/securityContext\n"
                "  value:\n    privileged: true\n"
            ),
        },
        {
            "pss.privileged": ("student/deploy/ops.yaml", "privileged: true"),
            "pss.host-namespaces": ("student/deploy/ops.yaml", "value: true"),
        },
    ),
}


@pytest.mark.parametrize("case", sorted(STUDENT_CASES))
def test_student_folder_findings_are_at_the_file_and_line_to_edit(
    case: str, demo: Path, crd_dir: Path, chdir_tmp: Path
) -> None:
    files, expected = STUDENT_CASES[case]
    root = chdir_tmp / "student"  # its own git repository, validated from its parent
    write(root, files)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    report = validate_student(Options(repo=demo, crd_dir=crd_dir), STUDENT, root / "deploy")
    found = {(f.rule, f.file, f.line) for f in report.findings if f.rule in expected}
    assert found == {
        (rule, file, line_of(file, needle)) for rule, (file, needle) in expected.items()
    }


def test_platform_app_places_findings_the_same_from_disk_memory_and_cache(
    demo: Path, tmp_path: Path, crd_dir: Path
) -> None:
    repo = tmp_path / "copy"
    shutil.copytree(demo, repo)
    app = f"apps/workloads/{STUDENT}/shop"
    files = {
        f"{app}/kustomization.yaml": (
            f"namespace: {STUDENT}\nnamePrefix: shop-\nresources:\n  - web.yaml\n"
            "patches:\n  - path: patch.yaml\n"
        ),
        f"{app}/web.yaml": deployment("web"),
        f"{app}/patch.yaml": PRIVILEGED_PATCH,
        f"{app}/unused.yaml": deployment("web", privileged=True),
    }
    patch_line = PRIVILEGED_PATCH.splitlines().index("            privileged: true") + 1
    want = (f"{app}/patch.yaml", patch_line)
    cfg = config.load_config(repo)
    in_memory = validate_files(cfg, files, repo, crd_dir=crd_dir, cross_tenant=False)
    assert {(f.file, f.line) for f in in_memory if f.rule == "pss.privileged"} == {want}
    write(repo, files)
    for _ in range(2):  # the second run reads the build from the cache
        report = validate_repo(Options(repo=repo, crd_dir=crd_dir, use_cache=False))
        assert {(f.file, f.line) for f in report.findings if f.rule == "pss.privileged"} == {want}


def test_built_objects_carry_no_origin_annotation_and_the_cache_keeps_origins(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        {
            "app/kustomization.yaml": (
                "resources:\n  - ../base\n  - cm.yaml\nconfigMapGenerator:\n"
                "  - name: gen\n    literals: [a=b]\n"
            ),
            "app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: own\n",
            "base/kustomization.yaml": "resources:\n  - cm.yaml\n",
            "base/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: based\n",
        },
    )
    app = tmp_path / "app"
    k = Kustomizer(tmp_path / "cache", boundaries=[tmp_path])
    for cached in (False, True):
        build = k.build_all([app])[app]
        assert build.cached is cached
        sourced = {o["metadata"]["name"].split("-")[0]: where for o, where in build.sourced()}
        assert sourced == {
            "gen": "kustomization.yaml",
            "own": "cm.yaml",
            "based": "../base/cm.yaml",
        }
        assert "annotations" not in str(build.objects())


# yaml.syntax: the line of the mistake (a marker comment), not the start of the enclosing block.
POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n"
CONFIG_MAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n"
SYNTAX_CASES = {
    "bad indentation deep in a long block": POD
    + """    - name: a
      image: ghcr.io/konkuk-kuploy/kim-minji-api:1
      ports:
        - containerPort: 8080
      resources:
        limits:
          memory: 64Mi
     env: []  # HERE
""",
    "a tab for indentation": POD
    + """    - name: a
\timage: b  # HERE
""",
    "an unclosed quote": CONFIG_MAP
    + """  greeting: "hello  # HERE
  b: c
  d: e
""",
    "a list item indented one space short": POD
    + """  - name: a
    image: b
    env:
    - name: X
     value: y  # HERE
""",
    "a key without its colon": CONFIG_MAP
    + """  a: b
  c  # HERE
  d: e
""",
}


@pytest.mark.parametrize("case", sorted(SYNTAX_CASES))
def test_yaml_syntax_points_at_the_failing_line(case: str) -> None:
    text = SYNTAX_CASES[case]
    want = next(i for i, line in enumerate(text.splitlines(), 1) if "# HERE" in line)
    docs, error = parse(text, "f.yaml")
    assert error is not None and docs == []
    assert error_line(error) == want


def test_yaml_syntax_finding_is_at_the_failing_line(demo: Path, crd_dir: Path) -> None:
    text = SYNTAX_CASES["bad indentation deep in a long block"]
    path = f"apps/workloads/{STUDENT}/broken/pod.yaml"
    found = validate_files(
        config.load_config(demo), {path: text}, demo, crd_dir=crd_dir, cross_tenant=False
    )
    want = text.splitlines().index("     env: []  # HERE") + 1
    assert [(f.rule, f.file, f.line) for f in found if f.rule == "yaml.syntax"] == [
        ("yaml.syntax", path, want)
    ]

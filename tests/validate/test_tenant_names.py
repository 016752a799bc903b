"""`validate` refuses a tenant named like a system or add-on namespace, folder or spec alike.

The tenants' ApplicationSet makes an Application of every folder under apps/cluster/tenants, so a
hand-made folder ``metallb-system`` would adopt that namespace: it must be an error in CI.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import git

from kuploy_gitops import api, config, layout, yamlio
from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate.engine import Options, validate_repo
from kuploy_gitops.validate.isolation import tenant_name_problem

CFG = config.parse_config({**config.default_config_data(), "reserved_namespaces": ["lab-*"]})


@pytest.mark.parametrize(
    ("student", "words"),
    [
        ("longhorn-system", "(it matches '*-system')"),
        ("metallb-system", "is reserved for the platform;"),  # an add-on's namespace, by name
        ("kube-public", "(it matches 'kube-*')"),
        ("monitoring", "is reserved for the platform;"),
        ("traefik", "is reserved for the platform;"),  # the ingress and an add-on's namespace
        ("cnpg-system", "is reserved for the platform;"),  # an add-on's namespace, by name
        ("lab-3", "(it matches 'lab-*')"),  # kuploy.yaml's reserved_namespaces
        ("Kim", "is not a DNS label"),
    ],
)
def test_reserved_and_invalid_tenant_names(student: str, words: str) -> None:
    problem = tenant_name_problem(CFG, student)
    assert problem.startswith(f"student name {student!r} ")
    assert words in problem


def test_ordinary_names_have_no_problem() -> None:
    for student in ("kim-minji", "202112345", "lab3", "systems"):
        assert tenant_name_problem(CFG, student) == ""


def test_a_reserved_tenant_folder_or_spec_is_an_error(tmp_path: Path, crd_dir: Path) -> None:
    repo = tmp_path / "p"
    api.init(api.InitOptions(repo=repo))
    api.onboard(repo, api.OnboardOptions(student="han-bit"))
    api.onboard(repo, api.OnboardOptions(student="lab-1"))
    assert validate_repo(Options(repo=repo, crd_dir=crd_dir, drift=False)).findings == []
    # A folder copied by hand under a system namespace's name, and a name reserved later.
    shutil.copytree(repo / layout.tenant_dir("han-bit"), repo / layout.tenant_dir("metallb-system"))
    data = yamlio.load((repo / layout.CONFIG_FILE).read_text())
    data["reserved_namespaces"] = ["lab-*"]
    (repo / layout.CONFIG_FILE).write_text(yamlio.dump(data))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "hand edits")
    report = validate_repo(Options(repo=repo, crd_dir=crd_dir, drift=False))
    named = {(f.tenant, f.file) for f in report.findings if f.rule == F.ISO_TENANT_NAME}
    assert named == {
        ("metallb-system", f"{layout.tenant_dir('metallb-system')}/appproject.yaml"),
        ("lab-1", f"{layout.tenant_dir('lab-1')}/appproject.yaml"),
    }
    for f in report.findings:
        if f.rule == F.ISO_TENANT_NAME:
            assert f.severity == F.ERROR and "reserved for the platform" in f.message
    assert "han-bit" not in {f.tenant for f in report.findings}

"""docs/versions.md lists every version the project pins, each with the date it was checked.

The pins are read where the code keeps them (cluster-bootstrap's group_vars and role defaults,
the add-ons of kuploy_gitops/data/kuploy.yaml, the vendored CRDs' SOURCE.md, the test tiers'
Helm and kube-apiserver harness), so a new or bumped pin without its row fails here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from kuploy_gitops.validate.helm import HELM_VERSION

REPO = Path(__file__).resolve().parents[1]
BOOTSTRAP = REPO / "cluster-bootstrap"
DOC = REPO / "docs/versions.md"
DATE = re.compile(r"\b20\d\d-\d\d-\d\d\b")


def _yaml(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text())
    return loaded if isinstance(loaded, dict) else {}


def bootstrap_pins() -> dict[str, str]:
    """Every literal ``*_version`` of group_vars/all and the role defaults, plus the pause tag."""
    files = sorted((BOOTSTRAP / "group_vars/all").glob("*.yml"))
    files += sorted(BOOTSTRAP.glob("roles/*/defaults/main.yml"))
    pins: dict[str, str] = {}
    for path in files:
        for key, value in _yaml(path).items():
            if key.endswith("_version") and isinstance(value, str | int | float):
                text = str(value)
                if "{{" not in text:
                    pins[f"{path.relative_to(BOOTSTRAP)}:{key}"] = text
    sandbox = _yaml(BOOTSTRAP / "group_vars/all/main.yml")["containerd_sandbox_image"]
    pins["containerd_sandbox_image"] = sandbox.rsplit(":", 1)[1]
    return pins


def platform_pins() -> dict[str, str]:
    addons = _yaml(REPO / "kuploy_gitops/data/kuploy.yaml")["addons"]
    return {f"addons.{name}": str(addon["version"]) for name, addon in addons.items()}


def test_pins_found_where_the_code_keeps_them() -> None:
    """The collectors really find the pins (a moved file must not empty this test)."""
    pins = bootstrap_pins()
    names = {key.rsplit(":", 1)[-1] for key in pins}
    assert {
        "kube_version", "containerd_version", "containerd_runc_version", "cni_plugins_version",
        "calico_version", "helm_version", "argocd_chart_version",
        "addons_csr_approver_chart_version",
    } <= names  # fmt: skip
    assert len(platform_pins()) >= 6


def test_versions_doc_lists_every_pin_with_a_check_date() -> None:
    rows = [line for line in DOC.read_text().splitlines() if line.startswith("| ")]
    dated = [row for row in rows if DATE.search(row)]
    pins = {**bootstrap_pins(), **platform_pins()}
    pins["validate Helm (HELM_VERSION)"] = HELM_VERSION
    go_mod = (REPO / "tests/cluster/apiserver/go.mod").read_text()
    harness = re.search(r"^\s*k8s\.io/kubernetes (v\S+)", go_mod, re.M)
    assert harness is not None
    pins["kube-apiserver harness"] = harness.group(1)
    crd_source = (REPO / "kuploy_gitops/validate/crds/SOURCE.md").read_text()
    for commit in re.findall(r"commit `([0-9a-f]{40})`", crd_source):
        pins[f"vendored CRDs at {commit}"] = commit
    missing = {
        where: version
        for where, version in pins.items()
        # A version counts as listed only in a table cell of its own (not inside another).
        if not any(re.search(rf"(?<![\w.]){re.escape(version)}(?![\w.])", row) for row in dated)
    }
    assert not missing, f"docs/versions.md has no dated row for: {missing}"

"""A misspelt apiVersion is one error naming the fix, not a pile of findings (issue 12 B).

The cluster answers "no matches for kind" and Argo CD cannot sync the object: nothing else about
it matters, so the tenant's kind list and the admission checks stay silent about it
(tests/cluster/corpus/schema/apiversions.yaml has the API server's verdicts on these spellings).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kuploy_gitops import config
from kuploy_gitops.validate.engine import validate_files

PATH = "apps/workloads/kim-minji/typo/app.yaml"
PRIVILEGED_POD = """  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: ghcr.io/konkuk-kuploy/kim-minji-api:1
          securityContext: {privileged: true}
"""

CASES = {
    # a group without a dot, a letter from apps
    "app/v1": ("Deployment", "did you mean 'apps'?"),
    # a version networking.k8s.io never served
    "networking.k8s.io/v1beta": ("Ingress", "serves networking.k8s.io in v1"),
    # a letter from networking.k8s.io
    "netwrking.k8s.io/v1": ("Ingress", "did you mean 'networking.k8s.io'?"),
    # a Kubernetes group spelt as a CRD's
    "apps.k8s.io/v1": ("Deployment", "'apps/v1'"),
}


@pytest.mark.parametrize("api_version", sorted(CASES))
def test_unserved_api_version_is_one_error_at_its_line(
    api_version: str, demo: Path, crd_dir: Path
) -> None:
    kind, hint = CASES[api_version]
    text = f"apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: web\nspec:\n" + (
        PRIVILEGED_POD if kind == "Deployment" else "  rules: []\n"
    )
    found = validate_files(
        config.load_config(demo), {PATH: text}, demo, crd_dir=crd_dir, cross_tenant=False
    )
    assert [(f.rule, f.severity, f.line) for f in found] == [("schema.invalid", "error", 1)]
    assert hint in found[0].message


def test_a_custom_resource_not_allowed_is_the_kind_list_finding(demo: Path, crd_dir: Path) -> None:
    text = "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: m\n"
    found = validate_files(
        config.load_config(demo), {PATH: text}, demo, crd_dir=crd_dir, cross_tenant=False
    )
    assert [f.rule for f in found] == ["isolation.kind-not-allowed"]

"""What cluster-bootstrap applies with kubectl is admitted by the real API server.

The addons role applies Calico's Installation and APIServer (for the tigera operator), the root
Application and its AppProject. Here they are rendered by Ansible from the real templates,
group_vars and role defaults; the CRDs they need are installed (Calico's operator CRDs of
``calico_version`` from tests/data/calico, Argo CD's from tests/data/argocd); and each object is
applied server-side with strict field validation (a field the CRD does not know is an error, not
pruned), first as a dry run, then for real: no error, no warning.

Slow tier: the render is an ``ansible-playbook`` run (the template tests of tests/bootstrap/
check the same objects against the same CRD schemas in the default tier).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from apiserver_harness import Cluster, load_all
from helpers import DATA_DIR

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bootstrap"))
from bootstrap_helpers import bootstrap_custom_resources, render  # noqa: E402  (tests/bootstrap is not a package)

CALICO_CRDS = ("operator.tigera.io_installations.yaml", "operator.tigera.io_apiservers.yaml")
ARGOCD_CRDS = ("application-crd.yaml", "appproject-crd.yaml")


@pytest.mark.slow
def test_calico_and_root_application_are_admitted(
    cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> None:
    base = tmp_path_factory.mktemp("bootstrap-render")
    (base / "home" / "tmp").mkdir(parents=True)
    rendered = render(base, base / "home")
    objects = bootstrap_custom_resources(rendered)
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == ["APIServer", "AppProject", "Application", "Installation"]

    crds = [
        crd
        for folder, names in (("calico", CALICO_CRDS), ("argocd", ARGOCD_CRDS))
        for name in names
        for crd in load_all((DATA_DIR / folder / name).read_text())
    ]
    cluster.install_crds(crds)
    argocd = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}}
    assert cluster.apply([argocd]).ok
    for dry_run in (True, False):
        result = cluster.apply(objects, dry_run=dry_run)
        assert result.ok and not result.warnings, result.stderr

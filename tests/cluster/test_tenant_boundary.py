"""Issue 11: every attack on the tenant boundary is refused by the cluster, and by ``validate``.

On the real API server, with the rendered platform (admission policies) and a rendered tenant
(namespace, guards, student and deployer RBAC) applied, each attack object is submitted as the
tenant's deployer ServiceAccount, which is what Argo CD impersonates when it syncs a student's
app. Each must be refused, by the guard the case names (RBAC, one of our admission policies, or
an admission plugin that cluster-bootstrap enables), and ``validate`` must report it as an error
with the rule the case names. The demo's own app, applied the same way, is admitted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from apiserver_harness import Cluster, dump_all, load_all
from boundary_attacks import Obj, attacks, pod
from helpers import isolated_env
from rendered import apply_guards, cli, folder_objects, remove_policies

from kuploy_gitops import config, layout, secret_manifests, tenant_spec
from kuploy_gitops.validate.engine import validate_files
from kuploy_gitops.validate.policies import check_images

CORPUS = Path(__file__).parent / "corpus" / "boundary"
CRD_DIR = Path(__file__).parents[1] / "data" / "argocd"
STUDENT = "kim-minji"  # the demo's first student, with the demo's app "web"


@dataclass
class Tenant:
    repo: Path
    cfg: config.PlatformConfig
    namespace: str
    as_deployer: Callable[[list[Obj]], Any]


@pytest.fixture(scope="module")
def tenant(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenant]:
    base = tmp_path_factory.mktemp("boundary")
    with isolated_env(base):
        repo = base / "platform"
        cli("demo", str(repo))
        cfg = config.load_config(repo)
    platform = repo / layout.PLATFORM_DIR
    r = cluster.apply(load_all((platform / "admission-policies.yaml").read_text()))
    assert r.ok, r.stderr
    for extra in sorted(platform.glob("priority*.yaml")):
        assert cluster.apply(load_all(extra.read_text())).ok
    cluster.install_crds(load_all((CORPUS / "crds.yaml").read_text()))
    ns = layout.namespace_name(STUDENT)
    apply_guards(cluster, repo, STUDENT)
    folder = repo / layout.tenant_dir(STUDENT)
    rest = [
        o
        for name in ("networkpolicies.yaml", "rbac.yaml", "deployer.yaml")
        for o in load_all((folder / name).read_text())
    ]
    r = cluster.apply(rest)
    assert r.ok, r.stderr
    account = f"system:serviceaccount:{ns}:{layout.DEPLOYER_SA}"
    groups = ["system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated"]

    def as_deployer(objects: list[Obj]) -> Any:
        placed = [{**o, "metadata": {**o["metadata"], "namespace": ns}} for o in objects]
        return cluster.apply(placed, dry_run=True, as_user=account, as_groups=groups)

    # Policies take effect a moment after they are created.
    cluster.wait_for(
        "the tenant policies to bite",
        lambda: "nodeName" in as_deployer([pod("probe", nodeName="x")]).stderr,
        timeout=30,
    )
    yield Tenant(repo, cfg, ns, as_deployer)
    # The policies stay in force until the module ends (the quota and schema tests that may run
    # next on this server judge objects without them).
    remove_policies(cluster)


def test_the_demo_app_is_admitted_as_the_deployer(tenant: Tenant) -> None:
    objects = folder_objects(tenant.repo / layout.workload_dir(STUDENT, "web"))
    assert {o["kind"] for o in objects} >= {"Deployment", "Service", "Ingress"}
    r = tenant.as_deployer(objects)
    assert r.ok, r.stderr
    assert "Warning" not in r.stderr, r.stderr


def test_a_sealed_secret_is_admitted_as_the_deployer(
    cluster: Cluster, tenant: Tenant, data_dir: Path
) -> None:
    """The deployer's Role allows the add-on kind (its CRD as vendored), the object as rendered."""
    crd = data_dir / "sealed-secrets" / "bitnami.com_sealedsecrets.yaml"
    cluster.install_crds(load_all(crd.read_text()))
    spec = tenant_spec.read_spec(tenant.repo, STUDENT)
    assert spec is not None
    app = replace(spec.apps[0], secrets=(("API_KEY", "A" * 400 + "=="),))
    sealed = secret_manifests.sealed_secret(spec, app, {"app.kubernetes.io/name": app.name})
    assert sealed is not None
    r = tenant.as_deployer([sealed])
    assert r.ok, r.stderr
    assert "Warning" not in r.stderr, r.stderr


NAMES = [
    a.name
    for a in attacks(
        config.parse_config(yaml.safe_load(config.data_file("kuploy.yaml").read_text()))
    )
]


def test_a_compliant_pod_is_admitted_as_the_deployer(tenant: Tenant) -> None:
    r = tenant.as_deployer([pod("compliant")])
    assert r.ok, r.stderr


def test_every_attack_class_is_named_once() -> None:
    assert len(NAMES) == len(set(NAMES)) >= 20


@pytest.mark.parametrize("name", NAMES)
def test_attack_refused_on_the_cluster_and_by_validate(tenant: Tenant, name: str) -> None:
    (attack,) = (a for a in attacks(tenant.cfg) if a.name == name)
    r = tenant.as_deployer([attack.obj])
    assert not r.ok, f"{attack.name}: admitted on the cluster"
    assert attack.refused_by in r.stderr, f"{attack.name}: refused, but not by it: {r.stderr}"
    path = f"{layout.workload_dir(STUDENT, 'web')}/attack.yaml"
    kustomization = tenant.repo / layout.workload_dir(STUDENT, "web") / "kustomization.yaml"
    data = yaml.safe_load(kustomization.read_text())
    data["resources"] = [*data.get("resources", []), "attack.yaml"]
    files = {
        path: dump_all([attack.obj]),
        str(kustomization.relative_to(tenant.repo)): yaml.safe_dump(data),
    }
    findings = validate_files(tenant.cfg, files, tenant.repo, crd_dir=CRD_DIR)
    errors = {f.rule for f in findings if f.severity == "error" and f.file == path}
    assert attack.rule in errors, (attack.name, [(f.rule, f.message) for f in findings])


IMAGES = [
    "nginx:1.27",
    "library/nginx:1.27",
    "docker.io/nginx:1.27",
    "docker.io/library/nginx:1.27",
    "index.docker.io/nginx:1.27",
    "index.docker.io/evil/miner:1",
    "evil/miner:1",
    "docker.io/evil/miner:1",
    "docker.io/libraryevil/miner:1",
    "ghcr.io/konkuk-kuploy/web:1.0",
    "ghcr.io/someone/else:1",
    "quay.io/evil/miner:1",
    "localhost:5000/app:1",
    "registry.example.org/library/nginx:1",
    "ghcr.io/konkuk-kuploy/web@sha256:" + "a" * 64,
]


@pytest.mark.parametrize("image", IMAGES)
def test_image_verdicts_of_the_server_and_validate_agree(tenant: Tenant, image: str) -> None:
    """The images policy's CEL normaliser and validate's normalise_image say the same."""
    obj = pod("img", containers=[{**pod("x")["spec"]["containers"][0], "image": image}])
    server_refuses = "tenant images must come from" in tenant.as_deployer([obj]).stderr
    issues = check_images(tenant.cfg, obj["spec"], ("spec",))
    assert server_refuses == any(i.rule == "image.registry" for i in issues), image

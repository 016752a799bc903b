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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from apiserver_harness import Cluster, dump_all, load_all
from helpers import isolated_env
from rendered import apply_guards, cli, folder_objects, remove_policies

from kuploy_gitops import config, layout
from kuploy_gitops.validate.engine import validate_files
from kuploy_gitops.validate.policies import check_images

CORPUS = Path(__file__).parent / "corpus" / "boundary"
CRD_DIR = Path(__file__).parents[1] / "data" / "argocd"
STUDENT = "kim-minji"  # the demo's first student, with the demo's app "web"
OTHER = "lee-jun"

Obj = dict[str, Any]


@dataclass(frozen=True)
class Attack:
    """One way out of the tenant, who refuses it on the cluster, and what validate says."""

    name: str
    refused_by: str  # a text of the server's refusal
    rule: str  # validate's rule id
    obj: Obj


def _pod(name: str, *, image: str = "ghcr.io/konkuk-kuploy/web:1.0", **spec: Any) -> Obj:
    """A pod that passes Pod Security restricted (a new platform's level) and the quota."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": "app",
                    "image": image,
                    "resources": {
                        "requests": {"cpu": "50m", "memory": "64Mi"},
                        "limits": {"cpu": "100m", "memory": "128Mi"},
                    },
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                        "runAsUser": 10001,
                    },
                }
            ],
            **spec,
        },
    }


def _service(name: str, **spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def _ingress(name: str, host: str, path: str = "/") -> Obj:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name},
        "spec": {
            "rules": [
                {
                    "host": host,
                    "http": {
                        "paths": [
                            {
                                "path": path,
                                "pathType": "Exact",
                                "backend": {"service": {"name": "web", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ]
        },
    }


def _custom(api: str, kind: str, name: str, spec: Obj) -> Obj:
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name}, "spec": spec}


def attacks(cfg: config.PlatformConfig) -> list[Attack]:
    """The attack classes of issue 11, one object each (namespace filled in by the caller)."""
    rbac = 'is forbidden: User "system:serviceaccount:'
    argocd_host = f"argocd.{cfg.base_domain}"
    web = {"app.kubernetes.io/name": "web"}
    return [
        Attack(
            "calico-policy-low-order",
            rbac,
            "isolation.kind-not-allowed",
            _custom(
                "projectcalico.org/v3",
                "NetworkPolicy",
                "allow-all",
                {"order": 1, "selector": "all()", "ingress": [{"action": "Allow"}]},
            ),
        ),
        Attack(
            "traefik-ingressroute-argocd-host",
            rbac,
            "isolation.kind-not-allowed",
            _custom(
                "traefik.io/v1alpha1",
                "IngressRoute",
                "steal-login",
                {
                    "routes": [
                        {
                            "match": f"Host(`{argocd_host}`)",
                            "kind": "Rule",
                            "priority": 100000,
                            "services": [{"name": "web", "port": 80}],
                        }
                    ]
                },
            ),
        ),
        Attack(
            "traefik-tcp-catch-all-tls",
            rbac,
            "isolation.kind-not-allowed",
            _custom(
                "traefik.io/v1alpha1",
                "IngressRouteTCP",
                "catch-all",
                {"routes": [{"match": "HostSNI(`*`)", "services": [{"name": "web", "port": 80}]}]},
            ),
        ),
        Attack(
            "traefik-default-tlsoption",
            rbac,
            "isolation.kind-not-allowed",
            _custom("traefik.io/v1alpha1", "TLSOption", "default", {"minVersion": "VersionTLS10"}),
        ),
        Attack(
            "traefik-forward-auth-ssrf",
            rbac,
            "isolation.kind-not-allowed",
            _custom(
                "traefik.io/v1alpha1",
                "Middleware",
                "ssrf",
                {"forwardAuth": {"address": "http://argocd-server.argocd.svc/api/v1/session"}},
            ),
        ),
        Attack(
            "endpointslice-to-another-tenant",
            rbac,
            "isolation.kind-not-allowed",
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": "web-1",
                    "labels": {"kubernetes.io/service-name": "web"},
                },
                "addressType": "IPv4",
                "ports": [{"port": 5432, "protocol": "TCP"}],
                "endpoints": [{"addresses": ["10.244.3.17"]}],
            },
        ),
        Attack(
            "endpoints-to-another-tenant",
            rbac,
            "isolation.kind-not-allowed",
            {
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {"name": "db"},
                "subsets": [{"addresses": [{"ip": "10.244.3.17"}], "ports": [{"port": 5432}]}],
            },
        ),
        Attack(
            "own-quota",
            rbac,
            "isolation.guard-kind",
            {
                "apiVersion": "v1",
                "kind": "ResourceQuota",
                "metadata": {"name": "bigger"},
                "spec": {"hard": {"requests.cpu": "64"}},
            },
        ),
        Attack(
            "own-rolebinding",
            rbac,
            "isolation.guard-kind",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "me-admin"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "admin",
                },
                "subjects": [
                    {"kind": "User", "name": "me", "apiGroup": "rbac.authorization.k8s.io"}
                ],
            },
        ),
        Attack(
            "service-external-ips",
            "Use of external IPs is denied by admission control",
            "service.external-ips",
            _service("intercept", selector=web, ports=[{"port": 53}], externalIPs=["8.8.8.8"]),
        ),
        Attack(
            "service-without-selector",
            "tenant Services need a selector",
            "service.no-selector",
            _service("db-proxy", ports=[{"port": 5432}]),
        ),
        Attack(
            "service-nodeport",
            "tenant Services must be of type ClusterIP",
            "service.type",
            _service("open", type="NodePort", selector=web, ports=[{"port": 80}]),
        ),
        Attack(
            "ingress-other-students-host",
            "one of the tenant's hosts",
            "ingress.host-pattern",
            _ingress("steal-host", cfg.host(OTHER, "web")),
        ),
        Attack(
            "ingress-argocd-login",
            "one of the tenant's hosts",
            "ingress.host-pattern",
            _ingress("steal-login", argocd_host, "/api/v1/session"),
        ),
        Attack(
            "pod-on-the-control-plane",
            "tenant pods may not set nodeName",
            "pod.node-name",
            _pod("pinned", nodeName="kuploy-cp1"),
        ),
        Attack(
            "pod-tolerates-everything",
            "tenant pods may only tolerate the lab pool taint",
            "pod.toleration",
            _pod("everywhere", tolerations=[{"operator": "Exists"}]),
        ),
        Attack(
            "pod-system-priority",
            "priority class",
            "pod.priority-class",
            _pod("critical", priorityClassName="system-node-critical"),
        ),
        Attack(
            "pod-core-pool",
            "conflicts with its namespace node label selector",
            "pod.node-selector",
            _pod("core", nodeSelector={layout.POOL_LABEL: "core"}),
        ),
        Attack(
            "pod-as-deployer",
            f"may not run as '{layout.DEPLOYER_SA}'",
            "pod.deployer-account",
            _pod("as-deployer", serviceAccountName=layout.DEPLOYER_SA),
        ),
        Attack(
            "image-from-anywhere",
            "tenant images must come from the platform's registries",
            "image.registry",
            _pod("miner", image="quay.io/evil/miner:1.0"),
        ),
    ]


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
        lambda: "nodeName" in as_deployer([_pod("probe", nodeName="x")]).stderr,
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


NAMES = [
    a.name
    for a in attacks(
        config.parse_config(yaml.safe_load(config.data_file("kuploy.yaml").read_text()))
    )
]


def test_a_compliant_pod_is_admitted_as_the_deployer(tenant: Tenant) -> None:
    r = tenant.as_deployer([_pod("compliant")])
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
    pod = _pod("img", containers=[{**_pod("x")["spec"]["containers"][0], "image": image}])
    server_refuses = "tenant images must come from" in tenant.as_deployer([pod]).stderr
    issues = check_images(tenant.cfg, pod["spec"], ("spec",))
    assert server_refuses == any(i.rule == "image.registry" for i in issues), image

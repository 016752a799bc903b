"""The attack classes of issue 11 on the tenant boundary, one object each.

Shared by the API server tier (tests/cluster/test_tenant_boundary.py: each refused on the cluster as
the tenant's deployer) and the student's CI (tests/test_scaffold.py: each an error of
``validate --student``). Objects carry no namespace: the caller places them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kuploy_gitops import config, layout

Obj = dict[str, Any]
OTHER = "lee-jun"  # another tenant of the demo, whose host an attacker claims


@dataclass(frozen=True)
class Attack:
    """One way out of the tenant, who refuses it on the cluster, and what validate says."""

    name: str
    refused_by: str  # a text of the server's refusal
    rule: str  # validate's rule id
    obj: Obj


def pod(name: str, *, image: str = "ghcr.io/konkuk-kuploy/web:1.0", **spec: Any) -> Obj:
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
            pod("pinned", nodeName="kuploy-cp1"),
        ),
        Attack(
            "pod-tolerates-everything",
            "tenant pods may only tolerate the lab pool taint",
            "pod.toleration",
            pod("everywhere", tolerations=[{"operator": "Exists"}]),
        ),
        Attack(
            "pod-system-priority",
            "priority class",
            "pod.priority-class",
            pod("critical", priorityClassName="system-node-critical"),
        ),
        Attack(
            "pod-core-pool",
            "conflicts with its namespace node label selector",
            "pod.node-selector",
            pod("core", nodeSelector={layout.POOL_LABEL: "core"}),
        ),
        Attack(
            "pod-as-deployer",
            f"may not run as '{layout.DEPLOYER_SA}'",
            "pod.deployer-account",
            pod("as-deployer", serviceAccountName=layout.DEPLOYER_SA),
        ),
        Attack(
            "image-from-anywhere",
            "tenant images must come from the platform's registries",
            "image.registry",
            pod("miner", image="quay.io/evil/miner:1.0"),
        ),
    ]

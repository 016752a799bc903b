"""A tenant's NetworkPolicies, as data: default deny both ways, then the few flows an app needs.

The flows: within the namespace; from the ingress controller's namespace to the ports the
tenant's apps serve (nothing else of the namespace); DNS; and internet egress except the ranges a
student pod must never reach (private and special ranges, the cluster's pod and Service ranges,
the nodes' addresses and the admin's ``cluster.denied_egress``); under tls.issuer http01, from
the ingress controller to cert-manager's solver pods. Lab PCs often have public campus
addresses, so the private ranges alone would leave the API server, the kubelets and the campus
network reachable: that is what ``cluster.node_cidrs`` and ``cluster.denied_egress`` are for.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

from kuploy_gitops import layout
from kuploy_gitops.config import PlatformConfig
from kuploy_gitops.config_platform import ACME_SOLVER_PORT
from kuploy_gitops.db_spec import CLUSTER_LABEL, CNPG_CHART, DatabaseSpec
from kuploy_gitops.tenant_spec import TenantSpec

Obj = dict[str, Any]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# IPv4 ranges a student pod may not reach on the internet egress rule: RFC 1918, link-local
# (cloud metadata 169.254.169.254) and CGNAT.
BLOCKED_EGRESS = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "169.254.0.0/16",
    "100.64.0.0/10",
)
# The IPv6 counterparts, used once the platform names an IPv6 range: unique local, link-local
# and NAT64 (which reaches IPv4 addresses, the private ones included). The API server refuses
# IPv4-mapped ranges (::ffff:0:0/96) in a NetworkPolicy; they never appear on the wire anyway.
BLOCKED_EGRESS_V6 = ("fc00::/7", "fe80::/10", "64:ff9b::/96")

# The container port name an app of a student repo serves on (the scaffold names it so, and
# the managed apps' Deployments too): the ingress controller may reach that port, no other.
APP_PORT_NAME = "http"


def denied_ranges(cfg: PlatformConfig) -> tuple[list[str], list[str]]:
    """The IPv4 and IPv6 ranges the internet egress rule excepts, deduplicated, in address order.

    The IPv6 list is empty unless the platform names an IPv6 range (pod, Service, node or denied
    range): only then does the policy open IPv6 egress at all.
    """
    configured = [cfg.pod_cidr, cfg.service_cidr, *cfg.node_cidrs, *cfg.denied_egress]
    nets: set[Network] = {ipaddress.ip_network(c) for c in configured}
    v4: set[Network] = {n for n in nets if n.version == 4}
    v4.update(ipaddress.ip_network(c) for c in BLOCKED_EGRESS)
    v6: set[Network] = {n for n in nets if n.version == 6}
    if v6:
        v6.update(ipaddress.ip_network(c) for c in BLOCKED_EGRESS_V6)
    return _sorted(v4), _sorted(v6)


def _sorted(nets: Iterable[Network]) -> list[str]:
    return [str(n) for n in sorted(nets, key=lambda n: (n.network_address, n.prefixlen))]


def egress_peers(cfg: PlatformConfig) -> list[Obj]:
    """The ``to`` peers of the internet egress rule: all addresses but :func:`denied_ranges`.

    Each ``except`` lies inside its ``cidr`` (the API server refuses one that does not), so the
    IPv6 ranges get their own ``::/0`` block.
    """
    v4, v6 = denied_ranges(cfg)
    peers: list[Obj] = [{"ipBlock": {"cidr": "0.0.0.0/0", "except": v4}}]
    if v6:
        peers.append({"ipBlock": {"cidr": "::/0", "except": v6}})
    return peers


def app_ports(spec: TenantSpec) -> list[Obj]:
    """The ports the tenant's apps serve, as NetworkPolicy ports.

    A managed app serves its spec's ``port``; an app of a student repo serves the container
    port named :data:`APP_PORT_NAME` (its number is the student's choice, not in the spec).
    No apps: no ports (the caller then allows nothing, never every port).
    """
    numbers = sorted({a.port for a in spec.apps if a.mode == "managed" and a.port})
    ports: list[Obj] = [{"protocol": "TCP", "port": n} for n in numbers]
    if any(a.mode == "repo" for a in spec.apps):
        ports.append({"protocol": "TCP", "port": APP_PORT_NAME})
    return ports


def tenant_policies(cfg: PlatformConfig, spec: TenantSpec, meta: Callable[[str], Obj]) -> list[Obj]:
    """The tenant's NetworkPolicies; ``meta(name)`` gives each one's metadata."""

    def policy(name: str, body: Obj) -> Obj:
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": meta(name),
            "spec": body,
        }

    def ns_selector(name: str) -> Obj:
        return {"namespaceSelector": {"matchLabels": {layout.NS_NAME_LABEL: name}}}

    # Database pods get only their own flows (database_policies): the broad rules skip them.
    apps_only = not_database_pods() if spec.databases else {}
    out = [
        policy("default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        policy(
            "allow-same-namespace",
            {
                "podSelector": apps_only,
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [{"podSelector": {}}]}],
                "egress": [{"to": [{"podSelector": {}}]}],
            },
        ),
    ]
    ports = app_ports(spec)
    # A rule without ports would admit every port: with no app, there is no policy at all.
    if ports:
        out.append(
            policy(
                "allow-from-ingress-controller",
                {
                    "podSelector": apps_only,
                    "policyTypes": ["Ingress"],
                    "ingress": [{"from": [ns_selector(cfg.ingress_namespace)], "ports": ports}],
                },
            )
        )
    if cfg.baremetal.tls.per_host:
        # cert-manager's HTTP-01 solver pod, which it runs in the namespace of the Ingress that
        # asks for a certificate: the ingress controller forwards the ACME server's request of
        # /.well-known/acme-challenge/ to it, on its port only.
        out.append(
            policy(
                "allow-acme-http01-solver",
                {
                    "podSelector": {"matchLabels": {layout.ACME_SOLVER_LABEL: "true"}},
                    "policyTypes": ["Ingress"],
                    "ingress": [
                        {
                            "from": [ns_selector(cfg.ingress_namespace)],
                            "ports": [{"protocol": "TCP", "port": ACME_SOLVER_PORT}],
                        }
                    ],
                },
            )
        )
    dns = {
        **ns_selector(cfg.dns_namespace),
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    }
    out += [
        policy(
            "allow-dns",
            {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [dns],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    }
                ],
            },
        ),
        policy(
            "allow-internet-egress",
            {
                "podSelector": apps_only,
                "policyTypes": ["Egress"],
                "egress": [{"to": egress_peers(cfg)}],
            },
        ),
    ]
    for db in spec.databases:
        out.append(policy(database_policy_name(db.name), database_policy(cfg, db)))
    return out


# CloudNativePG's ports: PostgreSQL, and the instance manager's status endpoint the operator
# polls; the instance manager itself talks to the Kubernetes API (port of the API server).
POSTGRES_PORT = 5432
STATUS_PORT = 8000
API_SERVER_PORT = 6443
# The operator pods' label in the cloudnative-pg chart (its selector labels).
OPERATOR_POD_LABELS = {"app.kubernetes.io/name": "cloudnative-pg"}


def database_policy_name(db: str) -> str:
    """The NetworkPolicy of one database's pods."""
    return f"allow-database-{db}"


def not_database_pods() -> Obj:
    """A pod selector of every pod that is no database instance (the operator labels those)."""
    return {"matchExpressions": [{"key": CLUSTER_LABEL, "operator": "DoesNotExist"}]}


def database_policy(cfg: PlatformConfig, db: DatabaseSpec) -> Obj:
    """The flows of one database's instance pods, and nothing else.

    In: the CloudNativePG operator (its namespace and pods) on 8000 and 5432, the instances
    of the same database on 5432 and 8000 (replication, status), the tenant's own pods on 5432.
    Out: the same instances, and the API server (port 6443 on the nodes' addresses,
    ``cluster.node_cidrs``; on any address when the platform names none), and with
    ``databases.backup: s3`` the object store (``s3_cidrs``, the endpoint's port); DNS comes
    from the tenant's ``allow-dns``. The broad policies (namespace, internet, ingress controller)
    skip these pods (:func:`not_database_pods`).
    """
    own = {"podSelector": {"matchLabels": {CLUSTER_LABEL: db.name}}}
    operator_ns = next((a.namespace for a in cfg.addons if a.chart == CNPG_CHART), "cnpg-system")
    operator = {
        "namespaceSelector": {"matchLabels": {layout.NS_NAME_LABEL: operator_ns}},
        "podSelector": {"matchLabels": dict(OPERATOR_POD_LABELS)},
    }
    both = _tcp(POSTGRES_PORT, STATUS_PORT)
    api = [{"ipBlock": {"cidr": c}} for c in cfg.node_cidrs] or [{"ipBlock": {"cidr": "0.0.0.0/0"}}]
    egress: list[Obj] = [
        {"to": [own], "ports": both},
        {"to": api, "ports": _tcp(API_SERVER_PORT)},
    ]
    settings = cfg.databases
    if settings.backup == "s3":  # Barman, in the instances, sends backups and WAL there
        egress.append(
            {
                "to": [{"ipBlock": {"cidr": c}} for c in settings.s3_cidrs],
                "ports": _tcp(settings.s3_port),
            }
        )
    return {
        "podSelector": own["podSelector"],
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [
            {"from": [operator], "ports": both},
            {"from": [own], "ports": both},
            {"from": [{"podSelector": {}}], "ports": _tcp(POSTGRES_PORT)},
        ],
        "egress": egress,
    }


def _tcp(*ports: int) -> list[Obj]:
    return [{"protocol": "TCP", "port": p} for p in ports]

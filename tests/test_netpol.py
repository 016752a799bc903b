"""The tenant's network walls (netpol.py) and the kuploy.yaml keys that shape them.

cluster.node_cidrs and cluster.denied_egress are parsed strictly (one-line errors naming the key
and the value) and end up in the internet egress rule's ``except``; the ingress controller reaches
only the ports the tenant's apps serve.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any

import pytest

from kuploy_gitops import config, netpol
from kuploy_gitops.errors import ConfigError
from kuploy_gitops.tenant_spec import AppSpec, TenantSpec

DATA = config.default_config_data()
CFG = config.parse_config(DATA)
KIM = TenantSpec(student="kim", tier="small")
WEB = AppSpec(name="web", mode="managed", image="x:1", port=8080)
API = AppSpec(name="api", mode="managed", image="x:1", port=3000)
REPO = AppSpec(name="blog", mode="repo", repo="https://github.com/konkuk-kuploy/kim-blog.git")


def parse_cluster(**cluster: Any) -> config.PlatformConfig:
    data = {**DATA, "cluster": {**DATA["cluster"], **cluster}}
    return config.parse_config(data)


def policies(cfg: config.PlatformConfig, spec: TenantSpec) -> dict[str, Any]:
    out = netpol.tenant_policies(cfg, spec, lambda name: {"name": name})
    return {p["metadata"]["name"]: p["spec"] for p in out}


def egress_blocks(cfg: config.PlatformConfig) -> list[dict[str, Any]]:
    to = policies(cfg, KIM)["allow-internet-egress"]["egress"][0]["to"]
    return [peer["ipBlock"] for peer in to]


# -- kuploy.yaml --------------------------------------------------------------------------------


def test_node_and_denied_ranges_are_optional_and_empty_by_default() -> None:
    assert (CFG.node_cidrs, CFG.denied_egress) == ((), ())
    assert "node_cidrs" not in DATA["cluster"] or DATA["cluster"]["node_cidrs"] == []


def test_node_and_denied_ranges_are_normalised_and_deduplicated() -> None:
    cfg = parse_cluster(
        node_cidrs=["203.0.113.0/24", "203.0.113.7/32", "203.0.113.0/24"],
        denied_egress=["2001:DB8::/32", "198.51.100.0/24"],
    )
    assert cfg.node_cidrs == ("203.0.113.0/24", "203.0.113.7/32")
    assert cfg.denied_egress == ("2001:db8::/32", "198.51.100.0/24")


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("node_cidrs", ["203.0.113.1/24"], "'203.0.113.1/24' is not a CIDR (203.0.113.1/24 has"),
        ("node_cidrs", ["lab-pcs"], "'lab-pcs' is not a CIDR"),
        ("node_cidrs", ["300.0.0.0/8"], "'300.0.0.0/8' is not a CIDR"),
        ("node_cidrs", "203.0.113.0/24", "expected a list of CIDRs like 192.0.2.0/24"),
        ("denied_egress", ["0.0.0.0/0"], "'0.0.0.0/0' is every address"),
        ("denied_egress", ["::/0"], "'::/0' is every address"),
        ("denied_egress", ["2001:db8::1/32"], "'2001:db8::1/32' is not a CIDR"),
        ("denied_egress", {"campus": "x"}, "expected a list of CIDRs"),
        ("denied_egress", ["::ffff:10.0.0.0/104"], "'::ffff:10.0.0.0/104' is an IPv4-mapped range"),
    ],
)
def test_bad_ranges_are_refused_naming_key_and_value(key: str, value: Any, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_cluster(**{key: value})
    assert info.value.message.startswith(f"kuploy.yaml: cluster.{key}: {words}")
    assert "\n" not in info.value.message


# -- egress -------------------------------------------------------------------------------------


def test_egress_excepts_private_cluster_node_and_denied_ranges() -> None:
    cfg = parse_cluster(
        pod_cidr="10.32.0.0/12",
        service_cidr="172.20.0.0/16",
        node_cidrs=["203.0.113.0/24", "192.168.1.0/24"],
        denied_egress=["198.51.100.0/22"],
    )
    (block,) = egress_blocks(cfg)
    assert block["cidr"] == "0.0.0.0/0"
    assert block["except"] == [  # in address order
        "10.0.0.0/8",
        "10.32.0.0/12",
        "100.64.0.0/10",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "172.20.0.0/16",
        "192.168.0.0/16",
        "192.168.1.0/24",
        "198.51.100.0/22",
        "203.0.113.0/24",
    ]


def test_a_range_given_twice_is_excepted_once() -> None:
    cfg = parse_cluster(node_cidrs=["10.0.0.0/8"], denied_egress=["10.0.0.0/8", "10.96.0.0/12"])
    (block,) = egress_blocks(cfg)
    assert block["except"].count("10.0.0.0/8") == 1
    assert block["except"].count("10.96.0.0/12") == 1


def test_ipv6_ranges_get_their_own_block_with_the_special_ranges() -> None:
    cfg = parse_cluster(node_cidrs=["2001:db8:1::/48", "203.0.113.0/24"])
    v4, v6 = egress_blocks(cfg)
    assert v4["cidr"] == "0.0.0.0/0" and "203.0.113.0/24" in v4["except"]
    assert v6 == {
        "cidr": "::/0",
        "except": ["64:ff9b::/96", "2001:db8:1::/48", "fc00::/7", "fe80::/10"],
    }


@pytest.mark.parametrize(
    "cluster",
    [
        {},
        {"node_cidrs": ["203.0.113.0/24", "2001:db8::/32"], "denied_egress": ["198.51.100.0/24"]},
        {"pod_cidr": "fd00:10:244::/56", "service_cidr": "fd00:10:96::/112"},
    ],
)
def test_every_except_is_a_strict_subset_of_its_cidr(cluster: dict[str, Any]) -> None:
    """The API server's own rule for an ipBlock: an except outside its cidr is refused."""
    for block in egress_blocks(parse_cluster(**cluster)):
        outer = ipaddress.ip_network(block["cidr"])
        for text in block["except"]:
            inner = ipaddress.ip_network(text)
            assert inner.version == outer.version
            assert inner.subnet_of(outer) and inner.prefixlen > outer.prefixlen  # type: ignore[arg-type]


def test_no_ipv6_egress_without_an_ipv6_range() -> None:
    assert [b["cidr"] for b in egress_blocks(CFG)] == ["0.0.0.0/0"]


# -- ingress from the ingress controller ---------------------------------------------------------


def ingress_rule(spec: TenantSpec) -> dict[str, Any]:
    (rule,) = policies(CFG, spec)["allow-from-ingress-controller"]["ingress"]
    return dict(rule)


def test_the_ingress_controller_reaches_only_the_managed_apps_ports() -> None:
    rule = ingress_rule(replace(KIM, apps=(WEB, API, replace(WEB, name="web2"))))
    assert rule["ports"] == [{"protocol": "TCP", "port": 3000}, {"protocol": "TCP", "port": 8080}]
    ns = rule["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
    assert ns == CFG.ingress_namespace
    assert set(rule["from"][0]) == {"namespaceSelector"}  # the controller's namespace only


def test_a_student_repo_app_is_reached_on_its_port_named_http() -> None:
    assert ingress_rule(replace(KIM, apps=(REPO,)))["ports"] == [
        {"protocol": "TCP", "port": netpol.APP_PORT_NAME}
    ]
    assert netpol.APP_PORT_NAME == "http"
    mixed = ingress_rule(replace(KIM, apps=(REPO, WEB, replace(REPO, name="b2"))))
    assert mixed["ports"] == [
        {"protocol": "TCP", "port": 8080},
        {"protocol": "TCP", "port": "http"},
    ]


def test_without_apps_nothing_is_admitted_rather_than_every_port() -> None:
    assert "allow-from-ingress-controller" not in policies(CFG, KIM)
    assert netpol.app_ports(KIM) == []
    # Every rule that admits from outside the namespace names its ports.
    for spec in (KIM, replace(KIM, apps=(WEB,)), replace(KIM, apps=(REPO,))):
        for name, body in policies(CFG, spec).items():
            for rule in body.get("ingress", []):
                if any("namespaceSelector" in peer for peer in rule["from"]):
                    assert rule.get("ports"), name


def test_under_http01_the_ingress_controller_reaches_cert_managers_solver_on_its_port_only() -> (
    None
):
    http01 = config.parse_config(
        {**DATA, "tls": {**DATA["tls"], "issuer": "http01", "acme_email": "a@b.example"}}
    )
    spec = replace(KIM, apps=(WEB,))
    assert "allow-acme-http01-solver" not in policies(CFG, spec)  # ca: no solver pods
    solver = policies(http01, spec)["allow-acme-http01-solver"]
    # Only the pods cert-manager labels as solvers (pkg/issuer/acme/http/pod.go), port 8089.
    assert solver["podSelector"] == {"matchLabels": {"acme.cert-manager.io/http01-solver": "true"}}
    assert solver["policyTypes"] == ["Ingress"]
    (rule,) = solver["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8089}]
    assert rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}}}
    ]
    # The apps' own rule is unchanged: the solver's port is not opened on them.
    assert (
        policies(http01, spec)["allow-from-ingress-controller"]
        == policies(CFG, spec)["allow-from-ingress-controller"]
    )


# -- databases (db add) -------------------------------------------------------------------------


def test_a_database_gets_exactly_its_flows() -> None:
    from kuploy_gitops.db_spec import DatabaseSpec

    cfg = parse_cluster(node_cidrs=["203.0.113.0/24"])
    spec = replace(KIM, apps=(WEB,), databases=(DatabaseSpec(name="shop"),))
    own = {"podSelector": {"matchLabels": {"cnpg.io/cluster": "shop"}}}
    both = [{"protocol": "TCP", "port": 5432}, {"protocol": "TCP", "port": 8000}]
    operator = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "cnpg-system"}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "cloudnative-pg"}},
    }
    assert policies(cfg, spec)["allow-database-shop"] == {
        "podSelector": own["podSelector"],
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [
            {"from": [operator], "ports": both},  # the operator: status and PostgreSQL
            {"from": [own], "ports": both},  # the other instances: replication
            {"from": [{"podSelector": {}}], "ports": [{"protocol": "TCP", "port": 5432}]},
        ],
        "egress": [
            {"to": [own], "ports": both},
            # The instance manager talks to the API server (on the nodes' addresses).
            {
                "to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}],
                "ports": [{"protocol": "TCP", "port": 6443}],
            },
        ],
    }


def test_database_pods_are_out_of_the_broad_policies() -> None:
    from kuploy_gitops.db_spec import DatabaseSpec

    spec = replace(KIM, apps=(WEB,), databases=(DatabaseSpec(name="db"),))
    got = policies(CFG, spec)
    not_db = {"matchExpressions": [{"key": "cnpg.io/cluster", "operator": "DoesNotExist"}]}
    # No internet, no ingress controller, nothing from the namespace but 5432 (its own policy).
    for name in ("allow-same-namespace", "allow-from-ingress-controller", "allow-internet-egress"):
        assert got[name]["podSelector"] == not_db, name
    assert got["default-deny"]["podSelector"] == {}
    assert got["allow-dns"]["podSelector"] == {}  # DNS: every pod, the instances too
    # Without a node range the API server's port is open on any address, and only that port.
    assert got["allow-database-db"]["egress"][1] == {
        "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
        "ports": [{"protocol": "TCP", "port": 6443}],
    }
    # A tenant without databases keeps the policies exactly as before.
    plain = policies(CFG, replace(KIM, apps=(WEB,)))
    assert all(p["podSelector"] == {} for p in plain.values())
    assert not any(name.startswith("allow-database") for name in plain)

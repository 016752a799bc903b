"""The rendered NetworkPolicies with node and denied ranges are accepted by the real API server.

The API server refuses an ipBlock whose ``except`` is not a strict subset of its ``cidr``; the
tenant's egress rule excepts the private, cluster, node and denied ranges, IPv4 and IPv6, so both
families must land in their own block. The ports the ingress controller may reach are numbers
(managed apps) and the name ``http`` (student-repo apps).
"""

from __future__ import annotations

import copy
from dataclasses import replace

from apiserver_harness import Cluster

from kuploy_gitops import config, manifests
from kuploy_gitops.tenant_spec import AppSpec, TenantSpec

CFG = replace(
    config.parse_config(config.default_config_data()),
    node_cidrs=("203.0.113.0/24", "192.168.10.0/24", "2001:db8:10::/64"),
    denied_egress=("198.51.100.0/22", "2001:db8:ca::/48", "10.0.0.0/8"),
)
SPEC = TenantSpec(
    student="net-kim",
    tier="small",
    apps=(
        AppSpec(name="web", mode="managed", image="ghcr.io/konkuk-kuploy/web:1", port=8080),
        AppSpec(name="blog", mode="repo", repo="https://github.com/konkuk-kuploy/net-kim-blog.git"),
    ),
)


def test_policies_with_node_denied_and_ipv6_ranges_are_accepted(cluster: Cluster) -> None:
    policies = manifests.network_policies(CFG, SPEC)
    egress = next(p for p in policies if p["metadata"]["name"] == "allow-internet-egress")
    assert [peer["ipBlock"]["cidr"] for peer in egress["spec"]["egress"][0]["to"]] == [
        "0.0.0.0/0",
        "::/0",
    ]
    ns = cluster.apply([manifests.namespace(CFG, SPEC)])
    assert ns.ok, ns.stderr
    result = cluster.apply(policies)
    assert result.ok and not result.warnings, result.stderr
    names = cluster.kubectl("-n", SPEC.student, "get", "networkpolicy", "-o", "name", check=True)
    assert sorted(names.stdout.split()) == sorted(
        f"networkpolicy.networking.k8s.io/{p['metadata']['name']}" for p in policies
    )


def test_an_except_outside_its_cidr_or_ipv4_mapped_is_refused(cluster: Cluster) -> None:
    """The control: the server checks what the renderer keeps to (the test above can fail)."""
    (policy,) = [
        copy.deepcopy(p)
        for p in manifests.network_policies(CFG, SPEC)
        if p["metadata"]["name"] == "allow-internet-egress"
    ]
    v4 = policy["spec"]["egress"][0]["to"][0]["ipBlock"]
    v4["except"].append("2001:db8:10::/64")  # an IPv6 range in the IPv4 block
    v6 = policy["spec"]["egress"][0]["to"][1]["ipBlock"]
    v6["except"].append("::ffff:0:0/96")  # config refuses these; BLOCKED_EGRESS_V6 leaves it out
    policy["metadata"]["name"] = "mixed-families"
    ns = cluster.apply([manifests.namespace(CFG, SPEC)])
    assert ns.ok, ns.stderr
    result = cluster.apply([policy], dry_run=True)
    assert not result.ok
    assert "to[0].ipBlock.except" in result.stderr, result.stderr
    assert "must be a strict subset of `cidr`" in result.stderr
    assert "must not have an IPv4-mapped IPv6 address" in result.stderr

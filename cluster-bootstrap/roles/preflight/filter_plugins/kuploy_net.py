"""Network filters for the cluster-bootstrap pre-flight checks (pure Python, no extra deps)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

# Interfaces created by Kubernetes/Calico itself; their addresses are pod or service addresses.
_CLUSTER_IFACE_PREFIXES = ("cali", "vxlan.calico", "tunl", "cni", "flannel", "kube-ipvs", "veth")


def kuploy_cidr_valid(value: Any) -> bool:
    """Return True when value is an IPv4/IPv6 network in CIDR notation (host bits zero)."""
    if not isinstance(value, str) or "/" not in value:
        return False
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        return False
    return True


def kuploy_node_networks(facts: dict[str, Any]) -> list[str]:
    """List the IPv4 networks (CIDR) of a host's interfaces from its gathered Ansible facts.

    Loopback and interfaces made by the cluster network itself are left out.
    """
    networks: set[str] = set()
    for iface in facts.get("interfaces", []) or []:
        if iface == "lo" or iface.startswith(_CLUSTER_IFACE_PREFIXES):
            continue
        data = facts.get(iface.replace("-", "_").replace(".", "_")) or facts.get(iface) or {}
        entries = []
        if isinstance(data.get("ipv4"), dict):
            entries.append(data["ipv4"])
        entries.extend(e for e in data.get("ipv4_secondaries", []) or [] if isinstance(e, dict))
        for entry in entries:
            address, netmask = entry.get("address"), entry.get("netmask")
            if not address or not netmask:
                continue
            net = ipaddress.ip_network(f"{address}/{netmask}", strict=False)
            if not net.is_loopback:
                networks.add(str(net))
    default = facts.get("default_ipv4") or {}
    if default.get("address") and default.get("netmask"):
        networks.add(str(ipaddress.ip_network(f"{default['address']}/{default['netmask']}", False)))
    return sorted(networks, key=lambda n: (ipaddress.ip_network(n).version, n))


def kuploy_cidr_overlaps(cidrs: list[str], networks: list[str]) -> list[str]:
    """Return "A overlaps B" for every CIDR in cidrs that overlaps a network in networks."""
    found = []
    for cidr in cidrs:
        a = ipaddress.ip_network(cidr, strict=False)
        for other in networks:
            b = ipaddress.ip_network(other, strict=False)
            if a.version == b.version and a.overlaps(b):
                found.append(f"{cidr} overlaps {other}")
    return found


# A DNS name as kubeadm and TLS certificates take it: dot-separated labels of letters, digits and
# inner hyphens, at most 63 characters each and 253 in all.
_DNS_NAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$"
)


def kuploy_endpoint_kind(value: Any) -> str:
    """'ip' for an IPv4/IPv6 address, 'name' for a DNS name, 'invalid' for anything else."""
    text = str(value or "")
    try:
        ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        return "ip"
    if re.fullmatch(r"[0-9.]+", text):  # 10.0.0.300 or 10.0.0: a mistyped address, not a name
        return "invalid"
    return "name" if _DNS_NAME.match(text) else "invalid"


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        """Map filter names to functions."""
        return {
            "kuploy_cidr_valid": kuploy_cidr_valid,
            "kuploy_node_networks": kuploy_node_networks,
            "kuploy_cidr_overlaps": kuploy_cidr_overlaps,
            "kuploy_endpoint_kind": kuploy_endpoint_kind,
        }

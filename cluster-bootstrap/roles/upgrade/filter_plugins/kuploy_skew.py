"""Kubernetes version-skew rules for upgrade.yml (and the site.yml guard).

The rules (kubernetes.io/releases/version-skew-policy, kubeadm upgrade docs):
- kubeadm upgrades the control plane one minor version at a time and never downgrades;
- a kubelet is never newer than the API server, and at most ``max_kubelet_skew`` (3 since
  Kubernetes 1.28) minor versions older.
``kuploy_upgrade_refusals`` returns one sentence per broken rule (empty list: allowed), so the
playbook can refuse with every reason at once before it changes anything.
"""

from __future__ import annotations

import re
from typing import Any

_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$")


def _parse(version: Any) -> tuple[int, int, int] | None:
    match = _VERSION.match(str(version).strip())
    if match is None:
        return None
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def _show(version: tuple[int, int, int]) -> str:
    return "v{}.{}.{}".format(*version)


def kuploy_kubelet_versions(nodes: dict[str, Any]) -> dict[str, str]:
    """{node name: kubelet version} from the JSON of `kubectl get nodes -o json`."""
    return {
        item["metadata"]["name"]: item.get("status", {})
        .get("nodeInfo", {})
        .get("kubeletVersion", "")
        for item in nodes.get("items", [])
    }


def kuploy_nodes_behind(kubelets: dict[str, str], target: str) -> list[str]:
    """Names of the nodes whose kubelet is not at ``target`` yet (sorted)."""
    wanted = _parse(target)
    return sorted(name for name, version in kubelets.items() if _parse(version) != wanted)


def kuploy_upgrade_refusals(
    target: str,
    server: str,
    kubelets: dict[str, str],
    kubeadm: str = "",
    max_kubelet_skew: int = 3,
) -> list[str]:
    """Every reason Kubernetes forbids moving the cluster from ``server`` to ``target``.

    ``target`` is kube_version; ``server`` the API server's gitVersion; ``kubelets`` maps node
    names to kubelet versions; ``kubeadm`` is the control plane's installed kubeadm (empty when
    unknown). Returns [] when the upgrade (or a re-run at the same version) is allowed.
    """
    want, have = _parse(target), _parse(server)
    if want is None:
        return [f"kube_version {target!r} is not a version like 1.36.4"]
    if have is None:
        return [f"the API server reported {server!r}, not a version like v1.36.4"]
    refusals = []
    shown = _show(want)
    if want < have:
        refusals.append(
            f"kube_version {shown} is older than the control plane's {_show(have)}: Kubernetes "
            "cannot be downgraded (restore an etcd snapshot taken before the upgrade instead)"
        )
    elif want[0] != have[0] or want[1] > have[1] + 1:
        refusals.append(
            f"kube_version {shown} is {want[1] - have[1]} minor versions above the control plane's "
            f"{_show(have)}: kubeadm upgrades one minor version at a time; upgrade to "
            f"{have[0]}.{have[1] + 1}.x first"
        )
    for name, version in sorted(kubelets.items()):
        kubelet = _parse(version)
        if kubelet is None:
            refusals.append(f"node {name} reports kubelet version {version!r}")
        elif kubelet > have:
            refusals.append(
                f"node {name}'s kubelet {_show(kubelet)} is newer than the control plane's "
                f"{_show(have)}: a kubelet must never be newer than the API server (upgrade the "
                "control plane first, or reinstall that node at the control plane's version)"
            )
        elif kubelet[0] != want[0] or want[1] - kubelet[1] > max_kubelet_skew:
            refusals.append(
                f"node {name}'s kubelet {_show(kubelet)} would be {want[1] - kubelet[1]} minor "
                f"versions behind {shown} (at most {max_kubelet_skew} allowed): upgrade or re-join "
                "that node at the current version first"
            )
    installed = _parse(kubeadm) if kubeadm else None
    if installed is not None and installed > want:
        refusals.append(
            f"the control plane's kubeadm {_show(installed)} is newer than kube_version {shown}: "
            "set kube_version to at least that version"
        )
    return refusals


class FilterModule:
    """Ansible filters: kuploy_upgrade_refusals, kuploy_kubelet_versions, kuploy_nodes_behind."""

    def filters(self) -> dict[str, Any]:
        """Map filter names to functions."""
        return {
            "kuploy_upgrade_refusals": kuploy_upgrade_refusals,
            "kuploy_kubelet_versions": kuploy_kubelet_versions,
            "kuploy_nodes_behind": kuploy_nodes_behind,
        }

"""The harness itself: the version the platform installs, the admission chain kubeadm gives it."""

from __future__ import annotations

import json

from apiserver_harness import Cluster, kube_version, pinned_module_version


def test_go_mod_pins_the_version_cluster_bootstrap_installs() -> None:
    assert pinned_module_version() == kube_version()


def test_server_is_the_platform_version(cluster: Cluster) -> None:
    out = json.loads(cluster.kubectl("version", "-o", "json", check=True).stdout)
    assert out["serverVersion"]["gitVersion"] == f"v{kube_version()}"


def test_kubeconfig_verifies_the_server_certificate(cluster: Cluster) -> None:
    config = cluster.kubeconfig.read_text()
    assert "certificate-authority-data" in config
    assert "insecure-skip-tls-verify" not in config


def test_controller_manager_fills_in_quota_status(cluster: Cluster) -> None:
    # ResourceQuota admission refuses every pod until the quota controller has set status.hard.
    ns = "harness-quota"
    cluster.kubectl("create", "namespace", ns, check=True)
    quota = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "q", "namespace": ns},
        "spec": {"hard": {"pods": "1"}},
    }
    assert cluster.apply([quota]).ok
    cluster.wait_for(
        "the quota controller to fill in status.hard",
        lambda: cluster.get("resourcequota", "q", "-n", ns).get("status", {}).get("hard"),
    )


def test_unknown_user_is_forbidden(cluster: Cluster) -> None:
    result = cluster.kubectl("get", "namespaces", as_user="nobody")
    assert not result.ok
    assert "forbidden" in result.stderr.lower()

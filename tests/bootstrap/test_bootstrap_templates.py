"""Template tests: render the kubeadm, join, Calico, Argo CD, apt and containerd templates with
Ansible's own templating (real group_vars and role defaults) and check the parsed output."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from bootstrap_helpers import (
    BOOTSTRAP,
    group_vars,
    inventory_groups,
    load_filter_plugin,
    run_playbook,
    write_inventory,
)

GROUP_VARS = group_vars()


def local_host(node_ip: str, **hostvars: Any) -> dict[str, Any]:
    return {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "node_ip": node_ip,
        **hostvars,
    }


def render(tmp_path: Path, home: Path, *extra: str) -> Path:
    inventory = write_inventory(
        tmp_path / "inventory",
        inventory_groups(
            {"cp1": local_host("10.20.0.10")},
            {"core1": local_host("10.20.0.11"), "lab1": local_host("10.20.0.101")},
            ["lab1"],
        ),
    )
    out = tmp_path / "rendered"
    platform = "platform_repo_url=https://git.example.test/konkuk/platform.git"
    run_playbook(
        BOOTSTRAP / "tests/render.yml", inventory, home, "-e", f"render_dir={out}", "-e", platform,
        *extra,
    )  # fmt: skip
    # One JSON file per host ({file name: text}): each file where the tests read it.
    for bundle in out.glob("*.json"):
        host = out / bundle.stem
        host.mkdir()
        for name, text in json.loads(bundle.read_text()).items():
            (host / name).write_text(text)
    return out


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("render")
    home = base / "home"
    (home / "tmp").mkdir(parents=True)
    return render(base, home)


def docs(path: Path) -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all(path.read_text()) if doc}


def test_kubeadm_config_has_init_cluster_and_kubelet_configuration(rendered: Path) -> None:
    kinds = docs(rendered / "cp1/kubeadm-config.yaml")
    assert set(kinds) == {"InitConfiguration", "ClusterConfiguration", "KubeletConfiguration"}
    init, cluster, kubelet = (
        kinds["InitConfiguration"], kinds["ClusterConfiguration"], kinds["KubeletConfiguration"]
    )  # fmt: skip
    assert init["apiVersion"] == "kubeadm.k8s.io/v1beta4"
    assert init["localAPIEndpoint"] == {"advertiseAddress": "10.20.0.10", "bindPort": 6443}
    registration = init["nodeRegistration"]
    assert registration["name"] == "cp1"
    assert registration["criSocket"] == "unix:///run/containerd/containerd.sock"
    assert registration["kubeletExtraArgs"] == [{"name": "node-ip", "value": "10.20.0.10"}]
    # The control-plane taint stays unless control_plane_allow_workloads is set.
    assert registration["taints"] == [
        {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
    ]
    assert cluster["kubernetesVersion"] == "v" + GROUP_VARS["kube_version"]
    # A DNS name (each node's /etc/hosts points it at the control plane): a restored control
    # plane on another machine takes the name over.
    assert cluster["controlPlaneEndpoint"] == "api.kuploy.internal:6443"
    assert cluster["networking"] == {
        "podSubnet": GROUP_VARS["pod_cidr"],
        "serviceSubnet": GROUP_VARS["service_cidr"],
        "dnsDomain": "cluster.local",
    }
    args = {a["name"]: a["value"] for a in cluster["apiServer"]["extraArgs"]}
    assert args == {
        "default-not-ready-toleration-seconds": "60",
        "default-unreachable-toleration-seconds": "60",
        # kubeadm's default (NodeRestriction) kept, with the tenant boundary's plugins.
        "enable-admission-plugins": (
            "NodeRestriction,DenyServiceExternalIPs,PodNodeSelector,PodTolerationRestriction"
        ),
    }
    assert cluster["apiServer"]["certSANs"] == ["api.kuploy.internal", "10.20.0.10", "cp1"]
    assert kubelet["cgroupDriver"] == "systemd"
    assert kubelet["failSwapOn"] is True
    assert kubelet["seccompDefault"] is True  # RuntimeDefault for every container
    assert kubelet["shutdownGracePeriod"] == "60s"
    assert kubelet["shutdownGracePeriodCriticalPods"] == "20s"


def test_control_plane_taint_removed_only_when_configured(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "tmp").mkdir(parents=True)
    out = render(tmp_path, home, "-e", "control_plane_allow_workloads=true")
    init = docs(out / "cp1/kubeadm-config.yaml")["InitConfiguration"]
    assert init["nodeRegistration"]["taints"] == []
    rules = json.loads((out / "cp1/ufw-rules.json").read_text())
    assert "allow 30000:32767/tcp" in rules  # it runs workloads, so NodePorts open too


def test_join_config_taints_lab_pcs_only(rendered: Path) -> None:
    lab = docs(rendered / "lab1/kubeadm-join.yaml")["JoinConfiguration"]
    core = docs(rendered / "core1/kubeadm-join.yaml")["JoinConfiguration"]
    assert lab["apiVersion"] == "kubeadm.k8s.io/v1beta4"
    discovery = lab["discovery"]["bootstrapToken"]
    assert discovery["apiServerEndpoint"] == "api.kuploy.internal:6443"
    assert discovery["token"] == "abcdef.0123456789abcdef"
    assert discovery["caCertHashes"] == ["sha256:" + "1" * 64]
    assert lab["nodeRegistration"]["name"] == "lab1"
    assert lab["nodeRegistration"]["kubeletExtraArgs"] == [
        {"name": "node-ip", "value": "10.20.0.101"}
    ]
    assert lab["nodeRegistration"]["taints"] == [
        {"key": "kuploy.io/pool", "value": "lab", "effect": "NoSchedule"}
    ]
    assert core["nodeRegistration"]["taints"] == []
    assert not (rendered / "cp1/kubeadm-join.yaml").exists()


def test_calico_installation_uses_the_configured_pod_cidr(rendered: Path) -> None:
    kinds = docs(rendered / "cp1/calico-installation.yaml")
    assert set(kinds) == {"Installation", "APIServer"}
    installation = kinds["Installation"]
    assert installation["apiVersion"] == "operator.tigera.io/v1"
    assert installation["metadata"]["name"] == "default"
    network = installation["spec"]["calicoNetwork"]
    (pool,) = network["ipPools"]
    assert pool["cidr"] == GROUP_VARS["pod_cidr"] != "192.168.0.0/16"
    assert pool["encapsulation"] == "VXLANCrossSubnet"
    assert pool["natOutgoing"] == "Enabled"
    assert pool["blockSize"] == 26
    assert network["nodeAddressAutodetectionV4"] == {"kubernetes": "NodeInternalIP"}


def test_argocd_values_and_root_application(rendered: Path) -> None:
    values = yaml.safe_load((rendered / "cp1/argocd-values.yaml").read_text())
    assert values["global"]["nodeSelector"] == {"kuploy.io/pool": "core"}
    assert values["configs"]["params"]["server.insecure"] is True
    assert values["configs"]["cm"]["exec.enabled"] is False
    # Sync impersonation: tenant apps are applied as their tenant's kuploy-deployer. A string,
    # as argocd-cm holds strings only.
    assert values["configs"]["cm"]["application.sync.impersonation.enabled"] == "true"
    assert values["dex"]["enabled"] is False
    assert values["redis-ha"]["enabled"] is False
    assert values["crds"] == {"install": True, "keep": True}
    app = yaml.safe_load((rendered / "cp1/root-application.yaml").read_text())
    assert app["kind"] == "Application"
    assert app["metadata"] == {
        "name": "kuploy-root",
        "namespace": "argocd",
        "labels": {
            "app.kubernetes.io/managed-by": "kuploy-gitops",
            "app.kubernetes.io/part-of": "kuploy",
        },
    }
    assert app["spec"]["source"] == {
        "repoURL": "https://git.example.test/konkuk/platform.git",
        "targetRevision": "main",
        "path": "apps/cluster/platform",
    }
    assert app["spec"]["destination"]["server"] == "https://kubernetes.default.svc"
    assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}


def test_kubernetes_apt_repository_is_per_minor_and_pinned(rendered: Path) -> None:
    minor = ".".join(GROUP_VARS["kube_version"].split(".")[:2])
    fields = dict(
        line.split(": ", 1)
        for line in (rendered / "cp1/kubernetes.sources").read_text().splitlines()
        if ": " in line and not line.startswith("#")
    )
    assert fields == {
        "Types": "deb",
        "URIs": f"https://pkgs.k8s.io/core:/stable:/v{minor}/deb/",
        "Suites": "/",
        "Signed-By": f"/etc/apt/keyrings/kubernetes-v{minor}.asc",
    }
    pref = (rendered / "cp1/kubernetes.pref").read_text()
    assert "Package: kubelet kubeadm kubectl" in pref
    assert f"Pin: version {GROUP_VARS['kube_version']}-*" in pref
    assert "Pin-Priority: 1000" in pref
    assert "apt.kubernetes.io" not in pref + str(fields)


def test_argocd_network_policies_are_on(rendered: Path) -> None:
    """The argo-cd chart renders its per-component policies and a default deny of ingress.

    (The chart's templates admit everything to argocd-server, only the Argo CD components to
    the repo-server and Redis: see docs/admin-guide.md, "Network".)
    """
    values = yaml.safe_load((rendered / "cp1/argocd-values.yaml").read_text())
    assert values["global"]["networkPolicy"] == {"create": True, "defaultDenyIngress": True}
    # The server must stay reachable from the ingress controller: no values narrow it.
    assert "networkPolicy" not in values.get("server", {})


@pytest.mark.parametrize("major", ["1", "2"])
def test_containerd_templates_match_their_layout(rendered: Path, major: str) -> None:
    text = (rendered / f"cp1/containerd-v{major}.toml").read_text()
    parsed = tomllib.loads(text)
    assert parsed["version"] == {"1": 2, "2": 3}[major]
    layouts = json.loads((rendered / "cp1/containerd-layouts.json").read_text())
    layout = layouts[major]
    assert layout["template"] == f"config-v{major}.toml.j2"
    # The sections the role asserts on after `containerd config dump` exist in this template.
    sections = load_filter_plugin("containerd", "kuploy_toml").kuploy_toml_sections(text)
    assert sections[layout["options_section"]]["SystemdCgroup"] is True
    assert sections[layout["runc_section"]]["runtime_type"] == "io.containerd.runc.v2"
    sandbox = sections[layout["sandbox_section"]][layout["sandbox_key"]]
    assert sandbox == GROUP_VARS["containerd_sandbox_image"]
    if major == "2":
        runtime = parsed["plugins"]["io.containerd.cri.v1.runtime"]
        assert runtime["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] is True
        images = parsed["plugins"]["io.containerd.cri.v1.images"]
        assert images["pinned_images"]["sandbox"] == GROUP_VARS["containerd_sandbox_image"]
        assert "io.containerd.grpc.v1.cri" not in parsed["plugins"]


def test_firewall_ports_follow_the_node_role(rendered: Path) -> None:
    cp = json.loads((rendered / "cp1/ufw-rules.json").read_text())
    lab = json.loads((rendered / "lab1/ufw-rules.json").read_text())
    calico = ["allow 179/tcp", "allow 4789/udp", "allow 5473/tcp"]
    for port in ["6443/tcp", "2379:2380/tcp", "10250/tcp", "10257/tcp", "10259/tcp"]:
        assert f"allow {port}" in cp
    assert "allow 30000:32767/tcp" not in cp
    assert set(calico) <= set(cp) and set(calico) <= set(lab)
    assert "allow 10250/tcp" in lab and "allow 30000:32767/tcp" in lab
    assert "allow 6443/tcp" not in lab and "allow 2379:2380/tcp" not in lab
    assert f"allow from {GROUP_VARS['pod_cidr']}" in lab


def test_no_template_mentions_the_retired_repository_or_the_calico_default_pool() -> None:
    for path in BOOTSTRAP.rglob("*"):
        if path.is_file() and path.suffix in {".yml", ".j2", ".cfg"}:
            text = path.read_text()
            assert "apt.kubernetes.io" not in text or "retired" in text, path
            assert "192.168.0.0/16" not in text or "trap" in text or "never" in text, path

"""Real converge of the node roles on a throwaway Debian root filesystem (chroot connection).

prerequisites + containerd run for real inside a debootstrap'ed chroot (apt installs containerd
from Debian), with bootstrap_runtime_actions=false so nothing touches this machine's kernel,
firewall or services. The files and containerd's live config are checked, a second run must
change nothing, site.yml runs in check mode with the converged chroot as control plane and lab
PC, and a config layout that does not match the installed containerd must fail the run.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import subprocess
import time
import tomllib
from pathlib import Path

import pytest
import yaml
from bootstrap_helpers import (
    BOOTSTRAP,
    changed_tasks,
    chroot_host,
    failed_tasks,
    inventory_groups,
    keep_downloaded_debs,
    make_chroot,
    rootfs_tarball,
    run_playbook,
    task_results,
    write_inventory,
)
from bootstrap_helpers import (
    group_vars as all_group_vars,
)

CP_MACHINE_ID = "5f0c2a7e9b6d4c1e8a3f2b7c6d5e4f30"
CANDIDATE_RANGES = [
    ("10.244.0.0/16", "10.96.0.0/12"),
    ("172.20.0.0/16", "172.21.0.0/16"),
    ("100.80.0.0/16", "100.81.0.0/16"),
]


def chroot_run(root: Path, *cmd: str) -> str:
    return subprocess.run(
        ["chroot", str(root), *cmd], check=True, capture_output=True, text=True, timeout=120
    ).stdout


def host_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    out = subprocess.run(
        ["ip", "-j", "-4", "addr"], check=True, capture_output=True, text=True
    ).stdout
    nets = []
    for link in json.loads(out):
        for addr in link.get("addr_info", []):
            nets.append(ipaddress.ip_network(f"{addr['local']}/{addr['prefixlen']}", strict=False))
    return nets


def free_ranges() -> tuple[str, str]:
    """Pod/service ranges that do not overlap this machine's networks (the chroots share them)."""
    nets = host_networks()
    for pod, svc in CANDIDATE_RANGES:
        if not any(ipaddress.ip_network(c).overlaps(n) for c in (pod, svc) for n in nets):
            return pod, svc
    pytest.fail(f"no candidate pod/service range is free of this machine's networks {nets}")


def assert_converged_files(root: Path) -> None:
    fstab = (root / "etc/fstab").read_text().splitlines()
    swap_lines = [line for line in fstab if " swap " in line]
    assert len(swap_lines) == 2
    assert all(line.startswith("#") for line in swap_lines), swap_lines
    swap_target = root / "etc/systemd/system/swap.target"
    assert swap_target.is_symlink() and str(swap_target.readlink()) == "/dev/null"

    modules = (root / "etc/modules-load.d/kubernetes.conf").read_text().split()
    assert "overlay" in modules and "br_netfilter" in modules
    sysctl = dict(
        (part.strip() for part in line.split("=", 1))
        for line in (root / "etc/sysctl.d/99-kubernetes.conf").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert sysctl == {
        "net.bridge.bridge-nf-call-iptables": "1",
        "net.bridge.bridge-nf-call-ip6tables": "1",
        "net.ipv4.ip_forward": "1",
    }
    assert "127.0.1.1 cp1" in (root / "etc/hosts").read_text().splitlines()
    timesyncd = (root / "etc/systemd/timesyncd.conf.d/kuploy.conf").read_text()
    assert "[Time]" in timesyncd and "NTP=ntp.ubuntu.com" in timesyncd
    for package in ("containerd", "systemd-timesyncd", "conntrack", "procps", "kmod"):
        status = chroot_run(root, "dpkg-query", "-W", "-f=${Status}", package)
        assert status == "install ok installed", (package, status)


def assert_containerd_config(root: Path, sandbox_image: str) -> None:
    version = chroot_run(root, "containerd", "--version")
    assert " 1." in version, f"Debian {version!r}: the scenario expects a 1.x containerd"
    written = tomllib.loads((root / "etc/containerd/config.toml").read_text())
    assert written["version"] == 2
    # The live, merged config containerd really uses.
    live = tomllib.loads(chroot_run(root, "containerd", "config", "dump"))
    cri = live["plugins"]["io.containerd.grpc.v1.cri"]
    runc = cri["containerd"]["runtimes"]["runc"]
    assert runc["options"]["SystemdCgroup"] is True
    assert runc["runtime_type"] == "io.containerd.runc.v2"
    assert cri["sandbox_image"] == sandbox_image
    assert cri["registry"]["config_path"] == "/etc/containerd/certs.d"
    assert "cri" not in live.get("disabled_plugins", [])
    # containerd's own defaults are still there (the template is minimal, not a full copy).
    assert cri["cni"]["bin_dir"] == "/opt/cni/bin"
    crictl = yaml.safe_load((root / "etc/crictl.yaml").read_text())
    assert crictl["runtime-endpoint"] == "unix:///run/containerd/containerd.sock"


FAKE_KEY = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n-----END PGP PUBLIC KEY BLOCK-----\n"
RUNTIME_TASKS = {
    "Turn swap off now",
    "Load missing kernel modules now",
    "Apply sysctls that differ now",
    "Open the ports of this node's role in ufw",
    "Start containerd at boot and now",
    "Start systemd-timesyncd at boot and now",
    "Name the host after its inventory entry",
}


def stand_in_downloads(root: Path, calico_manifests: list[str]) -> str:
    """Files in the chroot that stand in for the real downloads; returns the helm checksum."""
    downloads = root / "root/downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    (downloads / "Release.key").write_text(FAKE_KEY)
    for name in calico_manifests:
        (downloads / name).write_text("# stand-in for " + name + "\n")
    payload = downloads / "linux-amd64"
    payload.mkdir(exist_ok=True)
    (payload / "helm").write_text("#!/bin/sh\necho stand-in helm\n")
    subprocess.run(
        ["tar", "-czf", str(downloads / "helm.tar.gz"), "-C", str(downloads), "linux-amd64"],
        check=True,
    )
    return "sha256:" + hashlib.sha256((downloads / "helm.tar.gz").read_bytes()).hexdigest()


def wrong_layout_vars() -> str:
    """containerd_layouts that put the 2.x template on a 1.x containerd (a silent no-op edit)."""
    cri = "plugins.io.containerd.grpc.v1.cri"
    layout = {
        "template": "config-v2.toml.j2",
        "sandbox_section": cri,
        "sandbox_key": "sandbox_image",
        "runc_section": f"{cri}.containerd.runtimes.runc",
        "options_section": f"{cri}.containerd.runtimes.runc.options",
    }
    return json.dumps({"containerd_layouts": {"1": layout}})


@pytest.mark.slow
def test_node_roles_converge_in_a_debian_chroot_and_are_idempotent(
    require_root_and_tools: None, scratch_dir: Path, ansible_home: Path
) -> None:
    group_vars = all_group_vars()
    tarball = rootfs_tarball()
    timings: dict[str, float] = {}
    started = time.monotonic()
    cp1 = make_chroot(tarball, scratch_dir / "cp1", CP_MACHINE_ID)
    inventory = write_inventory(
        scratch_dir / "inventory", inventory_groups({"cp1": chroot_host(cp1)}, {}, [])
    )
    converge = BOOTSTRAP / "tests/converge.yml"

    # 1. First converge: real apt installs inside the chroot, nothing done on this machine.
    first = run_playbook(converge, inventory, ansible_home)
    timings["converge"] = time.monotonic() - started
    keep_downloaded_debs(cp1)
    assert first["stats"]["cp1"]["failures"] == 0
    assert first["stats"]["cp1"]["changed"] > 0
    seen = set()
    for name, _host, res in task_results(first):
        if name in RUNTIME_TASKS:
            seen.add(name)
            assert res.get("skipped"), f"runtime action ran in the chroot: {name}"
    assert seen == RUNTIME_TASKS
    assert_converged_files(cp1)
    assert_containerd_config(cp1, group_vars["containerd_sandbox_image"])

    # 2. Idempotence: the second run changes nothing.
    mark = time.monotonic()
    second = run_playbook(converge, inventory, ansible_home)
    timings["idempotence"] = time.monotonic() - mark
    assert changed_tasks(second) == [], "second run is not idempotent"
    assert second["stats"]["cp1"]["changed"] == 0

    # 3. site.yml in check mode: the converged chroot plays the control plane and, as a second
    # inventory host on the same root (check mode writes nothing), a lab PC.
    mark = time.monotonic()
    # pkgs.k8s.io, GitHub and get.helm.sh are not reachable here: local stand-ins (the URLs are
    # variables for exactly this, e.g. for a mirror on the campus network).
    helm_sha = stand_in_downloads(cp1, group_vars["calico_manifests"])
    pod, svc = free_ranges()
    common = {
        "pod_cidr": pod,
        "service_cidr": svc,
        "platform_repo_url": "https://git.example.test/lab/platform.git",
        "kube_apt_key_url": "file:///root/downloads/Release.key",
        "calico_manifest_base_url": "file:///root/downloads",
        "helm_download_url": "file:///root/downloads/helm.tar.gz",
        "helm_checksums": {
            group_vars["helm_version"]: {
                "amd64": f"sha256:{helm_sha}",
                "arm64": f"sha256:{helm_sha}",
            }
        },
        "control_plane_allow_workloads": True,
    }
    site_inventory = write_inventory(
        scratch_dir / "site-inventory",
        inventory_groups(
            {"cp1": chroot_host(cp1, node_ip="10.254.0.10", **common)},
            {"lab1": chroot_host(cp1, node_ip="10.254.0.11", **common)},
            ["lab1"],
        ),
    )
    # The node roles were just shown to be converged and idempotent; check the rest of site.yml.
    check = run_playbook(
        BOOTSTRAP / "site.yml", site_inventory, ansible_home, "--check",
        "--skip-tags", "prerequisites,containerd",
    )  # fmt: skip
    timings["site --check"] = time.monotonic() - mark
    changed = changed_tasks(check)
    assert "cp1: Write the kubeadm config (Init, Cluster and Kubelet configuration)" in changed
    assert "lab1: Write the join config" in changed
    # The safety net: the API server's name in every node's /etc/hosts, the control plane's timers.
    assert "lab1: Point control_plane_endpoint at the control plane in /etc/hosts" in changed
    assert "cp1: Write the backup service and timer" in changed
    assert "cp1: Write the certificate check service and timer" in changed
    assert "lab1: Write the backup service and timer" not in changed
    assert f"cp1: Write the Calico Installation (pod CIDR {pod})" in changed
    minor = group_vars["kube_version"].rsplit(".", 1)[0]
    assert f"cp1: Add the pkgs.k8s.io repository for v{minor}" in changed
    assert "lab1: Write the kubeadm config (Init, Cluster and Kubelet configuration)" not in changed
    assert "cp1: Write the join config" not in changed
    for name, host, res in task_results(check):
        if name in {"Initialise the control plane with kubeadm", "Join the cluster"}:
            assert res.get("skipped") or "check mode" in json.dumps(res), (host, name, res)
    # Check mode wrote nothing.
    assert not (cp1 / "etc/kubernetes/kubeadm-config.yaml").exists()
    assert not (cp1 / "etc/kubernetes/kubeadm-join.yaml").exists()
    assert not (cp1 / "etc/apt/sources.list.d/kubernetes.sources").exists()
    assert not (cp1 / "etc/kuploy").exists()
    hosts = cp1 / "etc/hosts"
    assert not hosts.exists() or "api.kuploy.internal" not in hosts.read_text()

    # add-node.yml and reset.yml in check mode on the same inventory.
    mark = time.monotonic()
    add = run_playbook(
        BOOTSTRAP / "add-node.yml", site_inventory, ansible_home, "--check", "-e", "node=lab1",
        "--skip-tags", "prerequisites,containerd",
    )  # fmt: skip
    added = changed_tasks(add)
    assert "lab1: Write the join config" in added
    assert not [t for t in added if t.startswith("cp1: Write the kubeadm config")], added
    reset = run_playbook(
        BOOTSTRAP / "reset.yml", site_inventory, ansible_home, "--check", "-e", "target=lab1"
    )
    assert {host for _name, host, _res in task_results(reset)} >= {"lab1"}
    refused = run_playbook(
        BOOTSTRAP / "reset.yml", site_inventory, ansible_home, "--check", "-e", "target=cp1",
        check=False,
    )  # fmt: skip
    assert refused["rc"] != 0
    assert "destroys the whole cluster" in "\n".join(failed_tasks(refused))
    assert not [h for _n, h, _r in task_results(refused) if h == "cp1"], "cp1 must not be touched"
    timings["add-node/reset --check"] = time.monotonic() - mark

    # 4. A config layout that does not match the installed major version fails the run.
    mark = time.monotonic()
    broken = run_playbook(
        converge, inventory, ansible_home, "--tags", "containerd", "-e", wrong_layout_vars(),
        check=False,
    )  # fmt: skip
    timings["wrong layout"] = time.monotonic() - mark
    assert broken["rc"] != 0
    failures = failed_tasks(broken)
    assert any("live config is wrong" in line for line in failures), failures
    timings["total"] = time.monotonic() - started
    print("\nchroot scenario timings (s): " + ", ".join(f"{k}={v:.1f}" for k, v in timings.items()))

"""Real converge of the node roles on throwaway Debian root filesystems (chroot connection).

prerequisites, containerd and cni_plugins run for real inside debootstrap'ed chroots of Debian
bookworm and trixie, with bootstrap_runtime_actions=false so nothing touches this machine's
kernel, firewall or services. containerd, runc and the CNI plugins come from release-style
archives served from 127.0.0.1 (stand-in binaries laid out as the real archives are, their
sha256 passed as the pins), through the role's real download-and-verify path. The files and
containerd's config are checked, a second run must change nothing, site.yml runs in check mode
with the converged chroot as control plane and lab PC, and a wrong sha256 pin or a config
layout that does not match the installed containerd must fail the run.
"""

from __future__ import annotations

import hashlib
import http.server
import ipaddress
import json
import platform
import subprocess
import tarfile
import threading
import time
import tomllib
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml
from bootstrap_helpers import (
    BOOTSTRAP,
    ROLES,
    SUITES,
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
    for package in ("systemd-timesyncd", "conntrack", "procps", "kmod"):
        status = chroot_run(root, "dpkg-query", "-W", "-f=${Status}", package)
        assert status == "install ok installed", (package, status)
    # containerd and runc come from the release archives, never from the distribution.
    for package in ("containerd", "runc"):
        found = subprocess.run(
            ["chroot", str(root), "dpkg-query", "-W", "-f=${Status}", package],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert "install ok installed" not in found.stdout, package


def assert_runtime_installed(root: Path, releases: Releases, sandbox_image: str) -> None:
    """containerd, runc and the CNI plugins are the served archives' files, configured."""
    for name in ("containerd", "containerd-shim-runc-v2", "ctr", "containerd-stress"):
        installed = root / "usr/local/bin" / name
        assert installed.read_bytes() == releases.files[f"bin/{name}"], name
        assert installed.stat().st_mode & 0o111, name
    runc = root / "usr/local/sbin/runc"
    assert runc.read_bytes() == releases.files["runc"] and runc.stat().st_mode & 0o777 == 0o755
    for name in ("bridge", "host-local", "loopback", "portmap"):
        assert (root / "opt/cni/bin" / name).read_bytes() == releases.files[f"cni/{name}"]
    assert (root / f"opt/cni/kuploy-cni-plugins-v{releases.cni}").is_file()
    version = chroot_run(root, "/usr/local/bin/containerd", "--version")
    assert f" v{releases.containerd} " in version, version
    unit = (root / "etc/systemd/system/containerd.service").read_text()
    assert "ExecStart=/usr/local/bin/containerd --config /etc/containerd/config.toml" in unit
    written = tomllib.loads((root / "etc/containerd/config.toml").read_text())
    assert written["version"] == 3  # containerd 2.x's config layout
    # What the (stand-in) containerd reads back: the role's check ran on this.
    live = tomllib.loads(chroot_run(root, "/usr/local/bin/containerd", "config", "dump"))
    runtime = live["plugins"]["io.containerd.cri.v1.runtime"]
    runc_cfg = runtime["containerd"]["runtimes"]["runc"]
    assert runc_cfg["options"] == {"SystemdCgroup": True, "BinaryName": "/usr/local/sbin/runc"}
    assert runc_cfg["runtime_type"] == "io.containerd.runc.v2"
    images = live["plugins"]["io.containerd.cri.v1.images"]
    assert images["pinned_images"]["sandbox"] == sandbox_image
    assert images["registry"]["config_path"] == "/etc/containerd/certs.d"
    crictl = yaml.safe_load((root / "etc/crictl.yaml").read_text())
    assert crictl["runtime-endpoint"] == "unix:///run/containerd/containerd.sock"


STAND_IN_CONTAINERD = """#!/bin/sh
# Stand-in for containerd {version} (this test cannot download the real one): its version, and
# `config dump` prints the config file it is given.
config=/etc/containerd/config.toml
while [ $# -gt 0 ]; do
  case "$1" in
    --version|-v)
      echo "containerd github.com/containerd/containerd/v2 v{version} 0123456"; exit 0 ;;
    --config|-c) config="$2"; shift 2 ;;
    config) [ "$2" = dump ] && exec cat "$config"; exit 1 ;;
    *) shift ;;
  esac
done
exit 1
"""


class Releases:
    """Release-style archives of containerd, runc and the CNI plugins, served over HTTP.

    Laid out under GitHub's release paths (as a lab mirror would keep them), with the pinned
    versions of the role defaults; ``pins`` are the inventory variables that point the roles
    at this server and pin these archives' sha256.
    """

    def __init__(self, root: Path, arch: str) -> None:
        defaults = {
            role: yaml.safe_load((ROLES / role / "defaults/main.yml").read_text())
            for role in ("containerd", "cni_plugins")
        }
        self.containerd = defaults["containerd"]["containerd_version"]
        self.runc = defaults["containerd"]["containerd_runc_version"]
        self.cni = defaults["cni_plugins"]["cni_plugins_version"]
        self.root = root
        self.files: dict[str, bytes] = {
            "bin/containerd": STAND_IN_CONTAINERD.replace("{version}", self.containerd).encode(),
            "runc": b"#!/bin/sh\necho stand-in runc\n",
        }
        for name in ("containerd-shim-runc-v2", "ctr", "containerd-stress"):
            self.files[f"bin/{name}"] = f"#!/bin/sh\necho stand-in {name}\n".encode()
        for name in ("bridge", "host-local", "loopback", "portmap"):
            self.files[f"cni/{name}"] = f"#!/bin/sh\necho stand-in CNI {name}\n".encode()
        base = "releases/download"
        containerd = root / f"containerd/containerd/{base}/v{self.containerd}"
        containerd_tgz = containerd / f"containerd-{self.containerd}-linux-{arch}.tar.gz"
        self._pack(containerd_tgz, {k: v for k, v in self.files.items() if k.startswith("bin/")})
        runc = root / f"opencontainers/runc/{base}/v{self.runc}/runc.{arch}"
        runc.parent.mkdir(parents=True)
        runc.write_bytes(self.files["runc"])
        cni = root / f"containernetworking/plugins/{base}/v{self.cni}"
        cni_tgz = cni / f"cni-plugins-linux-{arch}-v{self.cni}.tgz"
        # The CNI archive's members are ./<plugin>, at its top level.
        plugins = {f"./{k[4:]}": v for k, v in self.files.items() if k.startswith("cni/")}
        self._pack(cni_tgz, plugins)
        self.pins: dict[str, Any] = {
            "containerd_archive_checksums": {self.containerd: {arch: _sha256(containerd_tgz)}},
            "containerd_runc_checksums": {self.runc: {arch: _sha256(runc)}},
            "cni_plugins_checksums": {self.cni: {arch: _sha256(cni_tgz)}},
        }

    @staticmethod
    def _pack(archive: Path, members: dict[str, bytes]) -> None:
        archive.parent.mkdir(parents=True, exist_ok=True)
        staging = archive.parent / "staging"
        with tarfile.open(archive, "w:gz") as tar:
            for name, data in members.items():
                path = staging / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                path.chmod(0o755)
                tar.add(path, arcname=name)


def _sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def release_server(scratch_dir: Path) -> Iterator[tuple[Releases, str]]:
    """The archives served from 127.0.0.1 (the chroot shares this machine's network)."""
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    releases = Releases(scratch_dir / "releases", arch)
    handler = partial(QuietHandler, directory=str(releases.root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield releases, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass


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
    """A layout whose checks look where containerd 1.x kept the CRI settings (a no-op edit)."""
    cri = "plugins.io.containerd.grpc.v1.cri"
    layout = {
        "template": "config-v2.toml.j2",
        "sandbox_section": cri,
        "sandbox_key": "sandbox_image",
        "runc_section": f"{cri}.containerd.runtimes.runc",
        "options_section": f"{cri}.containerd.runtimes.runc.options",
    }
    return json.dumps({"containerd_layouts": {"2": layout}})


@pytest.mark.slow
@pytest.mark.parametrize("suite", SUITES)
def test_node_roles_converge_in_a_debian_chroot_and_are_idempotent(
    require_root_and_tools: None,
    scratch_dir: Path,
    ansible_home: Path,
    release_server: tuple[Releases, str],
    suite: str,
) -> None:
    group_vars = all_group_vars()
    releases, base_url = release_server
    tarball = rootfs_tarball(suite)
    timings: dict[str, float] = {}
    started = time.monotonic()
    cp1 = make_chroot(tarball, scratch_dir / "cp1", CP_MACHINE_ID, suite)
    served = {"runtime_download_base": base_url, **releases.pins}
    inventory = write_inventory(
        scratch_dir / "inventory", inventory_groups({"cp1": chroot_host(cp1, **served)}, {}, [])
    )
    converge = BOOTSTRAP / "tests/converge.yml"

    # 1. First converge: real apt installs inside the chroot, nothing done on this machine.
    first = run_playbook(converge, inventory, ansible_home)
    timings["converge"] = time.monotonic() - started
    keep_downloaded_debs(cp1, suite)
    assert first["stats"]["cp1"]["failures"] == 0
    assert first["stats"]["cp1"]["changed"] > 0
    seen = set()
    for name, _host, res in task_results(first):
        if name in RUNTIME_TASKS:
            seen.add(name)
            assert res.get("skipped"), f"runtime action ran in the chroot: {name}"
    assert seen == RUNTIME_TASKS
    assert_converged_files(cp1)
    assert_runtime_installed(cp1, releases, group_vars["containerd_sandbox_image"])

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
        "--skip-tags", "prerequisites,containerd,cni_plugins",
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
        "--skip-tags", "prerequisites,containerd,cni_plugins",
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

    # 4. A wrong sha256 pin fails the download and leaves the installed files as they were.
    mark = time.monotonic()
    wrong = {releases.containerd: {a: "sha256:" + "0" * 64 for a in ("amd64", "arm64")}}
    archive = next((cp1 / "var/cache/kuploy-bootstrap").glob("containerd-*.tar.gz"))
    kept = archive.read_bytes()
    tampered = run_playbook(
        converge, inventory, ansible_home, "--tags", "containerd",
        "-e", json.dumps({"containerd_archive_checksums": wrong}), check=False,
    )  # fmt: skip
    timings["wrong sha256"] = time.monotonic() - mark
    assert tampered["rc"] != 0
    failures = failed_tasks(tampered)
    assert any("Download the containerd" in f and "checksum" in f.lower() for f in failures), (
        failures
    )
    assert archive.read_bytes() == kept
    assert (cp1 / "usr/local/bin/containerd").read_bytes() == releases.files["bin/containerd"]

    # 5. A config layout that does not match the installed major version fails the run.
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

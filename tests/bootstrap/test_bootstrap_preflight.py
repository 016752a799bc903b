"""Pre-flight checks: the CIDR overlap trap, inventory shape, identity of cloned PCs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bootstrap_helpers import (
    BOOTSTRAP,
    failed_tasks,
    inventory_groups,
    load_filter_plugin,
    run_playbook,
    write_inventory,
)

net = load_filter_plugin("preflight", "kuploy_net")


def lab_facts(address: str, prefix_mask: str = "255.255.255.0") -> dict[str, Any]:
    """Facts of a lab PC: wired LAN, Wi-Fi and a leftover calico interface."""
    return {
        "interfaces": ["lo", "enp3s0", "wlp2s0", "vxlan.calico"],
        "lo": {"ipv4": {"address": "127.0.0.1", "netmask": "255.0.0.0"}},
        "enp3s0": {"ipv4": {"address": address, "netmask": prefix_mask}},
        "wlp2s0": {"ipv4": {"address": "172.30.5.20", "netmask": "255.255.240.0"}},
        "vxlan_calico": {"ipv4": {"address": "10.244.7.0", "netmask": "255.255.255.255"}},
        "default_ipv4": {"address": address, "netmask": prefix_mask},
    }


def test_node_networks_from_facts() -> None:
    assert net.kuploy_node_networks(lab_facts("192.168.10.21")) == [
        "172.30.0.0/20",
        "192.168.10.0/24",
    ]


def test_overlap_and_validity_filters() -> None:
    assert net.kuploy_cidr_overlaps(["192.168.0.0/16"], ["192.168.10.0/24"]) == [
        "192.168.0.0/16 overlaps 192.168.10.0/24"
    ]
    assert net.kuploy_cidr_overlaps(["10.244.0.0/16", "10.96.0.0/12"], ["192.168.10.0/24"]) == []
    assert net.kuploy_cidr_valid("10.244.0.0/16")
    assert not net.kuploy_cidr_valid("10.244.0.1/16")
    assert not net.kuploy_cidr_valid("10.244.0.0")
    assert not net.kuploy_cidr_valid(None)


def machine_id_file(tmp_path: Path, name: str, value: str) -> str:
    path = tmp_path / f"{name}.machine-id"
    path.write_text(value + "\n")
    return str(path)


def lab_inventory(
    tmp_path: Path,
    cp_address: str = "192.168.10.10",
    lab_ids: tuple[str, str] = ("a" * 32, "b" * 32),
    lab_in_control_plane: bool = False,
) -> Path:
    def host(address: str, machine_id: str, name: str) -> dict[str, Any]:
        return {
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            "bootstrap_runtime_actions": False,
            "preflight_facts": lab_facts(address),
            "node_ip": address,
            "prerequisites_machine_id_path": machine_id_file(tmp_path, name, machine_id),
            "platform_repo_url": "https://git.example.test/platform.git",
        }

    control_plane = {"kuploy-cp1": host(cp_address, "c" * 32, "cp1")}
    workers = {
        "lab-01": host("192.168.10.101", lab_ids[0], "lab-01"),
        "lab-02": host("192.168.10.102", lab_ids[1], "lab-02"),
        "core-01": host("192.168.10.11", "d" * 32, "core-01"),
    }
    lab = ["lab-01", "lab-02"]
    if lab_in_control_plane:
        control_plane["lab-01"] = workers["lab-01"]
    return write_inventory(tmp_path / "inventory", inventory_groups(control_plane, workers, lab))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    (path / "tmp").mkdir(parents=True)
    return path


def preflight(inventory: Path, home: Path, *extra: str) -> dict[str, Any]:
    return run_playbook(BOOTSTRAP / "tests/preflight.yml", inventory, home, *extra, check=False)


@pytest.mark.slow  # the whole pre-flight (~13 s); the default tier keeps its first refusal
def test_lab_lan_with_default_ranges_passes(tmp_path: Path, home: Path) -> None:
    result = preflight(lab_inventory(tmp_path), home)
    assert result["rc"] == 0, failed_tasks(result)


def test_calico_default_pool_on_a_192_168_lan_fails_clearly(tmp_path: Path, home: Path) -> None:
    result = preflight(lab_inventory(tmp_path), home, "-e", "pod_cidr=192.168.0.0/16")
    assert result["rc"] != 0
    failures = "\n".join(failed_tasks(result))
    assert "192.168.0.0/16 overlaps 192.168.10.0/24" in failures
    assert "192.168.0.0/16 trap" in failures
    assert "lab-01" in failures


@pytest.mark.slow  # a variant: the default tier keeps the main path (docs/testing.md)
def test_service_range_overlapping_wifi_fails(tmp_path: Path, home: Path) -> None:
    result = preflight(lab_inventory(tmp_path), home, "-e", "service_cidr=172.30.0.0/16")
    assert result["rc"] != 0
    assert "172.30.0.0/16 overlaps 172.30.0.0/20" in "\n".join(failed_tasks(result))


@pytest.mark.slow  # a variant: the default tier keeps the main path (docs/testing.md)
def test_invalid_or_overlapping_cluster_ranges_fail(tmp_path: Path, home: Path) -> None:
    bad = preflight(lab_inventory(tmp_path), home, "-e", "pod_cidr=10.244.0.1/16")
    assert bad["rc"] != 0
    assert "CIDR" in "\n".join(failed_tasks(bad))
    same = preflight(
        lab_inventory(tmp_path),
        home,
        "-e",
        "pod_cidr=10.96.0.0/16",
        "-e",
        "service_cidr=10.96.0.0/12",
    )
    assert same["rc"] != 0


@pytest.mark.slow  # a variant: the default tier keeps the main path (docs/testing.md)
def test_control_plane_on_a_lab_pc_is_refused(tmp_path: Path, home: Path) -> None:
    result = preflight(lab_inventory(tmp_path, lab_in_control_plane=True), home)
    assert result["rc"] != 0
    assert "never a lab PC" in "\n".join(failed_tasks(result))


@pytest.mark.slow  # a variant: the default tier keeps the main path (docs/testing.md)
def test_cloned_machine_id_is_refused(tmp_path: Path, home: Path) -> None:
    result = preflight(lab_inventory(tmp_path, lab_ids=("e" * 32, "e" * 32)), home)
    assert result["rc"] != 0
    failures = "\n".join(failed_tasks(result))
    assert "cloned lab image" in failures
    assert "systemd-machine-id-setup" in failures


@pytest.mark.slow  # a variant: the default tier keeps the main path (docs/testing.md)
def test_missing_platform_repo_is_refused(tmp_path: Path, home: Path) -> None:
    result = preflight(lab_inventory(tmp_path), home, "-e", "platform_repo_url=")
    assert result["rc"] != 0
    assert "platform_repo_url" in "\n".join(failed_tasks(result))


@pytest.mark.slow  # a variant: the default tier keeps the main path (docs/testing.md)
@pytest.mark.parametrize("name", ["pod_cidr", "service_cidr", "kube_version"])
def test_required_variables_must_be_set(tmp_path: Path, home: Path, name: str) -> None:
    result = preflight(lab_inventory(tmp_path), home, "-e", f"{name}=")
    assert result["rc"] != 0
    assert f"Required variable '{name}' is not set" in "\n".join(failed_tasks(result))


def test_control_plane_endpoint_kinds() -> None:
    kind = net.kuploy_endpoint_kind
    assert kind("api.kuploy.internal") == "name"
    assert kind("kuploy-cp1") == "name"
    assert kind("192.168.10.10") == "ip"
    assert kind("fd00::10") == "ip"
    for bad in (
        "192.168.10.300",
        "10.0.0",
        "API.Kuploy.internal",
        "api_kuploy",
        "-api.x",
        "",
        None,
    ):
        assert kind(bad) == "invalid", bad
    assert kind("a" * 63 + ".internal") == "name"
    assert kind("a" * 64 + ".internal") == "invalid"


@pytest.mark.slow
def test_control_plane_endpoint_address_warns_and_a_bad_one_fails(
    tmp_path: Path, home: Path
) -> None:
    inventory = lab_inventory(tmp_path)
    warned = preflight(inventory, home, "-e", "control_plane_endpoint=192.168.10.10")
    assert warned["rc"] == 0, failed_tasks(warned)
    assert "WARNING: control_plane_endpoint is the address 192.168.10.10" in warned["raw"]
    named = preflight(inventory, home)
    assert named["rc"] == 0 and "WARNING: control_plane_endpoint" not in named["raw"]
    bad = preflight(inventory, home, "-e", "control_plane_endpoint=api_server.lab")
    assert bad["rc"] != 0
    assert "control_plane_endpoint 'api_server.lab' is neither a DNS name" in "\n".join(
        failed_tasks(bad)
    )

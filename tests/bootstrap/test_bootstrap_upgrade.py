"""upgrade.yml: the skew rules, and the playbook refusing or running against stand-in versions.

The skew rules are the filter plugin's, tested directly; the playbook runs for real against
made-up hosts (local connection) with stand-in kubectl/kubeadm that answer `kubectl version`,
`kubectl get nodes` and `kubeadm version` from a state folder and log every call. A playbook run
costs 4-6 s of CPU, so those runs are in the slow tier; the rules themselves are in the default.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bootstrap_helpers import (
    BOOTSTRAP,
    failed_tasks,
    fake_path_env,
    inventory_groups,
    load_filter_plugin,
    offline_host,
    run_playbook,
    write_inventory,
)

skew = load_filter_plugin("upgrade", "kuploy_skew")
refusals = skew.kuploy_upgrade_refusals


def test_patch_and_one_minor_upgrades_are_allowed() -> None:
    kubelets = {"cp1": "v1.36.4", "lab1": "v1.34.2"}
    assert refusals("1.36.5", "v1.36.4", kubelets, "v1.36.4") == []
    assert refusals("1.37.0", "v1.36.4", kubelets, "v1.36.4") == []
    assert refusals("1.36.4", "v1.36.4", kubelets) == [], "a re-run at the same version"
    # A previous run stopped after installing the new kubeadm: resuming is allowed.
    assert refusals("1.37.0", "v1.36.4", kubelets, "v1.37.0") == []


def test_two_minors_at_once_and_downgrades_are_refused() -> None:
    (two,) = refusals("1.38.0", "v1.36.4", {"cp1": "v1.36.4"})
    assert two.startswith(
        "kube_version v1.38.0 is 2 minor versions above the control plane's v1.36.4"
    )
    assert "upgrade to 1.37.x first" in two
    (down,) = refusals("1.36.2", "v1.36.4", {"cp1": "v1.36.4"})
    assert "older than the control plane's v1.36.4" in down and "downgraded" in down
    assert refusals("2.0.0", "v1.36.4", {})[0].startswith("kube_version v2.0.0 is")


def test_kubelet_skew_is_refused_in_both_directions() -> None:
    (ahead,) = refusals("1.36.5", "v1.36.4", {"cp1": "v1.36.4", "lab1": "v1.37.0"})
    assert ahead.startswith("node lab1's kubelet v1.37.0 is newer than the control plane's v1.36.4")
    kubelets = {"cp1": "v1.36.4", "lab2": "v1.33.9"}
    assert refusals("1.36.5", "v1.36.4", kubelets) == [], "3 minors behind is allowed"
    (behind,) = refusals("1.37.0", "v1.36.4", kubelets)
    assert behind.startswith("node lab2's kubelet v1.33.9 would be 4 minor versions behind v1.37.0")
    assert refusals("1.37.0", "v1.36.4", kubelets, max_kubelet_skew=4) == []


def test_bad_versions_and_a_newer_kubeadm_are_refused() -> None:
    assert refusals("1.37", "v1.36.4", {}) == ["kube_version '1.37' is not a version like 1.36.4"]
    assert "reported 'garbage'" in refusals("1.37.0", "garbage", {})[0]
    (kubeadm,) = refusals("1.37.0", "v1.36.4", {}, "v1.37.2")
    assert "kubeadm v1.37.2 is newer than kube_version v1.37.0" in kubeadm


def test_nodes_behind_and_kubelet_versions() -> None:
    nodes = {"items": [node("cp1", "v1.37.0"), node("lab1", "v1.36.4"), node("core1", "v1.36.4")]}
    kubelets = skew.kuploy_kubelet_versions(nodes)
    assert kubelets == {"cp1": "v1.37.0", "lab1": "v1.36.4", "core1": "v1.36.4"}
    assert skew.kuploy_nodes_behind(kubelets, "1.37.0") == ["core1", "lab1"]


def node(name: str, kubelet: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "status": {"nodeInfo": {"kubeletVersion": kubelet}}}


class FakeCluster:
    """Three local hosts (cp1, core1, lab1) and a state folder the stand-ins answer from."""

    def __init__(
        self, tmp_path: Path, server: str, kubelets: dict[str, str], **workers: dict[str, Any]
    ) -> None:
        self.state = tmp_path / "state"
        self.state.mkdir()
        (self.state / "server-version").write_text(server + "\n")
        (self.state / "kubeadm-version").write_text(server + "\n")
        items = [node(name, version) for name, version in kubelets.items()]
        (self.state / "nodes.json").write_text(json.dumps({"items": items}))
        self.home = tmp_path / "home"
        (self.home / "tmp").mkdir(parents=True)
        host = offline_host(upgrade_install_packages=False)
        self.inventory = write_inventory(
            tmp_path / "inventory",
            inventory_groups({"cp1": host}, {**workers, "core1": host, "lab1": host}, ["lab1"]),
        )

    def run(self, target: str, *args: str) -> dict[str, Any]:
        return run_playbook(
            BOOTSTRAP / "upgrade.yml", self.inventory, self.home, "-e", f"kube_version={target}",
            *args, check=False, env_extra=fake_path_env(self.state),
        )  # fmt: skip

    def calls(self) -> list[str]:
        log = self.state / "calls.log"
        return log.read_text().splitlines() if log.exists() else []


def plan(result: dict[str, Any]) -> str:
    return next(m for m in _messages(result) if m.startswith("Upgrade plan:"))


def _messages(result: dict[str, Any]) -> list[str]:
    return [
        str(res.get("msg", ""))
        for play in result.get("plays", [])
        for task in play.get("tasks", [])
        for res in task.get("hosts", {}).values()
    ]


REFUSED = [
    ("1.38.0", {}, "kube_version v1.38.0 is 2 minor versions above the control plane's v1.36.4"),
    ("1.36.3", {}, "kube_version v1.36.3 is older than the control plane's v1.36.4"),
    (
        "1.36.5",
        {"lab1": "v1.37.0"},
        "node lab1's kubelet v1.37.0 is newer than the control plane's",
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("target", "kubelets", "message"), REFUSED, ids=["plus-2", "down", "ahead"]
)
def test_upgrade_refuses_a_forbidden_skew_in_check_mode(
    tmp_path: Path, target: str, kubelets: dict[str, str], message: str
) -> None:
    versions = {"cp1": "v1.36.4", "core1": "v1.36.4", "lab1": "v1.36.4", **kubelets}
    cluster = FakeCluster(tmp_path, "v1.36.4", versions)
    result = cluster.run(target, "--check")
    assert result["rc"] != 0
    (failure,) = failed_tasks(result)
    assert failure.startswith("cp1: Refuse a version skew Kubernetes forbids: Refusing to upgrade")
    assert message in failure
    calls = cluster.calls()
    assert calls and all(" version" in c or " get nodes" in c for c in calls), calls


@pytest.mark.slow
@pytest.mark.parametrize(
    ("target", "control_plane"), [("1.36.5", "v1.36.5"), ("1.37.0", "v1.37.0")]
)
def test_upgrade_allows_a_patch_or_one_minor_in_check_mode(
    tmp_path: Path, target: str, control_plane: str
) -> None:
    versions = {"cp1": "v1.36.4", "core1": "v1.36.4", "lab1": "v1.35.1"}
    cluster = FakeCluster(tmp_path, "v1.36.4", versions)
    result = cluster.run(target, "--check")
    assert result["rc"] == 0, failed_tasks(result)
    assert plan(result) == (
        f"Upgrade plan: control plane v1.36.4 -> {control_plane}; nodes to upgrade one at a "
        "time: core1, cp1, lab1."
    )
    assert not [c for c in cluster.calls() if "upgrade" in c or "drain" in c], "check mode"


@pytest.mark.slow
def test_upgrade_runs_control_plane_first_then_one_node_at_a_time(tmp_path: Path) -> None:
    # lab0 is a lab PC that is switched off (nothing answers on its ssh port).
    off = {"ansible_host": "127.0.0.1", "ansible_port": 9, "ansible_connection": "ssh"}
    kubelets = {name: "v1.36.4" for name in ("cp1", "lab0", "core1", "lab1")}
    cluster = FakeCluster(tmp_path, "v1.36.4", kubelets, lab0=off)
    (cluster.state / "kubelets").write_text("".join(f"{n} {v}\n" for n, v in kubelets.items()))
    result = cluster.run("1.37.0")
    assert result["rc"] == 0, failed_tasks(result)
    steps = [
        c.replace("--kubeconfig /etc/kubernetes/admin.conf ", "")
        for c in cluster.calls()
        if " version" not in c and " get nodes" not in c
    ]
    assert steps == [
        "kubeadm upgrade plan v1.37.0",
        "kubeadm upgrade apply v1.37.0 --yes",
        "kubectl drain cp1 --ignore-daemonsets --delete-emptydir-data --timeout=600s",
        "kubectl uncordon cp1",
        "kubeadm upgrade node",
        "kubectl drain core1 --ignore-daemonsets --delete-emptydir-data --timeout=600s",
        "kubectl uncordon core1",
        "kubectl wait node/core1 --for=condition=Ready --timeout=300s",
        "kubeadm upgrade node",
        "kubectl drain lab1 --ignore-daemonsets --delete-emptydir-data --timeout=600s",
        "kubectl uncordon lab1",
        "kubectl wait node/lab1 --for=condition=Ready --timeout=300s",
    ]
    # The PC that was off is skipped, not drained, and named at the end.
    assert any(
        "Still behind kube_version 1.37.0 (off during this run?): lab0." in m
        for m in _messages(result)
    ), _messages(result)


@pytest.mark.slow
def test_site_refuses_a_version_change_on_joined_nodes(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "kubelet-version").write_text("v1.36.4\n")
    (state / "kubelet.conf").write_text("joined\n")
    joined = offline_host(upgrade_kubelet_conf=str(state / "kubelet.conf"))
    fresh = offline_host(upgrade_kubelet_conf=str(state / "not-joined.conf"))
    inventory = write_inventory(
        tmp_path / "inventory", inventory_groups({"cp1": joined}, {"lab1": fresh}, ["lab1"])
    )
    home = tmp_path / "home"
    (home / "tmp").mkdir(parents=True)
    env = fake_path_env(state)

    def guard(version: str, *extra: str) -> dict[str, Any]:
        return run_playbook(
            BOOTSTRAP / "tests/version-guard.yml", inventory, home, "-e",
            f"kube_version={version}", *extra, check=False, env_extra=env,
        )  # fmt: skip

    assert guard("1.36.4")["rc"] == 0
    assert guard("1.36.4", "-e", "guard_hosts=lab1")["rc"] == 0
    changed = guard("1.37.0")
    joined_node, new_node = sorted(failed_tasks(changed))
    assert joined_node.startswith(
        "cp1: Refuse to change the Kubernetes version outside upgrade.yml"
    )
    assert "cp1 runs kubelet v1.36.4 but kube_version is 1.37.0" in joined_node
    assert "Run upgrade.yml" in joined_node
    # A node that has not joined must not get a kubelet newer than the API server either.
    assert "lab1: Refuse" in new_node
    assert "the control plane runs v1.36.4 but kube_version is 1.37.0" in new_node
    # add-node.yml's play has only the new node: the control plane is asked directly.
    (alone,) = failed_tasks(guard("1.37.0", "-e", "guard_hosts=lab1"))
    assert alone.startswith("lab1: Refuse") and "the control plane runs v1.36.4" in alone


@pytest.mark.slow
def test_upgrade_resumes_after_the_api_server_and_then_has_nothing_to_do(tmp_path: Path) -> None:
    # A run stopped after `kubeadm upgrade apply`: the API server is new, every kubelet old.
    kubelets = {name: "v1.36.4" for name in ("cp1", "core1", "lab1")}
    cluster = FakeCluster(tmp_path, "v1.37.0", kubelets)
    (cluster.state / "kubelets").write_text("".join(f"{n} {v}\n" for n, v in kubelets.items()))
    resumed = cluster.run("1.37.0")
    assert resumed["rc"] == 0, failed_tasks(resumed)
    calls = [c for c in cluster.calls() if " version" not in c and " get nodes" not in c]
    assert not [c for c in calls if c.startswith("kubeadm upgrade apply")], "applied already"
    assert [c.split()[-1] for c in calls if "uncordon" in c] == ["cp1", "core1", "lab1"]
    (cluster.state / "calls.log").unlink()
    again = cluster.run("1.37.0")
    assert again["rc"] == 0, failed_tasks(again)
    assert plan(again) == (
        "Upgrade plan: control plane v1.37.0 -> unchanged; nodes to upgrade one at a time: none."
    )
    assert [c for c in cluster.calls() if " version" not in c and " get nodes" not in c] == []

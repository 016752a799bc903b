"""restore.yml against stand-in crictl/ctr/kubeadm/kubectl, every path in a temp folder.

In place (the control plane still exists): the static pods are stopped by moving their manifests
aside, the old etcd data is kept, etcdutl from the etcd pod's own image restores the snapshot
with the member settings of the etcd manifest, and the pods come back. On a new machine: the
pki tarball's CAs and keys are unpacked without the certificates that name the old machine and
the snapshot is restored for this machine's name and address (kubeadm init, the playbook's next
play, is not run here). A real etcd is not available on this machine, so etcdutl itself is not.
"""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from bootstrap_helpers import (
    BOOTSTRAP,
    failed_tasks,
    fake_path_env,
    inventory_groups,
    offline_host,
    run_playbook,
    write_inventory,
)

ETCD_IMAGE = "registry.k8s.io/etcd:3.6.5-0"
MANIFESTS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"]


def etcd_manifest() -> dict[str, Any]:
    """The parts of kubeadm's etcd static pod the restore reads."""
    command = [
        "etcd", "--advertise-client-urls=https://10.20.0.10:2379", "--data-dir=/var/lib/etcd",
        "--initial-advertise-peer-urls=https://10.20.0.10:2380",
        "--initial-cluster=cp1=https://10.20.0.10:2380", "--name=cp1",
    ]  # fmt: skip
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "etcd", "namespace": "kube-system"},
        "spec": {"containers": [{"name": "etcd", "image": ETCD_IMAGE, "command": command}]},
    }


class Machine:
    def __init__(self, tmp_path: Path, running: bool) -> None:
        self.root = tmp_path / "machine"
        self.kubernetes = self.root / "etc-kubernetes"
        self.etcd = self.root / "var-lib/etcd"
        self.state = tmp_path / "state"
        self.state.mkdir()
        self.backups = self.root / "backups"
        self.backups.mkdir(parents=True)
        self.snapshot = self.backups / "etcd-snapshot-20261129T031500Z.db"
        self.snapshot.write_text("snapshot\n")
        if running:
            (self.kubernetes / "manifests").mkdir(parents=True)
            for name in MANIFESTS:
                (self.kubernetes / "manifests" / f"{name}.yaml").write_text(f"# {name}\n")
            (self.kubernetes / "manifests/etcd.yaml").write_text(yaml.safe_dump(etcd_manifest()))
            (self.kubernetes / "admin.conf").write_text("apiVersion: v1\n")
            (self.etcd / "member/wal").mkdir(parents=True)
        self.home = tmp_path / "home"
        (self.home / "tmp").mkdir(parents=True)
        host = offline_host(
            node_ip="10.20.0.30",
            restore_kubernetes_dir=str(self.kubernetes),
            restore_etcd_data_dir=str(self.etcd),
            restore_wait_delay=0,
        )
        self.inventory = write_inventory(
            tmp_path / "inventory", inventory_groups({"cp9": host}, {}, [])
        )

    def run(self, *extra: str) -> dict[str, Any]:
        return run_playbook(
            BOOTSTRAP / "restore.yml", self.inventory, self.home, "--skip-tags", "control_plane",
            *extra, check=False, env_extra=fake_path_env(self.state),
        )  # fmt: skip

    def calls(self) -> list[str]:
        log = self.state / "calls.log"
        return log.read_text().splitlines() if log.exists() else []


def restore_args(calls: list[str]) -> list[str]:
    (ctr,) = [c for c in calls if c.startswith("ctr ")]
    return ctr.split()


@pytest.mark.slow
def test_restore_in_place_stops_restores_and_starts_the_control_plane(tmp_path: Path) -> None:
    machine = Machine(tmp_path, running=True)
    (machine.state / "running-polls").write_text("2\n")  # etcd takes two polls to stop
    result = machine.run("-e", f"restore_snapshot={machine.snapshot}")
    assert result["rc"] == 0, failed_tasks(result)
    calls = machine.calls()
    polls = [c for c in calls if c.startswith("crictl ps")]
    assert len(polls) == 3
    args = restore_args(calls)
    assert args[:5] == ["ctr", "--namespace", "k8s.io", "run", "--rm"]
    assert f"type=bind,src={machine.backups},dst=/restore,options=rbind:ro" in args
    assert args[args.index("kuploy-etcd-restore") - 1] == ETCD_IMAGE
    assert args[args.index("kuploy-etcd-restore") + 1 :] == [
        "etcdutl", "snapshot", "restore", f"/restore/{machine.snapshot.name}",
        f"--data-dir={machine.etcd}", "--name=cp1", "--initial-cluster=cp1=https://10.20.0.10:2380",
        "--initial-advertise-peer-urls=https://10.20.0.10:2380", "--bump-revision=1000000000",
        "--mark-compacted",
    ]  # fmt: skip
    assert calls.index(polls[-1]) < calls.index(" ".join(args))
    assert calls[-1].endswith("get --raw=/readyz"), "the API server answers at the end"
    # The static pods are back, the old data is kept beside the restored one.
    back = sorted(p.name for p in (machine.kubernetes / "manifests").iterdir())
    assert back == sorted(f"{name}.yaml" for name in MANIFESTS)
    assert not list((machine.kubernetes / "manifests-held-by-restore").iterdir())
    (kept,) = machine.etcd.parent.glob("etcd.before-restore-*")
    assert (kept / "member/wal").is_dir() and (machine.etcd / "member/snap").is_dir()


@pytest.mark.slow
def test_restore_refuses_without_a_snapshot_or_certificates(tmp_path: Path) -> None:
    machine = Machine(tmp_path, running=False)
    missing = machine.run("-e", f"restore_snapshot={machine.backups}/nope.db")
    assert "Pass -e restore_snapshot=" in "\n".join(failed_tasks(missing))
    no_pki = machine.run("-e", f"restore_snapshot={machine.snapshot}")
    assert no_pki["rc"] != 0
    assert "pass -e restore_pki_archive=" in "\n".join(failed_tasks(no_pki))
    assert machine.calls() == [], "nothing was run"


@pytest.mark.slow
def test_restore_on_a_new_machine_takes_the_cas_and_restores_for_this_machine(
    tmp_path: Path,
) -> None:
    machine = Machine(tmp_path, running=False)
    source = tmp_path / "old-kubernetes"
    for name in ("ca.crt", "ca.key", "sa.key", "apiserver.crt", "apiserver.key", "etcd/ca.key",
                 "etcd/server.crt", "etcd/peer.key"):  # fmt: skip
        (source / "pki" / name).parent.mkdir(parents=True, exist_ok=True)
        (source / "pki" / name).write_text(name)
    (source / "admin.conf").write_text("old admin\n")
    archive = machine.backups / "pki-20261129T031500Z.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source / "pki", "pki")
        tar.add(source / "admin.conf", "admin.conf")
    result = machine.run(
        "-e", f"restore_snapshot={machine.snapshot}", "-e", f"restore_pki_archive={archive}",
        "-e", "kube_version=1.36.4",
    )  # fmt: skip
    assert result["rc"] == 0, failed_tasks(result)
    pki = sorted(str(p.relative_to(machine.kubernetes)) for p in machine.kubernetes.rglob("*.*"))
    assert pki == ["pki/ca.crt", "pki/ca.key", "pki/etcd/ca.key", "pki/sa.key"]
    calls = machine.calls()
    assert "crictl pull registry.k8s.io/etcd:3.6.5-0" in calls
    args = restore_args(calls)
    assert args[args.index("kuploy-etcd-restore") - 1] == ETCD_IMAGE
    assert "--name=cp9" in args
    assert "--initial-cluster=cp9=https://10.20.0.30:2380" in args
    assert (machine.etcd / "member/snap").is_dir()

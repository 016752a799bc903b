"""Join logic: a fresh token per run, join only once, re-imaged PCs, name and machine-id clashes,
nodes whose kubelet client certificate expired (real certificates made here, checked by openssl).

The join role runs for real against made-up hosts (local connection) with stand-in kubeadm and
kubectl scripts on PATH that answer from a state folder and log every call; all paths the role
writes are moved into that folder, so nothing on this machine is touched.
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from bootstrap_helpers import (
    BOOTSTRAP,
    changed_tasks,
    failed_tasks,
    inventory_groups,
    run_playbook,
    write_inventory,
)

FAKEBIN = Path(__file__).resolve().parent / "fakebin"
IDS = {"cp1": "c" * 32, "lab1": "a" * 32, "core1": "b" * 32}


def write_client_cert(path: Path, valid_for: datetime.timedelta) -> None:
    """A kubelet client certificate (as the kubelet keeps it: cert + key in one PEM file) that
    ends valid_for from now (negative: expired that long ago)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:nodes"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"system:node:{path.parent.parent.name}"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + valid_for - datetime.timedelta(days=365))
        .not_valid_after(now + valid_for)
        .sign(key, hashes.SHA256())
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def node(name: str, ready: str, machine_id: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {}},
        "spec": {},
        "status": {
            "conditions": [{"type": "Ready", "status": ready}],
            "nodeInfo": {"machineID": machine_id},
        },
    }


class FakeCluster:
    def __init__(self, tmp_path: Path) -> None:
        self.state = tmp_path / "state"
        self.state.mkdir()
        (self.state / "admin.conf").write_text("fake\n")
        self.home = tmp_path / "home"
        (self.home / "tmp").mkdir(parents=True)
        self.nodes([node("cp1", "True", IDS["cp1"])])
        self.inventory = self._inventory(tmp_path)
        # What a joined kubelet holds (read once kubelet.conf exists).
        for name in ("lab1", "core1"):
            write_client_cert(self.cert(name), datetime.timedelta(days=200))

    def cert(self, name: str) -> Path:
        return self.state / name / "pki" / "kubelet-client-current.pem"

    def mark_joined(self, name: str) -> None:
        (self.state / name).mkdir(exist_ok=True)
        (self.state / name / "kubelet.conf").write_text("joined\n")

    def nodes(self, items: list[dict[str, Any]]) -> None:
        (self.state / "nodes.json").write_text(json.dumps({"items": items}))

    def _inventory(self, tmp_path: Path) -> Path:
        state = str(self.state)

        def host(name: str, address: str) -> dict[str, Any]:
            return {
                "ansible_connection": "local",
                "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                "node_ip": address,
                "prerequisites_machine_id": IDS[name],
                "join_admin_conf": f"{state}/admin.conf",
                "join_kubelet_conf": f"{state}/{name}/kubelet.conf",
                "join_config_path": f"{state}/{name}-kubeadm-join.yaml",
                "join_kubelet_client_cert": f"{state}/{name}/pki/kubelet-client-current.pem",
                "join_register_wait_retries": 1,
            }

        return write_inventory(
            tmp_path / "inventory",
            inventory_groups(
                {"cp1": host("cp1", "10.20.0.10")},
                {"lab1": host("lab1", "10.20.0.101"), "core1": host("core1", "10.20.0.11")},
                ["lab1"],
            ),
        )

    def run(self, check: bool = True) -> dict[str, Any]:
        env = {
            "PATH": f"{FAKEBIN}{os.pathsep}{os.environ['PATH']}",
            "FAKE_K8S_STATE": str(self.state),
        }
        return run_playbook(
            BOOTSTRAP / "tests/join.yml", self.inventory, self.home, check=check, env_extra=env
        )

    def calls(self) -> list[str]:
        log = self.state / "calls.log"
        lines = log.read_text().splitlines() if log.exists() else []
        log.unlink(missing_ok=True)
        return lines

    def joined(self, name: str) -> dict[str, Any]:
        return yaml.safe_load((self.state / f"joined-{name}.yaml").read_text())


@pytest.fixture
def cluster(tmp_path: Path) -> FakeCluster:
    return FakeCluster(tmp_path)


@pytest.mark.slow  # two playbook runs (~20 s); the default tier keeps the pre-flight's run
def test_fresh_token_once_per_run_and_join_only_once(cluster: FakeCluster) -> None:
    first = cluster.run()
    calls = cluster.calls()
    assert sum(c.startswith("kubeadm token create") for c in calls) == 1
    assert "--ttl 1h" in next(c for c in calls if c.startswith("kubeadm token create"))
    assert sum(c.startswith("kubeadm join") for c in calls) == 2
    lab = cluster.joined("lab1")
    token = lab["discovery"]["bootstrapToken"]
    assert token["token"] == "fresh1.0123456789abcdef"
    assert token["apiServerEndpoint"] == "10.20.0.10:6443"
    assert token["caCertHashes"] == ["sha256:" + "2" * 64]
    assert lab["nodeRegistration"]["taints"] == [
        {"key": "kuploy.io/pool", "value": "lab", "effect": "NoSchedule"}
    ]
    assert cluster.joined("core1")["nodeRegistration"]["taints"] == []
    # The token never stays on disk, and it is not printed.
    assert not list(cluster.state.glob("*-kubeadm-join.yaml"))
    assert "fresh1.0123456789abcdef" not in first["raw"]

    cluster.nodes(
        [node(n, "True", IDS[n]) for n in ("cp1", "lab1", "core1")]
    )  # both registered now
    second = cluster.run()
    assert changed_tasks(second) == []
    assert not [c for c in cluster.calls() if c.startswith("kubeadm")], "no token, no join"


@pytest.mark.slow  # a variant: the default tier keeps the main path (docs/testing.md)
def test_reimaged_pc_with_stale_node_is_cleaned_up(cluster: FakeCluster) -> None:
    cluster.mark_joined("core1")
    cluster.nodes(
        [
            node("cp1", "True", IDS["cp1"]),
            node("core1", "True", IDS["core1"]),
            node("lab1", "Unknown", "f" * 32),  # the PC before it was re-imaged
        ]
    )
    cluster.run()
    calls = cluster.calls()
    deletes = [c for c in calls if " delete node " in c]
    assert len(deletes) == 1 and deletes[0].split()[-2:] == ["lab1", "--wait=true"]
    joins = [c for c in calls if c.startswith("kubeadm join")]
    assert len(joins) == 1
    assert calls.index(deletes[0]) < calls.index(joins[0])
    assert cluster.joined("lab1")["nodeRegistration"]["name"] == "lab1"


@pytest.mark.slow  # a variant: the default tier keeps the main path (docs/testing.md)
def test_ready_node_with_the_same_name_is_not_replaced(cluster: FakeCluster) -> None:
    cluster.nodes([node("cp1", "True", IDS["cp1"]), node("lab1", "True", "f" * 32)])
    result = cluster.run(check=False)
    assert result["rc"] != 0
    assert "exists and is Ready" in "\n".join(failed_tasks(result))
    calls = cluster.calls()
    assert not [c for c in calls if " delete node " in c]
    joins = [c for c in calls if c.startswith("kubeadm join")]
    assert joins == [j for j in joins if "core1-kubeadm-join" in j], "only core1 may join"


@pytest.mark.slow  # a variant: the default tier keeps the main path (docs/testing.md)
def test_cloned_machine_id_is_refused(cluster: FakeCluster) -> None:
    cluster.nodes([node("cp1", "True", IDS["cp1"]), node("lab7", "True", IDS["lab1"])])
    result = cluster.run(check=False)
    assert result["rc"] != 0
    assert "this PC is a clone" in "\n".join(failed_tasks(result))


@pytest.mark.slow
def test_expired_kubelet_certificate_resets_and_rejoins_that_node(cluster: FakeCluster) -> None:
    for name in ("lab1", "core1"):
        cluster.mark_joined(name)
    write_client_cert(cluster.cert("lab1"), -datetime.timedelta(days=3))  # off for months
    cluster.nodes(
        [
            node("cp1", "True", IDS["cp1"]),
            node("core1", "True", IDS["core1"]),
            node("lab1", "Unknown", IDS["lab1"]),  # its kubelet cannot report any more
        ]
    )
    result = cluster.run()
    calls = cluster.calls()
    assert [c for c in calls if c.startswith("kubeadm reset")] == [
        "kubeadm reset --force --cri-socket unix:///run/containerd/containerd.sock"
    ]
    assert not [c for c in calls if " drain " in c], "a NotReady node has nothing to drain"
    deletes = [c for c in calls if " delete node " in c]
    joins = [c for c in calls if c.startswith("kubeadm join")]
    assert len(deletes) == 1 and deletes[0].split()[-2:] == ["lab1", "--wait=true"]
    assert len(joins) == 1 and "lab1-kubeadm-join" in joins[0]
    order = [calls.index(c) for c in ("kubeadm reset --force --cri-socket "
             "unix:///run/containerd/containerd.sock", deletes[0], joins[0])]  # fmt: skip
    assert order == sorted(order)
    assert cluster.joined("lab1")["nodeRegistration"]["name"] == "lab1"
    assert "has expired, expires within 86400 s" in result["raw"]
    # core1 (valid certificate) was left alone.
    assert not (cluster.state / "joined-core1.yaml").exists()


@pytest.mark.slow
def test_certificate_expiring_today_drains_the_ready_node_first(cluster: FakeCluster) -> None:
    cluster.mark_joined("lab1")
    cluster.mark_joined("core1")
    write_client_cert(cluster.cert("lab1"), datetime.timedelta(hours=3))
    cluster.cert("core1").write_text("not a certificate\n")  # unreadable counts as expired
    cluster.nodes([node(n, "True", IDS[n]) for n in ("cp1", "lab1", "core1")])
    cluster.run()
    calls = cluster.calls()
    drains = sorted(c.split(" drain ")[1].split()[0] for c in calls if " drain " in c)
    assert drains == ["core1", "lab1"]
    assert sum(c.startswith("kubeadm reset") for c in calls) == 2
    assert sum(c.startswith("kubeadm token create") for c in calls) == 1
    assert sum(c.startswith("kubeadm join") for c in calls) == 2

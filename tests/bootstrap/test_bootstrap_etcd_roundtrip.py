"""A real etcd backed up by kuploy-etcd-backup and brought back by restore.yml (slow tier).

etcd, etcdctl and etcdutl are the real programs (built from etcd's Go modules, etcd_tools.py).
etcd runs with TLS and client-certificate auth like kubeadm's; stand-in crictl/ctr only stand for
the container around them (exec runs the real etcdctl/etcdutl here; ctr maps the mounts back). So
the backup script's snapshot command, the restore playbook's `etcdutl snapshot restore` flags
(member settings read from the etcd manifest, --bump-revision, --mark-compacted) and a restart
of etcd on the restored data are all real: the keys written before the snapshot are back, the one
written after is gone, and the revision has jumped.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from bootstrap_helpers import (
    BOOTSTRAP,
    ROLES,
    SAFETY_FAKEBIN,
    failed_tasks,
    fake_path_env,
    inventory_groups,
    offline_host,
    run_playbook,
    write_inventory,
)
from etcd_tools import etcd_bin

HERE = Path(__file__).resolve().parent
MANIFESTS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"]

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def etcd_pki(pki: Path) -> None:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, as kubeadm names them."""
    pki.mkdir(parents=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-days", "2", "-subj", "/CN=etcd-ca",
            "-keyout", str(pki / "ca.key"), "-out", str(pki / "ca.crt"))  # fmt: skip
    for name, ext in (
        ("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth"),
        ("healthcheck-client", "extendedKeyUsage=clientAuth"),
    ):
        (pki / f"{name}.ext").write_text(ext + "\n")
        openssl("req", *ec, "-subj", f"/CN={name}", "-keyout", str(pki / f"{name}.key"),
                "-out", str(pki / f"{name}.csr"))  # fmt: skip
        openssl("x509", "-req", "-in", str(pki / f"{name}.csr"), "-CA", str(pki / "ca.crt"),
                "-CAkey", str(pki / "ca.key"), "-CAcreateserial", "-days", "2",
                "-extfile", str(pki / f"{name}.ext"), "-out", str(pki / f"{name}.crt"))  # fmt: skip


class Etcd:
    def __init__(self, tmp_path: Path) -> None:
        self.bin = etcd_bin()
        self.pki = tmp_path / "etc-kubernetes/pki/etcd"
        etcd_pki(self.pki)
        self.data = tmp_path / "var-lib/etcd"
        self.client = f"https://127.0.0.1:{free_port()}"
        self.peer = f"http://127.0.0.1:{free_port()}"
        self.log = tmp_path / "etcd.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def member_flags(self) -> list[str]:
        """The member settings kubeadm's manifest has and the restore must reproduce."""
        return ["--name=cp1", f"--initial-cluster=cp1={self.peer}",
                f"--initial-advertise-peer-urls={self.peer}"]  # fmt: skip

    def start(self) -> None:
        cmd = [
            str(self.bin / "etcd"), f"--data-dir={self.data}", *self.member_flags(),
            f"--listen-client-urls={self.client}", f"--advertise-client-urls={self.client}",
            f"--listen-peer-urls={self.peer}", f"--cert-file={self.pki / 'server.crt'}",
            f"--key-file={self.pki / 'server.key'}", f"--trusted-ca-file={self.pki / 'ca.crt'}",
            "--client-cert-auth=true",
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        for _ in range(100):
            if self.ctl("endpoint", "health", check=False).returncode == 0:
                return
            time.sleep(0.2)
        pytest.fail(f"etcd did not become healthy:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.proc = None

    def ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / "etcdctl"), f"--endpoints={self.client}",
             f"--cacert={self.pki / 'ca.crt'}", f"--cert={self.pki / 'healthcheck-client.crt'}",
             f"--key={self.pki / 'healthcheck-client.key'}", *args],
            capture_output=True, text=True, timeout=30, check=check,
        )  # fmt: skip

    def env(self, state: Path) -> dict[str, str]:
        """Stand-in crictl/ctr, then fakebin-safety's kubectl, then the real etcd programs."""
        fakes = fake_path_env(state, HERE / "fakebin-etcd", SAFETY_FAKEBIN, self.bin)
        return {**fakes, "ETCD_PID": str(self.proc.pid) if self.proc else "0"}


@pytest.fixture
def etcd(tmp_path: Path) -> Iterator[Etcd]:
    server = Etcd(tmp_path)
    try:
        yield server
    finally:
        server.stop()


def test_a_snapshot_of_a_real_etcd_is_restored_by_restore_yml(tmp_path: Path, etcd: Etcd) -> None:
    etcd.start()
    etcd.ctl("put", "/registry/namespaces/kim-minji", "before")
    state = tmp_path / "state"
    state.mkdir()
    backups = tmp_path / "backups"
    kubernetes = etcd.pki.parent.parent
    backup = subprocess.run(
        [str(ROLES / "backup/files/kuploy-etcd-backup")],
        env={**os.environ, **etcd.env(state), "BACKUP_DIR": str(backups),
             "KUBERNETES_DIR": str(kubernetes), "ETCD_DATA_DIR": str(etcd.data),
             "ETCD_ENDPOINT": etcd.client, "ETCD_PKI": str(etcd.pki)},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert backup.returncode == 0, backup.stdout + backup.stderr
    (snapshot,) = backups.glob("etcd-snapshot-*.db")
    assert '"totalKey":' in backup.stdout, "etcdutl snapshot status checked it"
    etcd.ctl("put", "/registry/namespaces/after-snapshot", "lost")
    etcd.stop()

    manifests = kubernetes / "manifests"
    manifests.mkdir()
    for name in MANIFESTS:
        (manifests / f"{name}.yaml").write_text(f"# {name}\n")
    command = ["etcd", f"--data-dir={etcd.data}", *etcd.member_flags()]
    pod = {"spec": {"containers": [{"name": "etcd", "image": "registry.k8s.io/etcd:3.6.8-0",
                                    "command": command}]}}  # fmt: skip
    (manifests / "etcd.yaml").write_text(yaml.safe_dump(pod))
    (kubernetes / "admin.conf").write_text("apiVersion: v1\n")
    host = offline_host(
        restore_kubernetes_dir=str(kubernetes),
        restore_etcd_data_dir=str(etcd.data),
        restore_wait_delay=0,
    )
    inventory = write_inventory(tmp_path / "inventory", inventory_groups({"cp1": host}, {}, []))
    home = tmp_path / "home"
    (home / "tmp").mkdir(parents=True)
    result = run_playbook(
        BOOTSTRAP / "restore.yml", inventory, home, "--skip-tags", "control_plane",
        "-e", f"restore_snapshot={snapshot}", check=False, env_extra=etcd.env(state),
    )  # fmt: skip
    assert result["rc"] == 0, failed_tasks(result)

    etcd.start()
    kept = etcd.ctl("get", "/registry/namespaces/kim-minji", "--print-value-only").stdout
    assert kept.strip() == "before"
    assert etcd.ctl("get", "/registry/namespaces/after-snapshot").stdout == ""
    header = json.loads(etcd.ctl("get", "/registry", "--prefix", "-w", "json").stdout)["header"]
    assert header["revision"] > 1_000_000_000, "--bump-revision moved the revision on"
    assert list(etcd.data.parent.glob("etcd.before-restore-*")), "the old data is kept"

"""The control plane's backup script (roles/backup/files/kuploy-etcd-backup), run for real.

Stand-in crictl (an etcd container whose etcdctl/etcdutl write and check a snapshot) and rsync
are put first on PATH; /etc/kubernetes, etcd's data directory and the backup folder are temp
folders. Proves the names, the tarball's members and modes, retention, the off-host copy, and
that a failed snapshot fails the run and deletes nothing.
"""

from __future__ import annotations

import re
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest
from bootstrap_helpers import ROLES, run_script

SCRIPT = ROLES / "backup/files/kuploy-etcd-backup"
STAMP = r"\d{8}T\d{6}Z"


class Machine:
    """A control plane's files in a temp folder, and a way to run the script on it."""

    def __init__(self, tmp_path: Path) -> None:
        self.state = tmp_path / "state"
        self.state.mkdir()
        self.kubernetes = tmp_path / "etc-kubernetes"
        (self.kubernetes / "pki/etcd").mkdir(parents=True)
        (self.kubernetes / "pki/ca.key").write_text("CA PRIVATE KEY\n")
        (self.kubernetes / "pki/etcd/ca.key").write_text("ETCD CA PRIVATE KEY\n")
        (self.kubernetes / "admin.conf").write_text("apiVersion: v1\n")
        (self.kubernetes / "kubeadm-config.yaml").write_text("kind: ClusterConfiguration\n")
        (self.kubernetes / "manifests").mkdir()
        self.etcd = tmp_path / "var-lib-etcd"
        self.etcd.mkdir()
        self.backups = tmp_path / "backups"

    def run(self, **env: str) -> subprocess.CompletedProcess[str]:
        paths = {
            "BACKUP_DIR": self.backups,
            "KUBERNETES_DIR": self.kubernetes,
            "ETCD_DATA_DIR": self.etcd,
        }
        return run_script(SCRIPT, self.state, **{k: str(v) for k, v in paths.items()}, **env)

    def files(self) -> list[str]:
        return sorted(p.name for p in self.backups.iterdir()) if self.backups.exists() else []

    def old_backups(self, *stamps: str) -> list[str]:
        self.backups.mkdir(mode=0o700, exist_ok=True)
        names = []
        for when in stamps:
            for name in (f"etcd-snapshot-{when}.db", f"pki-{when}.tar.gz"):
                (self.backups / name).write_text("old\n")
                names.append(name)
        return names


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    return Machine(tmp_path)


def test_a_backup_is_a_checked_snapshot_and_a_private_pki_tarball(machine: Machine) -> None:
    proc = machine.run()
    assert proc.returncode == 0, proc.stderr
    snapshot, pki = machine.files()
    assert re.fullmatch(f"etcd-snapshot-{STAMP}.db", snapshot)
    assert pki == snapshot.replace("etcd-snapshot-", "pki-").replace(".db", ".tar.gz")
    assert (machine.backups / snapshot).read_text() == "etcd snapshot data\n"
    assert stat.S_IMODE(machine.backups.stat().st_mode) == 0o700
    for name in (snapshot, pki):
        assert stat.S_IMODE((machine.backups / name).stat().st_mode) == 0o600
    with tarfile.open(machine.backups / pki) as tar:
        members = set(tar.getnames())
    assert {"pki/ca.key", "pki/etcd/ca.key", "admin.conf", "kubeadm-config.yaml"} <= members
    assert not any(m.startswith("manifests") for m in members)
    assert list(machine.etcd.iterdir()) == [], "the in-pod snapshot file is moved out"
    save = next(c for c in (machine.state / "calls.log").read_text().splitlines() if " save " in c)
    assert "--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt" in save
    assert "--endpoints=https://127.0.0.1:2379" in save
    assert f"etcd snapshot {machine.backups / snapshot}" in proc.stdout
    assert "CA PRIVATE KEY" not in proc.stdout + proc.stderr


def test_retention_keeps_the_newest_of_each_kind(machine: Machine) -> None:
    old = machine.old_backups("20261101T031500Z", "20261102T031500Z", "20261103T031500Z")
    proc = machine.run(BACKUP_KEEP="2")
    assert proc.returncode == 0, proc.stderr
    files = machine.files()
    assert len(files) == 4
    assert "etcd-snapshot-20261103T031500Z.db" in files and "pki-20261103T031500Z.tar.gz" in files
    deleted = sorted(set(old) - set(files))
    assert deleted == [
        "etcd-snapshot-20261101T031500Z.db", "etcd-snapshot-20261102T031500Z.db",
        "pki-20261101T031500Z.tar.gz", "pki-20261102T031500Z.tar.gz",
    ]  # fmt: skip
    assert proc.stdout.count("deleted old backup") == 4


def test_a_failed_snapshot_fails_and_deletes_nothing(machine: Machine) -> None:
    old = machine.old_backups("20261101T031500Z", "20261102T031500Z")
    (machine.state / "snapshot-fails").touch()
    proc = machine.run(BACKUP_KEEP="1")
    assert proc.returncode != 0
    assert "ERROR: etcd snapshot failed; older backups in" in proc.stderr
    assert machine.files() == sorted(old)
    assert list(machine.etcd.iterdir()) == [], "no partial snapshot left in etcd's folder"


def test_no_etcd_container_fails_clearly(machine: Machine) -> None:
    (machine.state / "no-etcd").touch()
    proc = machine.run()
    assert proc.returncode != 0
    assert "no running etcd container" in proc.stderr
    assert machine.files() == []


@pytest.mark.parametrize("keep", ["0", "x", "-3", ""])
def test_a_bad_retention_count_is_refused(machine: Machine, keep: str) -> None:
    proc = machine.run(BACKUP_KEEP=keep)
    if keep == "":  # unset means the default, 14
        assert proc.returncode == 0, proc.stderr
        return
    assert proc.returncode != 0
    assert f"BACKUP_KEEP must be a whole number of at least 1, not '{keep}'" in proc.stderr


def test_the_new_files_are_copied_off_host_with_the_dedicated_key(machine: Machine) -> None:
    proc = machine.run(BACKUP_REMOTE="backup@nas:/srv/kuploy", BACKUP_SSH_KEY="/etc/kuploy/k")
    assert proc.returncode == 0, proc.stderr
    args = (machine.state / "rsync-args").read_text().splitlines()
    assert args[-1] == "backup@nas:/srv/kuploy/"
    assert sorted(Path(a).name for a in args[-3:-1]) == machine.files()
    ssh = args[args.index("-e") + 1]
    assert ssh.startswith("ssh -i /etc/kuploy/k -o BatchMode=yes")
    assert "StrictHostKeyChecking=accept-new" in ssh
    assert "--delete" not in args, "the target's history is never deleted from here"


def test_a_failed_copy_fails_but_keeps_the_local_backup(machine: Machine) -> None:
    (machine.state / "rsync-fails").touch()
    proc = machine.run(BACKUP_REMOTE="backup@nas:/srv/kuploy")
    assert proc.returncode != 0
    assert "copying the backup to backup@nas:/srv/kuploy failed" in proc.stderr
    assert len(machine.files()) == 2

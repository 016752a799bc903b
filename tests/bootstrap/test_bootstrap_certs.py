"""The control plane's certificate check (roles/cert_renewal/files/kuploy-cert-check), run for real.

Real openssl makes certificates with chosen lifetimes in a temp /etc/kubernetes (pki files and
kubeconfigs with embedded client certificates); a stand-in kubeadm "renews" by copying prepared
files in. Proves the decision (fine, a leaf ending soon, a CA ending soon), the static-pod
restart and kubeconfig refresh after a renewal, and failure when renewal does not help.
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest
from bootstrap_helpers import ROLES, run_script

SCRIPT = ROLES / "cert_renewal/files/kuploy-cert-check"
# A few of each kind the script reads (it skips files that do not exist): every openssl run
# costs about 50 ms of CPU, and the default tier has little time to spare.
CAS = ["ca.crt", "etcd/ca.crt"]
LEAVES = ["apiserver.crt", "front-proxy-client.crt", "etcd/peer.crt"]
KUBECONFIGS = ["admin.conf"]
MANIFESTS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"]


def certificate(path: Path, days: int, work: Path) -> bytes:
    """A self-signed certificate ending in ``days`` days (only the end date matters here)."""
    made = CERTIFICATES.get(days)
    if made is None:
        made = CERTIFICATES[days] = _make_certificate(days, work)
    path.write_bytes(made)
    return made


CERTIFICATES: dict[int, bytes] = {}  # one per lifetime, made once per test process


def _make_certificate(days: int, work: Path) -> bytes:
    key, path = work / "key.pem", work / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", str(days), "-subj", f"/CN={path.name}", "-keyout", str(key),
         "-out", str(path)],
        check=True, capture_output=True,
    )  # fmt: skip
    return path.read_bytes()


def kubernetes_dir(root: Path, days: dict[str, int], work: Path) -> None:
    """pki files and kubeconfigs under root; each ends in days[name] days (default 300)."""
    (root / "pki/etcd").mkdir(parents=True, exist_ok=True)
    (root / "manifests").mkdir(exist_ok=True)
    for name in CAS + LEAVES:
        certificate(root / "pki" / name, days.get(name, 3000 if name in CAS else 300), work)
    pem = work / "client.pem"
    for name in KUBECONFIGS:
        data = base64.b64encode(certificate(pem, days.get(name, 300), work)).decode()
        (root / name).write_text(
            f"apiVersion: v1\nkind: Config\nusers:\n- name: {name}\n  user:\n"
            f"    client-certificate-data: {data}\n    client-key-data: c2VjcmV0\n"
        )


class ControlPlane:
    def __init__(self, tmp_path: Path, days: dict[str, int]) -> None:
        self.work = tmp_path / "work"
        self.work.mkdir()
        self.state = tmp_path / "state"
        self.state.mkdir()
        self.kubernetes = tmp_path / "etc-kubernetes"
        kubernetes_dir(self.kubernetes, days, self.work)
        for name in MANIFESTS:
            (self.kubernetes / "manifests" / f"{name}.yaml").write_text(f"kind: Pod # {name}\n")
        self.copy = tmp_path / "home/.kube/config"
        self.copy.parent.mkdir(parents=True)
        self.copy.write_text("old copy\n")
        self.copy.chmod(0o600)

    def renewal_gives(self, days: int) -> None:
        """What the stand-in `kubeadm certs renew all` writes: every leaf ending in ``days``."""
        kubernetes_dir(self.state / "renewed", dict.fromkeys(LEAVES + KUBECONFIGS, days), self.work)
        for name in CAS:  # kubeadm renews leaves only
            (self.state / "renewed/pki" / name).unlink()

    def run(self, **env: str) -> subprocess.CompletedProcess[str]:
        settings = {"KUBERNETES_DIR": str(self.kubernetes), "KUBECONFIG_COPIES": str(self.copy)}
        return run_script(SCRIPT, self.state, STATIC_POD_WAIT="0", **{**settings, **env})

    def kubeadm_calls(self) -> list[str]:
        log = self.state / "calls.log"
        return log.read_text().splitlines() if log.exists() else []


def test_nothing_is_renewed_while_every_certificate_is_far_from_its_end(tmp_path: Path) -> None:
    plane = ControlPlane(tmp_path, {})
    proc = plane.run(RENEW_DAYS="30")
    assert proc.returncode == 0, proc.stderr
    assert "every certificate is valid for more than 30 days" in proc.stdout
    for name in CAS + LEAVES + KUBECONFIGS:
        assert f"kuploy-cert-check: {name} ends " in proc.stdout
    assert plane.kubeadm_calls() == []
    assert plane.copy.read_text() == "old copy\n"


@pytest.mark.parametrize("ending", ["etcd/peer.crt", "admin.conf"])
def test_a_certificate_ending_soon_is_renewed_and_the_static_pods_restarted(
    tmp_path: Path, ending: str
) -> None:
    plane = ControlPlane(tmp_path, {ending: 10})
    plane.renewal_gives(365)
    proc = plane.run(RENEW_DAYS="30")
    assert proc.returncode == 0, proc.stderr
    assert f"{ending} ends " in proc.stdout and "within 30 days" in proc.stdout
    assert f"renewing (ending soon: {ending})" in proc.stdout
    assert plane.kubeadm_calls() == ["kubeadm certs renew all"]
    assert "restarting the control-plane static pods" in proc.stdout
    back = sorted(p.name for p in (plane.kubernetes / "manifests").iterdir())
    assert back == sorted(f"{name}.yaml" for name in MANIFESTS)
    assert plane.copy.read_text() == (plane.kubernetes / "admin.conf").read_text()
    assert oct(plane.copy.stat().st_mode & 0o777) == "0o600"
    assert proc.stdout.rstrip().endswith(
        "renewed; every certificate is valid for more than 30 days"
    )
    assert "c2VjcmV0" not in proc.stdout + proc.stderr


def test_the_threshold_is_configurable(tmp_path: Path) -> None:
    plane = ControlPlane(tmp_path, {"apiserver.crt": 60})
    assert plane.run(RENEW_DAYS="30").returncode == 0
    assert plane.kubeadm_calls() == []
    proc = plane.run(RENEW_DAYS="90")
    assert plane.kubeadm_calls() == ["kubeadm certs renew all"]
    assert proc.returncode != 0, "the stand-in renewed nothing, so it still ends within 90 days"
    assert "ERROR: after renewal apiserver.crt still end within 90 days" in proc.stderr


def test_a_failed_renewal_fails_and_leaves_the_static_pods_alone(tmp_path: Path) -> None:
    plane = ControlPlane(tmp_path, {"front-proxy-client.crt": 3})
    (plane.state / "renew-fails").touch()
    proc = plane.run()
    assert proc.returncode != 0
    assert "ERROR: kubeadm certs renew all failed" in proc.stderr
    assert len(list((plane.kubernetes / "manifests").iterdir())) == 4


def test_a_ca_ending_soon_fails_loudly_without_renewing(tmp_path: Path) -> None:
    plane = ControlPlane(tmp_path, {"etcd/ca.crt": 20})
    proc = plane.run(RENEW_DAYS="30")
    assert proc.returncode != 0
    assert "ERROR: CA certificate(s) etcd/ca.crt end within 30 days" in proc.stderr
    assert plane.kubeadm_calls() == []

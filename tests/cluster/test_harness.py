"""The harness itself: the version the platform installs, the admission chain kubeadm gives it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from apiserver_harness import REQUIRE_ENV, Cluster, kube_version, pinned_module_version


def test_go_mod_pins_the_version_cluster_bootstrap_installs() -> None:
    assert pinned_module_version() == kube_version()


def test_server_is_the_platform_version(cluster: Cluster) -> None:
    out = json.loads(cluster.kubectl("version", "-o", "json", check=True).stdout)
    assert out["serverVersion"]["gitVersion"] == f"v{kube_version()}"


def test_kubeconfig_verifies_the_server_certificate(cluster: Cluster) -> None:
    config = cluster.kubeconfig.read_text()
    assert "certificate-authority-data" in config
    assert "insecure-skip-tls-verify" not in config


def test_controller_manager_fills_in_quota_status(cluster: Cluster) -> None:
    # ResourceQuota admission refuses every pod until the quota controller has set status.hard.
    ns = "harness-quota"
    cluster.kubectl("create", "namespace", ns, check=True)
    quota = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "q", "namespace": ns},
        "spec": {"hard": {"pods": "1"}},
    }
    assert cluster.apply([quota]).ok
    cluster.wait_for(
        "the quota controller to fill in status.hard",
        lambda: cluster.get("resourcequota", "q", "-n", ns).get("status", {}).get("hard"),
    )


def test_unknown_user_is_forbidden(cluster: Cluster) -> None:
    result = cluster.kubectl("get", "namespaces", as_user="nobody")
    assert not result.ok
    assert "forbidden" in result.stderr.lower()


def _pytest_without_go(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run one tier test in a child pytest whose PATH has no Go (python and kubectl kept)."""
    go = shutil.which("go")
    path = os.environ["PATH"].split(os.pathsep)
    if go is not None:
        path = [p for p in path if Path(p).resolve() != Path(go).resolve().parent]
    test = f"{Path(__file__).resolve()}::test_unknown_user_is_forbidden"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "0", "-p", "no:cacheprovider", "-rs", test],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": os.pathsep.join(path), **env},
        cwd=tmp_path,
    )


def test_without_go_the_tier_is_skipped_with_one_line(tmp_path: Path) -> None:
    with pytest.MonkeyPatch.context() as mp:  # CI sets it; this child must not see it
        mp.delenv(REQUIRE_ENV, raising=False)
        proc = _pytest_without_go(tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert "1 skipped" in proc.stdout
    assert "Go is not on PATH" in proc.stdout


def test_without_go_ci_fails_instead_of_skipping(tmp_path: Path) -> None:
    proc = _pytest_without_go(tmp_path, **{REQUIRE_ENV: "1"})
    assert proc.returncode != 0
    assert "1 error" in proc.stdout
    assert f"{REQUIRE_ENV}=1 requires the tier" in proc.stdout

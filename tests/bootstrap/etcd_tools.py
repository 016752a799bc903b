"""Real etcd, etcdctl and etcdutl for the restore round trip, built from etcd's Go modules.

``tests/bootstrap/etcd/`` is a Go module that requires the three programs at one etcd version
(the one kubeadm's etcd image of this Kubernetes minor carries). They are built once per (go.sum,
Go version) into ``~/.cache/kuploy-gitops/etcd-<hash>/`` under a file lock, like the API server
tier's harness. Without Go the test is skipped, unless CI requires the tier
(KUPLOY_REQUIRE_APISERVER, set by .ci/run): then it fails.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

MODULE = Path(__file__).resolve().parent / "etcd"
PROGRAMS = {
    "etcd": "go.etcd.io/etcd/server/v3",
    "etcdctl": "go.etcd.io/etcd/etcdctl/v3",
    "etcdutl": "go.etcd.io/etcd/etcdutl/v3",
}


def etcd_bin() -> Path:
    """The folder holding etcd, etcdctl and etcdutl (built on first use)."""
    go = shutil.which("go")
    if go is None:
        if os.environ.get("KUPLOY_REQUIRE_APISERVER"):
            pytest.fail("Go is required to build etcd for the restore round trip")
        pytest.skip("Go is not installed: etcd cannot be built for the restore round trip")
    version = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=True)
    key = hashlib.sha256((MODULE / "go.sum").read_bytes() + version.stdout.encode()).hexdigest()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "kuploy-gitops"
    target = cache / f"etcd-{key[:16]}"
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / "etcd.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if all((target / name).is_file() for name in PROGRAMS):
            return target
        build = target.with_name(target.name + ".part")
        shutil.rmtree(build, ignore_errors=True)
        build.mkdir()
        for name, package in PROGRAMS.items():
            subprocess.run(
                [go, "build", "-mod=readonly", "-o", str(build / name), package],
                cwd=MODULE, check=True, capture_output=True, timeout=1800,
            )  # fmt: skip
        shutil.rmtree(target, ignore_errors=True)
        build.rename(target)
    return target

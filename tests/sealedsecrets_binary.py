"""The Go cross-check of the sealing format: a tiny program over the real sealed-secrets code.

``tests/sealedsecrets_harness/`` (our own ``main.go``) links sealed-secrets' ``pkg/crypto`` and
its ``SealedSecret.Unseal`` at the version its go.mod pins. That module's go.mod declares the
project's new path (``github.com/bitnami/sealed-secrets``) while the Go proxy serves it under
the old one, so the build downloads ``github.com/bitnami-labs/sealed-secrets@<version>`` (which
``go mod download`` checks against the checksum database) and links it as ``./upstream`` beside a
copy of the harness. The binary is built once per (sources, Go version) into
``~/.cache/kuploy-gitops/sealedsecrets/`` (``XDG_CACHE_HOME`` moves it), under a file lock so
that pytest-xdist workers share one build. Without Go the tests that use it are skipped, unless
``KUPLOY_REQUIRE_APISERVER`` is set (CI), where they fail instead.

Run as a script (``.ci/run``), it builds the binary and prints where it is.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HARNESS_DIR = Path(__file__).resolve().parent / "sealedsecrets_harness"
UPSTREAM = "github.com/bitnami-labs/sealed-secrets"
REQUIRE_ENV = "KUPLOY_REQUIRE_APISERVER"  # CI's "no silent skips" switch (.ci/run sets it)
# Read at import, before the tests' autouse fixture points XDG_CACHE_HOME at a temporary folder.
_CACHE_BASE = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")


class HarnessUnbuildable(Exception):
    """No Go on this machine: the cross-check cannot run (a skip, unless CI requires it)."""


def pinned_version() -> str:
    """The sealed-secrets version the harness's go.mod requires."""
    text = (HARNESS_DIR / "go.mod").read_text()
    m = re.search(r"^require github\.com/bitnami/sealed-secrets (v\S+)", text, re.M)
    if m is None:
        raise RuntimeError(f"{HARNESS_DIR / 'go.mod'} does not require sealed-secrets")
    return m.group(1)


def _build_key(go: str) -> str:
    h = hashlib.sha256()
    for name in ("go.mod", "go.sum", "main.go"):
        h.update(name.encode() + b"\0" + (HARNESS_DIR / name).read_bytes() + b"\0")
    version = subprocess.run(
        [go, "env", "GOVERSION"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return hashlib.sha256(h.digest() + version.encode()).hexdigest()[:16]


def build() -> Path:
    """The harness binary, built unless cached.

    Raises:
        HarnessUnbuildable: Go is not on PATH.
        RuntimeError: the download or the build failed (with the end of its log).
    """
    go = shutil.which("go")
    if go is None:
        raise HarnessUnbuildable("sealed-secrets cross-check skipped: Go is not on PATH")
    target = Path(_CACHE_BASE) / "kuploy-gitops" / "sealedsecrets" / _build_key(go)
    binary = target / "sealedsecrets-harness"
    target.mkdir(parents=True, exist_ok=True)
    with (target / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if binary.is_file():
            return binary
        env = {**os.environ, "GOFLAGS": "-mod=readonly -buildvcs=false", "CGO_ENABLED": "0"}
        with tempfile.TemporaryDirectory() as empty:  # outside any module: a plain download
            got = subprocess.run(
                [go, "mod", "download", "-json", f"{UPSTREAM}@{pinned_version()}"],
                cwd=empty, capture_output=True, text=True, env=env,
            )  # fmt: skip
        if got.returncode != 0:
            raise RuntimeError(f"downloading {UPSTREAM} failed:\n{got.stdout}{got.stderr}")
        upstream = json.loads(got.stdout)["Dir"]
        src = target / "src"
        shutil.rmtree(src, ignore_errors=True)
        src.mkdir()
        for name in ("go.mod", "go.sum", "main.go"):
            shutil.copyfile(HARNESS_DIR / name, src / name)
        (src / "upstream").symlink_to(upstream, target_is_directory=True)
        partial = target / "sealedsecrets-harness.partial"
        log = target / "build.log"
        with log.open("w") as out:
            proc = subprocess.run(
                [go, "build", "-trimpath", "-o", str(partial), "."],
                cwd=src, stdout=out, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        if proc.returncode != 0:
            tail = "\n".join(log.read_text().splitlines()[-20:])
            raise RuntimeError(f"building the sealed-secrets harness failed ({log}):\n{tail}")
        partial.replace(binary)
        return binary


if __name__ == "__main__":
    print(build())
    sys.exit(0)

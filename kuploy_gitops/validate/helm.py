"""Helm charts rendered as Argo CD's repo-server renders them: ``helm template``, offline.

An app folder with a ``Chart.yaml`` at its top (and no kustomization, which Argo CD prefers) is a
Helm app to Argo CD. Its repo-server runs ``helm template <chart> --name-template <app>
--namespace <destination> --kube-version <cluster> --api-versions ... --include-crds`` with the
chart's own ``values.yaml``; our Applications set no values, parameters or release name.

The chart is copied, file by file through :meth:`Tree.read_bytes`, into a temporary folder
first: helm follows symlinks and would read a FIFO, and ``.Files.Get`` would hand a template any
file the link points at. Dependencies are never fetched (no ``helm dependency build``): a chart
whose dependencies are not vendored in ``charts/`` fails to render, and the finding says so.

The binary is ``$KUPLOY_HELM`` or ``helm`` on PATH, and must be Helm 3 (:data:`HELM_VERSION` is
the one the cluster's Argo CD bundles; docs/validation.md says how to install it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kuploy_gitops import yamlio
from kuploy_gitops.errors import ConfigError

# The Helm that Argo CD v3.4.4 bundles (its hack/tool-versions.sh: helm3_version=3.19.4); the
# cluster runs that Argo CD (cluster-bootstrap: argocd_chart_version 10.1.1). Bump both together.
HELM_VERSION = "v3.19.4"
HELM_ENV = "KUPLOY_HELM"
TIMEOUT = 90.0  # Argo CD's repo-server gives a config-management tool 90 s, too
MAX_OUTPUT = 16 * 1024 * 1024  # a render bigger than this is refused (no app is that big)
MEMORY_LIMIT = 2 << 30  # bytes of address space for helm
INSTALL_HINT = (
    f"install Helm {HELM_VERSION} (https://github.com/helm/helm/releases/tag/{HELM_VERSION}, or "
    f"`go install helm.sh/helm/v3/cmd/helm@{HELM_VERSION}`) and put it on PATH or in "
    f"${HELM_ENV}"
)


class HelmUnavailable(ConfigError):
    """No usable Helm 3 binary: a chart folder cannot be rendered."""


_found: dict[str, str] = {}


def find_helm() -> str:
    """The Helm 3 binary: ``$KUPLOY_HELM``, else ``helm`` on PATH (checked once per process).

    Raises:
        HelmUnavailable: none found, or it is not Helm 3.
    """
    wanted = os.environ.get(HELM_ENV) or shutil.which("helm") or ""
    if wanted in _found:
        return _found[wanted]
    if not wanted:
        raise HelmUnavailable("helm not found", hint=INSTALL_HINT)
    try:
        proc = subprocess.run(
            [wanted, "version", "--short"],
            capture_output=True,
            text=True,
            timeout=30,
            env=_helm_env(tempfile.gettempdir()),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it did not answer"
        raise HelmUnavailable(
            f"helm at {wanted} does not run ({reason})", hint=INSTALL_HINT
        ) from exc
    version = proc.stdout.strip()
    if proc.returncode != 0 or not version.startswith("v3."):
        raise HelmUnavailable(
            f"helm at {wanted} is not Helm 3"
            + (f" (it says {version[:40]!r})" if version else " (it printed no version)"),
            hint=INSTALL_HINT,
        )
    _found[wanted] = wanted
    return wanted


def _helm_env(home: str) -> dict[str, str]:
    """Helm's environment: its own empty home (no repositories, registries or plugins)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
    env.update(
        HELM_CACHE_HOME=f"{home}/cache",
        HELM_CONFIG_HOME=f"{home}/config",
        HELM_DATA_HOME=f"{home}/data",
        HELM_PLUGINS=f"{home}/plugins",
    )
    return env


@dataclass
class Rendered:
    """``helm template``'s output: (template path inside the chart, object) pairs, or an error.

    The template path is the ``# Source:`` of the document without the chart's name
    (``templates/deploy.yaml``, ``charts/sub/templates/x.yaml``), "" when helm gave none.
    """

    objects: list[tuple[str, Any]] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True)
class Release:
    """What Argo CD passes to ``helm template`` for an Application."""

    name: str  # the Application's name
    namespace: str  # its destination namespace
    kube_version: str  # the cluster's version
    api_versions: tuple[str, ...]  # the cluster's group/versions and group/version/kinds


def dependencies_missing(chart: dict[str, Any], files: set[str]) -> list[str]:
    """Names of the chart's dependencies not vendored in ``charts/`` (as a folder or archive).

    ``files`` are the chart's file paths relative to the chart folder.
    """
    missing = []
    for dep in chart.get("dependencies") or []:
        if not isinstance(dep, dict) or not dep.get("name"):
            continue
        name = str(dep["name"])
        prefix = f"charts/{name}"
        if not any(
            f.startswith(prefix + "/") or (f.startswith(prefix + "-") and f.endswith(".tgz"))
            for f in files
        ):
            missing.append(name)
    return missing


def local_dependencies(chart: dict[str, Any]) -> dict[str, str]:
    """Name -> path of the chart's ``file://`` dependencies (folders of the same repository)."""
    out = {}
    for dep in chart.get("dependencies") or []:
        if isinstance(dep, dict) and dep.get("name"):
            repo = str(dep.get("repository") or "")
            if repo.startswith("file://"):
                out[str(dep["name"])] = repo.removeprefix("file://")
    return out


def template(chart_dir: Path, release: Release) -> Rendered:
    """Run ``helm template`` on a chart folder (already copied out of the student's tree)."""
    helm = find_helm()
    # Through sh's ulimit (no preexec_fn, which is unsafe beside threads): a chart that loops
    # building one huge string stops at the limit instead of exhausting the machine.
    args = [
        "sh",
        "-c",
        f'ulimit -v {MEMORY_LIMIT >> 10} 2>/dev/null; exec "$0" "$@"',
        helm,
        "template",
        str(chart_dir),
        "--name-template",
        release.name,
        "--namespace",
        release.namespace,
        "--kube-version",
        release.kube_version,
        "--include-crds",
    ]
    for version in release.api_versions:
        args += ["--api-versions", version]
    with tempfile.TemporaryDirectory(prefix="kuploy-helm-") as home:
        out_path = Path(home) / "out.yaml"
        try:
            with out_path.open("wb") as out:
                # Output to a file: a chart that loops prints without bound, and its size is
                # checked before anything reads it.
                proc = subprocess.run(
                    args,
                    stdout=out,
                    stderr=subprocess.PIPE,
                    timeout=TIMEOUT,
                    env=_helm_env(home),
                    cwd=home,
                    stdin=subprocess.DEVNULL,
                )
        except subprocess.TimeoutExpired:
            return Rendered(error=f"helm template ran over {TIMEOUT:.0f} s (Argo CD stops it too)")
        if proc.returncode != 0:
            return Rendered(error=_helm_error(proc.stderr.decode("utf-8", "replace"), chart_dir))
        if out_path.stat().st_size > MAX_OUTPUT:
            return Rendered(error=f"helm template printed over {MAX_OUTPUT} bytes")
        text = out_path.read_text(encoding="utf-8", errors="replace")
    return split_output(text)


def _helm_error(stderr: str, chart_dir: Path) -> str:
    """Helm's error in one line, without the temporary folder's path."""
    if "out of memory" in stderr:  # the Go runtime's death, with a stack dump
        return f"helm template needed over {MEMORY_LIMIT >> 20} MiB of memory"
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    message = next((ln for ln in lines if ln.startswith("Error:")), lines[-1] if lines else "")
    message = (
        message.removeprefix("Error: ").replace(f"{chart_dir}/", "").replace(str(chart_dir), ".")
    )
    return message or "helm template failed"


_SOURCE = re.compile(r"^# Source: [^/\n]+/(.+)$", re.M)


def split_output(text: str) -> Rendered:
    """The documents of ``helm template``'s output, each with the template it came from."""
    out = Rendered()
    for chunk in re.split(r"^---[ \t]*$", text, flags=re.M):
        if not chunk.strip():
            continue
        m = _SOURCE.search(chunk)
        source = m.group(1).strip() if m else ""
        try:
            docs = [obj for _, obj in yamlio.iter_docs_fast(chunk, source=source or "helm")]
        except ConfigError as exc:
            out.error = f"{source or 'helm output'}: {exc}"
            continue
        out.objects.extend((source, obj) for obj in docs if obj is not None)
    return out

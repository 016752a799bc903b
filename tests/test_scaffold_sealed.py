"""The scaffold's sealing path: the certificate beside the rules, and KUPLOY.md's steps pass.

A student follows KUPLOY.md's "Secrets": seal with kubeseal (its output emulated here with the
controller's format, in the shape kubeseal writes), list the file in the kustomization, add the
envFrom. `validate --student` (both rule sources) and `kubectl kustomize` accept the result.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from sealing_keys import install_cert, keypair

from kuploy_gitops import api, layout, sealing, yamlio
from kuploy_gitops.github import scaffold
from kuploy_gitops.github.scaffold import ScaffoldOptions
from kuploy_gitops.validate import engine

STUDENT = "kim-minji"
# A platform repo, two validate runs and a kustomize build: the slow tier (.ci/run runs it).
pytestmark = pytest.mark.slow


@pytest.fixture
def platform_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "platform"
    api.init(api.InitOptions(repo=repo))
    api.onboard(repo, api.OnboardOptions(student=STUDENT, github="minji-k"))
    return repo


def files_for(repo: Path) -> dict[str, str]:
    opts = ScaffoldOptions(student=STUDENT, app="web")
    cfg, spec, data = scaffold.load_inputs(repo, opts)
    return scaffold.scaffold_files(cfg, spec, opts, data, sealing_cert=scaffold.sealing_cert(repo))


def kubeseal_output(namespace: str, name: str, values: dict[str, bytes]) -> str:
    """What `kubectl create secret ... | kubeseal --cert C --scope strict -o yaml` prints."""
    key = sealing.load_certificate(keypair()[1], "cert.pem")
    meta = {"creationTimestamp": None, "name": name, "namespace": namespace}
    sealed = {k: sealing.seal_value(key, namespace, name, v) for k, v in values.items()}
    obj = {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": meta,
        "spec": {"encryptedData": sealed, "template": {"metadata": meta}},
    }
    return "---\n" + yaml.safe_dump(obj)


def test_following_the_guide_passes_validate_and_builds(
    platform_repo: Path, tmp_path: Path
) -> None:
    before = files_for(platform_repo)  # no certificate yet: the guide says where to get it
    assert layout.STUDENT_SEALING_CERT not in before
    assert "Ask your instructor for the platform's\ncertificate" in before["KUPLOY.md"]
    assert "강사에게 플랫폼 인증서" in before["KUPLOY.md"]
    install_cert(platform_repo)
    files = files_for(platform_repo)
    assert files[layout.STUDENT_SEALING_CERT] == keypair()[1].decode()
    guide = files["KUPLOY.md"]
    for text in (
        "kubectl create secret generic web-secrets --namespace kim-minji --dry-run=client",
        "kubeseal --cert .kuploy/sealed-secrets.pem --scope strict -o yaml > "
        "deploy/sealedsecret.yaml",
        "name: web-secrets",
        "--merge-into deploy/sealedsecret.yaml",
    ):
        assert text in guide, text
    root = tmp_path / "student"
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    deploy = root / "deploy"
    (deploy / "sealedsecret.yaml").write_text(
        kubeseal_output(STUDENT, "web-secrets", {"API_KEY": b"k-1"})
    )
    kustomization = yamlio.load((deploy / "kustomization.yaml").read_text())
    kustomization["resources"].append("sealedsecret.yaml")
    (deploy / "kustomization.yaml").write_text(yamlio.dump(kustomization))
    deployment = yamlio.load((deploy / "deployment.yaml").read_text())
    deployment["spec"]["template"]["spec"]["containers"][0]["envFrom"] = [
        {"secretRef": {"name": "web-secrets"}}
    ]
    (deploy / "deployment.yaml").write_text(yamlio.dump(deployment))
    for rules in (root / layout.STUDENT_RULES_DIR, platform_repo):
        report = engine.validate_student(
            engine.Options(repo=rules, cache_dir=tmp_path / "c"), STUDENT, deploy
        )
        assert [f.to_data() for f in report.findings] == []
    built = yamlio.load_all(
        subprocess.run(
            ["kubectl", "kustomize", str(deploy)], check=True, capture_output=True, text=True
        ).stdout
    )
    kinds = {d["kind"]: d for d in built}
    assert kinds["SealedSecret"]["metadata"]["namespace"] == STUDENT
    container = kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [{"secretRef": {"name": "web-secrets"}}]

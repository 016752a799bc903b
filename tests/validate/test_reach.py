"""network.ingress-port: an Ingress backend the tenant's NetworkPolicy keeps the controller from.

The rendered app (Service targetPort ``http``, container port ``http``) is reachable; a Service
targeting another port is reported, by name or by number; a policy without ports (every port)
or an unknown one means no finding.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import Any

from kuploy_gitops import api, app_manifests, config, manifests, yamlio
from kuploy_gitops.tenant_spec import AppSpec, TenantSpec
from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate.context import build
from kuploy_gitops.validate.engine import Options, validate_student
from kuploy_gitops.validate.reach import admitted_ports, unreachable_backends
from kuploy_gitops.validate.tree import Doc

CFG = config.parse_config(config.default_config_data())
WEB = AppSpec(name="web", mode="managed", image="ghcr.io/konkuk-kuploy/web:1", port=8080)
REPO = AppSpec(name="blog", mode="repo", repo="https://github.com/konkuk-kuploy/kim-blog.git")
KIM = TenantSpec(student="kim", tier="small", apps=(WEB,))


def app_docs(app: AppSpec = WEB) -> list[Doc]:
    objs = [o for o in app_manifests.app_objects(CFG, KIM, app).values() if "kind" in o]
    return [Doc(copy.deepcopy(o), "deploy/x.yaml", 1, i) for i, o in enumerate(objs)]


def kind(docs: list[Doc], name: str) -> dict[str, Any]:
    return next(d.obj for d in docs if d.obj["kind"] == name)


def policy_ports(spec: TenantSpec) -> tuple[int | str, ...] | None:
    return admitted_ports(manifests.network_policies(CFG, spec))


def test_the_rendered_app_is_reachable() -> None:
    assert policy_ports(KIM) == (8080,)
    assert unreachable_backends((8080,), app_docs()) == []
    assert unreachable_backends(("http",), app_docs()) == []  # as a student-repo app


def test_a_service_targeting_another_port_is_reported() -> None:
    docs = app_docs()
    kind(docs, "Service")["spec"]["ports"][0]["targetPort"] = 9090
    ((doc, issue),) = unreachable_backends((8080,), docs)
    assert doc.obj["kind"] == "Ingress" and issue.rule == F.NETWORK_INGRESS_PORT
    assert issue.message == (
        "backend Service 'web' targets pod port 9090, which the ingress controller may not "
        "reach (NetworkPolicy allow-from-ingress-controller: 8080)"
    )
    assert issue.path[:2] == ("spec", "rules")


def test_a_renamed_container_port_is_reported_for_a_student_repo_app() -> None:
    docs = app_docs()
    deployment = kind(docs, "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["name"] = "web"
    kind(docs, "Service")["spec"]["ports"][0]["targetPort"] = "web"
    ((_, issue),) = unreachable_backends(("http",), docs)
    assert "targets pod port 'web'" in issue.message and issue.message.endswith(": http)")
    # A numeric target is fine when the port it reaches is named http.
    kind(docs, "Service")["spec"]["ports"][0]["targetPort"] = 8080
    assert unreachable_backends((8080,), docs) == []
    assert len(unreachable_backends(("http",), docs)) == 1


def test_every_port_admitted_means_no_finding() -> None:
    docs = app_docs()
    kind(docs, "Service")["spec"]["ports"][0]["targetPort"] = 1
    assert unreachable_backends(None, docs) == []
    assert len(unreachable_backends((8080,), docs)) == 1


def test_admitted_ports_read_from_the_policies() -> None:
    both = replace(KIM, apps=(WEB, REPO))
    assert policy_ports(both) == (8080, "http")
    assert policy_ports(replace(KIM, apps=())) == ()  # no policy: nothing admitted
    open_policy = manifests.network_policies(CFG, KIM)
    for p in open_policy:
        for rule in p["spec"].get("ingress", []):
            rule.pop("ports", None)
    assert admitted_ports(open_policy) is None


def test_the_context_takes_the_ports_from_the_guards_else_from_the_spec() -> None:
    guards = manifests.network_policies(CFG, KIM)
    assert build(CFG, "kim", None, guards).ingress_ports == (8080,)
    assert build(CFG, "kim", replace(KIM, apps=(REPO,)), []).ingress_ports == ("http",)
    assert build(CFG, "kim", None, []).ingress_ports is None


def test_a_students_own_folder_is_judged_as_a_student_repo_app(
    tmp_path: Path, crd_dir: Path
) -> None:
    """validate --student: the folder is synced by a student-repo app, admitted on port http."""
    repo = tmp_path / "p"
    api.init(api.InitOptions(repo=repo, domain="apps.konkuk.example"))
    api.onboard(repo, api.OnboardOptions(student="kim"))  # no app yet: nothing admitted
    folder = tmp_path / "deploy"
    folder.mkdir()
    docs = app_docs()
    for d in docs:
        (folder / f"{d.obj['kind'].lower()}.yaml").write_text(yamlio.dump(d.obj))
    options = Options(repo=repo, crd_dir=crd_dir, cache_dir=tmp_path / "c")
    assert validate_student(options, "kim", folder).findings == []
    service = kind(docs, "Service")
    service["spec"]["ports"][0]["targetPort"] = 9090
    (folder / "service.yaml").write_text(yamlio.dump(service))
    findings = validate_student(options, "kim", folder).findings
    assert [(f.rule, f.severity, f.file) for f in findings] == [
        (F.NETWORK_INGRESS_PORT, F.WARNING, "deploy/ingress.yaml")
    ]

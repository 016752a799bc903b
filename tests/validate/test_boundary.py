"""validate's mirrors of the tenant boundary: the kind whitelist, the Services and pods policies."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from kuploy_gitops import config, layout, manifests
from kuploy_gitops.tenant_spec import TenantSpec
from kuploy_gitops.validate import boundary, context
from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate.findings import Issue
from kuploy_gitops.validate.policies import normalise_image

CFG = config.parse_config(config.default_config_data())
SPEC = TenantSpec(student="kim", tier="small")
# What validate knows of the tenant from its rendered AppProject.
CTX = context.build(CFG, "kim", SPEC, [manifests.app_project(CFG, SPEC)])
BASE = ("spec",)


# -- kinds: Argo CD's IsGroupKindPermitted over the rendered AppProject -----------------------


@pytest.mark.parametrize(
    ("group", "kind"),
    [
        ("projectcalico.org", "NetworkPolicy"),
        ("crd.projectcalico.org", "NetworkPolicy"),
        ("traefik.io", "IngressRoute"),
        ("traefik.io", "IngressRouteTCP"),
        ("traefik.io", "TLSOption"),
        ("traefik.io", "Middleware"),
        ("traefik.containo.us", "IngressRoute"),
        ("", "Endpoints"),
        ("discovery.k8s.io", "EndpointSlice"),
        ("apps", "DaemonSet"),
        ("apps", "ReplicaSet"),
        ("gateway.networking.k8s.io", "HTTPRoute"),
        ("example.org", "Widget"),
    ],
)
def test_kinds_outside_the_table_are_refused(group: str, kind: str) -> None:
    assert not CTX.permitted(group, kind)
    (issue,) = boundary.check_kind(CTX, group, kind)
    assert issue.rule == F.ISO_KIND
    assert kind in issue.message and "kim" in issue.message


@pytest.mark.parametrize(("group", "kind"), manifests.GUARD_KINDS)
def test_guard_kinds_get_their_own_rule(group: str, kind: str) -> None:
    (issue,) = boundary.check_kind(CTX, group, kind)
    assert issue.rule == F.ISO_GUARD_KIND


@pytest.mark.parametrize(
    ("group", "kind"),
    [("apps", "Deployment"), ("", "Service"), ("networking.k8s.io", "Ingress"), ("batch", "Job")],
)
def test_tenant_kinds_pass(group: str, kind: str) -> None:
    assert boundary.check_kind(CTX, group, kind) == []


def test_addon_kinds_only_where_the_addon_is_installed() -> None:
    assert boundary.check_kind(CTX, "postgresql.cnpg.io", "Cluster") == []
    bare = replace(CFG, addons=())
    ctx = context.build(bare, "kim", SPEC, [manifests.app_project(bare, SPEC)])
    assert [i.rule for i in boundary.check_kind(ctx, "postgresql.cnpg.io", "Cluster")] == [
        F.ISO_KIND
    ]


# -- Services ----------------------------------------------------------------------------------


def svc(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": spec}


SEL = {"app": "web"}


@pytest.mark.parametrize("stype", [None, "", "ClusterIP"])
def test_cluster_ip_services_pass(stype: str | None) -> None:
    spec: dict[str, Any] = {"selector": SEL}
    if stype is not None:
        spec["type"] = stype
    assert boundary.check_service(svc(**spec)) == []


@pytest.mark.parametrize("stype", ["NodePort", "LoadBalancer", "ExternalName"])
def test_other_service_types(stype: str) -> None:
    assert boundary.check_service(svc(type=stype, selector=SEL)) == [
        Issue(
            F.SERVICE_TYPE,
            f"Service type {stype} is refused in tenant namespaces (ClusterIP only)",
            ("spec", "type"),
        )
    ]


def test_external_ips() -> None:
    assert boundary.check_service(svc(selector=SEL, externalIPs=["1.2.3.4"])) == [
        Issue(
            F.SERVICE_EXTERNAL_IPS,
            "Service sets externalIPs ['1.2.3.4']",
            ("spec", "externalIPs"),
        )
    ]
    assert boundary.check_service(svc(selector=SEL, externalIPs=[])) == []


@pytest.mark.parametrize("selector", [None, {}, "junk"])
def test_services_need_a_selector(selector: Any) -> None:
    spec = {} if selector is None else {"selector": selector}
    (issue,) = boundary.check_service(svc(**spec))
    assert issue.rule == F.SERVICE_NO_SELECTOR


# -- pods --------------------------------------------------------------------------------------


def rules(spec: dict[str, Any], cfg: config.PlatformConfig = CFG) -> list[str]:
    return [i.rule for i in boundary.check_pod(cfg, spec, BASE)]


def test_a_plain_pod_passes() -> None:
    assert rules({"containers": [{"name": "a", "image": "x"}]}) == []


def test_node_name() -> None:
    assert boundary.check_pod(CFG, {"nodeName": "cp1"}, BASE) == [
        Issue(F.POD_NODE_NAME, "pod sets nodeName 'cp1'", ("spec", "nodeName"))
    ]
    assert rules({"nodeName": ""}) == []


@pytest.mark.parametrize(
    ("priority", "refused"),
    [
        ("system-node-critical", True),
        ("system-cluster-critical", True),
        ("high", True),
        (layout.TENANT_PRIORITY_CLASS, False),
        ("", False),
    ],
)
def test_priority_class(priority: str, refused: bool) -> None:
    assert rules({"priorityClassName": priority}) == ([F.POD_PRIORITY_CLASS] if refused else [])


def test_deployer_account() -> None:
    assert rules({"serviceAccountName": layout.DEPLOYER_SA}) == [F.POD_DEPLOYER_ACCOUNT]
    assert rules({"serviceAccountName": "default"}) == []


def test_tolerations() -> None:
    spec = {
        "tolerations": [
            {"key": "kuploy.io/pool", "operator": "Equal", "value": "lab", "effect": "NoSchedule"},
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
            {"operator": "Exists"},
            {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists"},
        ]
    }
    issues = boundary.check_pod(CFG, spec, BASE)
    assert [(i.rule, i.path) for i in issues] == [
        (F.POD_TOLERATION, ("spec", "tolerations", 2)),
        (F.POD_TOLERATION, ("spec", "tolerations", 3)),
    ]
    assert "'every taint'" in issues[0].message


def test_node_selector_of_another_pool() -> None:
    assert rules({"nodeSelector": {layout.POOL_LABEL: "core"}}) == [F.POD_NODE_SELECTOR]
    assert rules({"nodeSelector": {layout.POOL_LABEL: "lab"}}) == []
    assert rules({"nodeSelector": {"kubernetes.io/arch": "amd64"}}) == []
    # no tenant pool: the namespace sets no selector, so nothing conflicts
    assert rules({"nodeSelector": {layout.POOL_LABEL: "core"}}, replace(CFG, tenant_pool="")) == []


# -- images ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "full"),
    [
        ("nginx", "docker.io/library/nginx"),
        ("nginx:1.27", "docker.io/library/nginx:1.27"),
        ("me/app:1", "docker.io/me/app:1"),
        ("docker.io/nginx:1", "docker.io/library/nginx:1"),
        ("docker.io/me/app", "docker.io/me/app"),
        ("index.docker.io/nginx", "docker.io/library/nginx"),
        ("index.docker.io/me/app", "docker.io/me/app"),
        ("ghcr.io/org/app@sha256:abc", "ghcr.io/org/app@sha256:abc"),
        ("localhost/app", "localhost/app"),
        ("registry:5000/app", "registry:5000/app"),
    ],
)
def test_normalise_image(image: str, full: str) -> None:
    assert normalise_image(image) == full


def test_registry_prefixes_end_at_a_path_separator() -> None:
    data = config.default_config_data()
    data["registries"] = ["ghcr.io/konkuk-kuploy", "docker.io/library/"]
    cfg = config.parse_config(data)
    assert cfg.registries == ("ghcr.io/konkuk-kuploy/", "docker.io/library/")

"""The rendered admission policies: which exist, what they bind to, what they are built from.

Whether each policy compiles and refuses what it should is proven on the real API server
(tests/cluster/test_admission_policies.py and test_tenant_boundary.py); these tests pin the shape.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from kuploy_gitops import admission, config, layout

CFG = config.parse_config(config.default_config_data())


def by_name(cfg: config.PlatformConfig = CFG) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in admission.admission_policies(cfg)}


def test_every_policy_has_one_binding_of_the_same_name() -> None:
    objects = admission.admission_policies(CFG)
    policies = [o["metadata"]["name"] for o in objects if o["kind"] == "ValidatingAdmissionPolicy"]
    bindings = [
        o["spec"]["policyName"] for o in objects if o["kind"] == "ValidatingAdmissionPolicyBinding"
    ]
    assert (
        policies
        == bindings
        == [
            "kuploy-tenant-services",
            "kuploy-tenant-ingresses",
            "kuploy-tenant-pods",
            "kuploy-tenant-images",
            "kuploy-namespace-adoption",
        ]
    )
    for o in objects:
        assert o["metadata"]["annotations"] == {layout.ANNOTATION_SYNC_WAVE: layout.WAVE_ADMISSION}
        if o["kind"] == "ValidatingAdmissionPolicy":
            assert o["spec"]["failurePolicy"] == "Fail"
        else:
            assert o["spec"]["validationActions"] == ["Deny"]


def test_tenant_policies_bind_to_owned_namespaces_and_adoption_to_all() -> None:
    objects = by_name()
    owned = {"matchExpressions": [{"key": layout.LABEL_OWNER, "operator": "Exists"}]}
    for name in ("services", "ingresses", "pods", "images"):
        binding = objects[("ValidatingAdmissionPolicyBinding", f"kuploy-tenant-{name}")]
        assert binding["spec"]["matchResources"]["namespaceSelector"] == owned
    adoption = objects[("ValidatingAdmissionPolicyBinding", "kuploy-namespace-adoption")]
    # The namespace it guards is the one that may lack the label: no selector at all.
    assert "matchResources" not in adoption["spec"]
    policy = objects[("ValidatingAdmissionPolicy", "kuploy-namespace-adoption")]
    rule = policy["spec"]["matchConstraints"]["resourceRules"][0]
    assert rule["resources"] == ["namespaces"] and rule["operations"] == ["UPDATE"]


def test_images_policy_lists_the_configured_registries_as_cel_strings() -> None:
    cfg = replace(CFG, registries=('ghcr.io/o"rg/', "docker.io/library/"))
    policy = by_name(cfg)[("ValidatingAdmissionPolicy", "kuploy-tenant-images")]
    (validation,) = policy["spec"]["validations"]
    assert '["ghcr.io/o\\"rg/", "docker.io/library/"]' in validation["expression"]
    rule = policy["spec"]["matchConstraints"]["resourceRules"][0]
    assert rule["operations"] == ["CREATE", "UPDATE"]
    assert "initContainers" in policy["spec"]["variables"][0]["expression"]


def test_pods_policy_names_the_tenant_class_and_the_deployer() -> None:
    policy = by_name()[("ValidatingAdmissionPolicy", "kuploy-tenant-pods")]
    expressions = " ".join(v["expression"] for v in policy["spec"]["validations"])
    assert f'"{layout.TENANT_PRIORITY_CLASS}"' in expressions
    assert f'"{layout.DEPLOYER_SA}"' in expressions
    for key in (*admission.DEFAULT_TOLERATION_KEYS, layout.POOL_LABEL):
        assert f'"{key}"' in expressions


def test_cel_string_escapes_anything() -> None:
    assert admission.cel_string('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'


def test_under_http01_the_solver_image_is_admitted_and_the_issuer_annotation_pinned() -> None:
    data = config.default_config_data()
    data["tls"] = {**data["tls"], "issuer": "http01", "acme_email": "a@b.example"}
    http01 = config.parse_config(data)
    version = data["addons"]["cert-manager"]["version"]
    solver = f'"quay.io/jetstack/cert-manager-acmesolver:{version}"'
    images = by_name(http01)[("ValidatingAdmissionPolicy", "kuploy-tenant-images")]
    assert solver in images["spec"]["validations"][0]["expression"]
    ca_images = by_name()[("ValidatingAdmissionPolicy", "kuploy-tenant-images")]
    assert "acmesolver" not in ca_images["spec"]["validations"][0]["expression"]

    def issuer_rule(cfg: config.PlatformConfig) -> str:
        policy = by_name(cfg)[("ValidatingAdmissionPolicy", "kuploy-tenant-ingresses")]
        (rule,) = [
            v["expression"]
            for v in policy["spec"]["validations"]
            if '"cert-manager.io/"' in v["expression"]
        ]
        return str(rule)

    assert '"cert-manager.io/cluster-issuer"' in issuer_rule(http01)
    assert f'"{layout.CLUSTER_ISSUER}"' in issuer_rule(http01)
    assert "cluster-issuer" not in issuer_rule(CFG)  # ca: no cert-manager annotation at all

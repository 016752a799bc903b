"""What the API server's validation code refuses beyond the OpenAPI schemas (no cluster needed).

Each case here is a disagreement the differential test (tests/cluster/test_schema_differential.py)
found against the real kube-apiserver, pinned without it: enum values in the wrong case or the
wrong kind, quantities ParseQuantity refuses, null where a value is required, apiVersions no
API server serves, and YAML 1.1 booleans as kubectl reads them.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kuploy_gitops import yamlio
from kuploy_gitops.quantity import kube_quantity
from kuploy_gitops.validate.findings import Issue
from kuploy_gitops.validate.schemas import SchemaSet


@pytest.fixture(scope="module")
def schemas() -> SchemaSet:
    return SchemaSet("1.36.4")


def deployment(**container: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27", **container}]},
            },
        },
    }


def only(issues: list[Issue]) -> Issue:
    assert len(issues) == 1, issues
    (issue,) = issues
    assert issue.rule == "schema.invalid"
    return issue


C0 = "spec.template.spec.containers[0]"


# -- enums -------------------------------------------------------------------------------------


def test_enum_in_the_wrong_case_names_path_value_and_the_allowed_spelling(
    schemas: SchemaSet,
) -> None:
    issue = only(schemas.check(deployment(imagePullPolicy="always")))
    assert issue.message == (
        f"{C0}.imagePullPolicy: 'always' is not one of 'Always', 'IfNotPresent', 'Never' "
        "(case matters: 'Always')"
    )
    assert issue.path == ("spec", "template", "spec", "containers", 0, "imagePullPolicy")
    assert schemas.check(deployment(imagePullPolicy="IfNotPresent")) == []


@pytest.mark.parametrize(
    ("obj", "path", "value"),
    [
        (
            {"kind": "Service", "spec": {"type": "Nodeport", "ports": [{"port": 80}]}},
            "spec.type",
            "Nodeport",
        ),
        (
            {"kind": "Service", "spec": {"ports": [{"port": 80, "protocol": "tcp"}]}},
            "spec.ports[0].protocol",
            "tcp",
        ),
        (
            {"kind": "PersistentVolumeClaim", "spec": {
                "accessModes": ["readWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
            }},
            "spec.accessModes[0]",
            "readWriteOnce",
        ),
    ],
)  # fmt: skip
def test_enums_of_core_kinds(
    schemas: SchemaSet, obj: dict[str, Any], path: str, value: str
) -> None:
    obj = {"apiVersion": "v1", "metadata": {"name": "x"}, **obj}
    issue = only(schemas.check(obj))
    assert issue.message.startswith(f"{path}: {value!r} is not one of ")


def test_ingress_path_type_in_the_wrong_case(schemas: SchemaSet) -> None:
    path = {
        "path": "/",
        "pathType": "prefix",
        "backend": {"service": {"name": "w", "port": {"number": 80}}},
    }
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "w"},
        "spec": {"rules": [{"host": "w.example.test", "http": {"paths": [path]}}]},
    }
    issue = only(schemas.check(ingress))
    assert "pathType: 'prefix' is not one of" in issue.message and "'Prefix'" in issue.message
    path["pathType"] = "Prefix"
    assert schemas.check(ingress) == []
    path["pathType"] = ""
    assert "pathType: required" in only(schemas.check(ingress)).message
    path["pathType"] = "Exact"
    path["backend"] = {"service": {"name": "w", "port": {}}}
    assert "port: required: a port name or number" in only(schemas.check(ingress)).message


def test_restart_policy_depends_on_the_kind(schemas: SchemaSet) -> None:
    dep = deployment()
    dep["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    issue = only(schemas.check(dep))
    assert "'Never' is not allowed for a Deployment's pods: use 'Always'" in issue.message
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "j"},
        "spec": {"template": {"spec": {"containers": [{"name": "j", "image": "busybox:1.36"}]}}},
    }
    # A Job's pods default to Always, which a Job refuses: the policy is required.
    assert "restartPolicy: required" in only(schemas.check(job)).message
    job["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    assert "not allowed for a Job's pods" in only(schemas.check(job)).message
    job["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    assert schemas.check(job) == []
    containers = [{"name": "p", "image": "busybox:1.36"}]
    spec = {"restartPolicy": "always", "containers": containers}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}
    assert "(case matters: 'Always')" in only(schemas.check(pod)).message


def test_an_empty_enum_value_is_left_to_defaulting(schemas: SchemaSet) -> None:
    assert schemas.check(deployment(imagePullPolicy="")) == []


# -- quantities --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["512MB", "1Gb", "fast", "", "500 m", "1.5GiB", "1gi", "Ki"])
def test_quantities_the_api_server_cannot_parse(schemas: SchemaSet, value: str) -> None:
    issue = only(schemas.check(deployment(resources={"limits": {"memory": value}})))
    assert issue.message.startswith(f"{C0}.resources.limits.memory: {value!r} is not a quantity: ")
    assert "512Mi" in issue.message and "\n" not in issue.message
    assert kube_quantity(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("128974848", 128974848), (0.25, 0.25), (129e6, 129e6), ("129e6", 129e6), ("1E9", 1e9),
     ("250m", 0.25), ("0.5Gi", 2**29), ("+2", 2), ("1.", 1), (".5", 0.5), ("1G", 1e9),
     ("2Ei", 2 * 2**60), ("3P", 3e15), ("1k", 1000)],
)  # fmt: skip
def test_quantities_the_api_server_parses(
    schemas: SchemaSet, value: str | float, expected: float
) -> None:
    assert kube_quantity(value) == pytest.approx(expected)
    resources = {"requests": {"cpu": value}, "limits": {"cpu": value}}
    assert schemas.check(deployment(resources=resources)) == []


def test_every_quantity_field_is_checked_not_only_container_resources(schemas: SchemaSet) -> None:
    dep = deployment()
    dep["spec"]["template"]["spec"]["volumes"] = [{"name": "t", "emptyDir": {"sizeLimit": "1GB"}}]
    issue = only(schemas.check(dep))
    assert "volumes[0].emptyDir.sizeLimit: '1GB' is not a quantity" in issue.message
    spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10GB"}}}
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "d"}}
    pvc["spec"] = spec
    assert "spec.resources.requests.storage: '10GB'" in only(schemas.check(pvc)).message


def test_negative_quantities_and_requests_above_limits(schemas: SchemaSet) -> None:
    issue = only(schemas.check(deployment(resources={"requests": {"memory": "-1Gi"}})))
    assert issue.message == (
        f"{C0}.resources.requests.memory: '-1Gi' is negative: use a quantity of 0 or more"
    )
    resources = {"requests": {"memory": "1Gi"}, "limits": {"memory": "512Mi"}}
    issue = only(schemas.check(deployment(resources=resources)))
    assert issue.message == (
        f"{C0}.resources.requests.memory: '1Gi' is more than the limit '512Mi': "
        "a request must be at most its limit"
    )
    resources = {"requests": {"memory": "512Mi"}, "limits": {"memory": "0.5Gi"}}
    assert schemas.check(deployment(resources=resources)) == []


# -- null and required -------------------------------------------------------------------------


def test_spec_null_is_no_spec_and_its_required_fields_are_missing(schemas: SchemaSet) -> None:
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"}, "spec": None}
    messages = sorted(i.message for i in schemas.check(dep))
    assert messages == [
        "spec.selector: required: a label selector",
        "spec.template.spec.containers: required: at least one container",
    ]
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "w"}, "spec": None}
    assert only(schemas.check(svc)).message.startswith("spec.ports: required")
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "d"},
           "spec": None}  # fmt: skip
    assert {i.path[-1] for i in schemas.check(pvc)} == {"accessModes", "storage"}


def test_services_that_need_no_ports(schemas: SchemaSet) -> None:
    for spec in (
        {"type": "ExternalName", "externalName": "db.example.test"},
        {"clusterIP": "None"},
    ):
        svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "w"}, "spec": spec}
        assert schemas.check(svc) == []


def test_null_container_image_is_a_missing_image(schemas: SchemaSet) -> None:
    issue = only(schemas.check(deployment(image=None)))
    assert issue.message == f"{C0}.image: required: every container needs an image"


def test_null_optional_fields_are_fine(schemas: SchemaSet) -> None:
    dep = deployment(env=None, resources=None, ports=None)
    dep["metadata"]["labels"] = None
    dep["spec"]["replicas"] = None
    assert schemas.check(dep) == []


def test_a_schema_finding_and_a_rule_at_the_same_path_are_one_finding(schemas: SchemaSet) -> None:
    dep = deployment()
    dep["spec"]["template"]["spec"]["containers"] = None
    issue = only(schemas.check(dep))
    assert issue.message == "spec.template.spec.containers: None is not of type 'array'"


# -- apiVersion and kind -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api_version", "kind", "message"),
    [
        ("app/v1", "Deployment", "apiVersion: 'app/v1': no API group 'app' in Kubernetes 1.36.0 "
         "(a custom resource's group has a dot) (Deployment is apps/v1); did you mean 'apps'?"),
        ("networkin.k8s.io/v1", "NetworkPolicy", "apiVersion: 'networkin.k8s.io/v1': no API "
         "group 'networkin.k8s.io' in Kubernetes 1.36.0 (NetworkPolicy is networking.k8s.io/v1)"
         "; did you mean 'networking.k8s.io'?"),
        ("apps/v1beta", "Deployment", "apiVersion: 'apps/v1beta': Kubernetes 1.36.0 serves apps "
         "in v1 (Deployment is apps/v1)"),
        ("apps/v1", "Deploymnet", "kind: 'Deploymnet' is not a kind of apps/v1 in Kubernetes "
         "1.36.0; did you mean 'Deployment'?"),
        ("v1", "Ingress", "kind: 'Ingress' is not a kind of v1 in Kubernetes 1.36.0 (Ingress is "
         "networking.k8s.io/v1)"),
    ],
)  # fmt: skip
def test_an_api_version_no_api_server_serves_is_an_error(
    schemas: SchemaSet, api_version: str, kind: str, message: str
) -> None:
    obj = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}}
    assert only(schemas.check(obj)).message == message


def test_a_group_that_may_be_a_crd_stays_a_warning(schemas: SchemaSet) -> None:
    for api_version in ("cert-manager.io/v1", "widgets.example.org/v1"):
        obj = {"apiVersion": api_version, "kind": "Widget", "metadata": {"name": "x"}}
        (issue,) = schemas.check(obj)
        assert issue.rule == "schema.unknown-kind"


# -- YAML as kubectl reads it ------------------------------------------------------------------


def test_plain_y_and_n_are_booleans_in_manifests_as_for_kubectl() -> None:
    text = "a: y\nb: N\nc: 'y'\nd: yes\ne: [n, Y]\nf: no\n"
    expected = {"a": True, "b": False, "c": "y", "d": True, "e": [False, True], "f": False}
    assert list(yamlio.iter_docs_fast(text)) == [(1, expected)]
    assert list(yamlio.iter_docs_with_lines(text)) == [(1, expected)]
    # A document the fast path leaves to PyYAML's constructor (a float) reads the same.
    assert list(yamlio.iter_docs_fast(text + "g: 1.5\n")) == [(1, {**expected, "g": 1.5})]
    # kuploy's writer quotes them, so what it writes reads back as the same strings.
    data = {"labels": {"enabled": "y", "off": "n"}}
    assert list(yamlio.iter_docs_fast(yamlio.dump(data))) == [(1, data)]


def test_a_boolean_label_value_is_a_schema_error(schemas: SchemaSet) -> None:
    ((_, obj),) = yamlio.iter_docs_fast(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels:\n    enabled: y\n"
    )
    issue = only(schemas.check(copy.deepcopy(obj)))
    assert issue.message == "metadata.labels.enabled: True is not of type ['string', 'null']"

"""What the API server's validation code refuses beyond the OpenAPI schemas (no cluster needed).

Each case here is a disagreement the differential test (tests/cluster/test_schema_differential.py)
found against the real kube-apiserver, pinned without it: enum values in the wrong case or the
wrong kind, quantities ParseQuantity refuses, null where a value is required, apiVersions no
API server serves, and YAML 1.1 booleans as kubectl reads them.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from kuploy_gitops import yamlio
from kuploy_gitops.quantity import kube_quantity
from kuploy_gitops.validate import apirules
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
        ("rabc.authorization.k8s.io/v1", "Role", "apiVersion: 'rabc.authorization.k8s.io/v1': "
         "no API group 'rabc.authorization.k8s.io' in Kubernetes 1.36.0 (Role is "
         "rbac.authorization.k8s.io/v1); did you mean 'rbac.authorization.k8s.io'?"),
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
    for api_version in (
        "cert-manager.io/v1",
        "widgets.example.org/v1",
        "gateway.networking.k8s.io/v1",  # Gateway API: a suffix in common is no typo
        "policy.networking.k8s.io/v1alpha1",
        "snapshot.storage.k8s.io/v1",
        "gateway.networking.x-k8s.io/v1alpha1",
    ):
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


# -- values the validation code refuses --------------------------------------------------------


def _with(obj: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    node: Any = obj
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return obj


SERVICE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web"},
    "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "name": "http"}]},
}
POD_SPEC = ("spec", "template", "spec")
FIELD_REF = {"fieldRef": {"fieldPath": "metadata.name"}}
C0_PATH = (*POD_SPEC, "containers", 0)


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (_with(deployment(), ("metadata", "labels"), {"app": "my app"}),
         "metadata.labels.app: 'my app' is not valid: use at most 63 letters"),
        (_with(deployment(), ("metadata", "labels"), {"a/b/c": "x"}),
         "metadata.labels: key 'a/b/c' is not valid: use an optional DNS prefix and a name"),
        (_with(deployment(), ("metadata", "annotations"), {"Example.com/x": "y"}),
         "key 'Example.com/x' is not valid: use a lowercase DNS name before the '/'"),
        (_with(deployment(), ("spec", "template", "metadata", "labels"), {"app": "web", "v": "-x"}),
         "spec.template.metadata.labels.v: '-x' is not valid"),
        (deployment(name="Web"),
         f"{C0}.name: 'Web' is not valid: use a lowercase DNS label"),
        (_with(deployment(), (*POD_SPEC, "initContainers"), [{"name": "web", "image": "b:1"}]),
         f"{C0}.name: 'web' is not valid: use a name no other container of the pod has"),
        (deployment(ports=[{"containerPort": 0}]),
         f"{C0}.ports[0].containerPort: 0 is not a port: use 1 to 65535"),
        (deployment(ports=[{"containerPort": 80, "name": "http-metrics-port"}]),
         f"{C0}.ports[0].name: 'http-metrics-port' is not a port name: at most 15 lowercase"),
        (deployment(ports=[{"containerPort": 80, "name": "http--x"}]),
         "'http--x' is not a port name"),
        (deployment(readinessProbe={"httpGet": {"port": 80}, "exec": {"command": ["true"]}}),
         f"{C0}.readinessProbe: needs exactly one of exec, httpGet, tcpSocket, grpc "
         "(got exec, httpGet)"),
        (deployment(startupProbe={"periodSeconds": 5}), "(got none)"),
        (deployment(volumeMounts=[{"name": "data", "mountPath": "/d"}]),
         f"{C0}.volumeMounts[0].name: 'data' is not valid: use the name of a pod volume"),
        (deployment(env=[{"name": "A", "value": "x", "valueFrom": FIELD_REF}]),
         f"{C0}.env[0]: both value and valueFrom are set: give one"),
        (_with(deployment(), ("spec", "replicas"), -1),
         "spec.replicas: -1 is not valid: use 0 or more"),
        (_with(SERVICE, ("spec", "ports", 0, "name"), "HTTP"),
         "spec.ports[0].name: 'HTTP' is not valid: use a lowercase DNS label"),
        (_with(SERVICE, ("spec", "ports", 0, "targetPort"), "8080"),
         "spec.ports[0].targetPort: '8080' is not a port name"),
        (_with(SERVICE, ("spec", "ports", 0, "targetPort"), 70000),
         "spec.ports[0].targetPort: 70000 is not a port"),
        (_with(SERVICE, ("spec", "ports"), [{"port": 80, "name": "a"}, {"port": 80, "name": "b"}]),
         "spec.ports[1]: port 80/TCP is given twice"),
    ],
)  # fmt: skip
def test_values_the_validation_code_refuses(
    schemas: SchemaSet, obj: dict[str, Any], message: str
) -> None:
    assert message in only(schemas.check(obj)).message


def test_values_at_their_limits_are_fine(schemas: SchemaSet) -> None:
    dep = deployment(
        name="web-2",
        ports=[{"containerPort": 65535, "name": "http-metrics-01"}, {"containerPort": 1}],
        env=[
            {"name": "E", "value": ""},
            {"name": "P", "valueFrom": {"fieldRef": {"fieldPath": "x"}}},
        ],
        livenessProbe={"tcpSocket": {"port": "http-metrics-01"}},
        volumeMounts=[{"name": "data", "mountPath": "/data"}],
    )
    dep["metadata"]["labels"] = {"app.kubernetes.io/name": "web", "v": "v1.2_3-rc.1", "e": ""}
    dep["metadata"]["annotations"] = {"traefik.ingress.kubernetes.io/router.tls": "any text: ok"}
    dep["spec"]["replicas"] = 0
    dep["spec"]["template"]["spec"]["volumes"] = [{"name": "data", "emptyDir": {}}]
    assert schemas.check(dep) == []
    svc = _with(
        SERVICE,
        ("spec", "ports", 0),
        {"port": 80, "name": "a-port-name-over-15", "targetPort": "http"},
    )
    assert schemas.check(svc) == []


def test_statefulset_mounts_its_claim_templates(schemas: SchemaSet) -> None:
    sts = deployment(volumeMounts=[{"name": "data", "mountPath": "/d"}])
    sts["kind"] = "StatefulSet"
    sts["spec"]["volumeClaimTemplates"] = [
        {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
         "resources": {"requests": {"storage": "1Gi"}}}}
    ]  # fmt: skip
    assert schemas.check(sts) == []


@pytest.mark.parametrize(
    ("data", "ok"),
    [({"config.yaml": "x", "_a-b.c": "y", ".hidden": "z"}, True), ({"my key": "x"}, False),
     ({"..data": "x"}, False), ({".": "x"}, False), ({"a/b": "x"}, False)],
)  # fmt: skip
def test_configmap_keys(schemas: SchemaSet, data: dict[str, str], ok: bool) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": data}
    issues = schemas.check(cm)
    assert (issues == []) == ok, issues
    if not ok:
        assert only(issues).message.startswith("data: key ")


@pytest.mark.parametrize(
    ("schedule", "problem"),
    [("0 3 * * *", ""), ("*/5 * * * 1-5", ""), ("@daily", ""), ("@every 1h", ""),
     ("every day", "five fields"), ("0 3 * *", "five fields"),
     ("CRON_TZ=Asia/Seoul 0 3 * * *", "spec.timeZone"), ("TZ=UTC 0 3 * * *", "spec.timeZone")],
)  # fmt: skip
def test_cronjob_schedules(schemas: SchemaSet, schedule: str, problem: str) -> None:
    job = {"spec": {"template": {"spec": {"restartPolicy": "Never",
           "containers": [{"name": "c", "image": "b:1"}]}}}}  # fmt: skip
    cron = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
            "spec": {"schedule": schedule, "jobTemplate": job}}  # fmt: skip
    issues = schemas.check(cron)
    if not problem:
        assert issues == []
    else:
        assert problem in only(issues).message
        assert only(issues).message.startswith(f"spec.schedule: {schedule!r} is not a schedule: ")


def test_ingress_hosts_and_paths(schemas: SchemaSet) -> None:
    def ingress(host: str, path: str) -> dict[str, Any]:
        backend = {"service": {"name": "w", "port": {"number": 80}}}
        paths = [{"path": path, "pathType": "Prefix", "backend": backend}]
        return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i"},
                "spec": {"rules": [{"host": host, "http": {"paths": paths}}]}}  # fmt: skip

    assert schemas.check(ingress("*.web.example.test", "/api")) == []
    assert (
        "host: 'Web.example.test' is not valid"
        in only(schemas.check(ingress("Web.example.test", "/"))).message
    )
    assert (
        "path: 'api' is not valid: use an absolute path"
        in only(schemas.check(ingress("web.example.test", "api"))).message
    )


def test_hpa_bounds_and_pdb(schemas: SchemaSet) -> None:
    ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "w"}
    spec = {"scaleTargetRef": ref, "maxReplicas": 3}
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {}}
    hpa["metadata"] = {"name": "h"}
    hpa["spec"] = spec
    assert schemas.check(hpa) == []
    assert schemas.check(_with(hpa, ("spec", "minReplicas"), 3)) == []
    high = only(schemas.check(_with(hpa, ("spec", "minReplicas"), 5)))
    assert high.message == "spec.maxReplicas: 3 is less than minReplicas 5"
    zero = only(schemas.check(_with(hpa, ("spec", "minReplicas"), 0)))
    assert zero.message == "spec.minReplicas: 0 is not valid: use 1 or more"
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "p"},
           "spec": {"minAvailable": 1, "maxUnavailable": "25%"}}  # fmt: skip
    assert "both set" in only(schemas.check(pdb)).message
    del pdb["spec"]["minAvailable"]
    assert schemas.check(pdb) == []


ODD_VALUES: list[Any] = [None, "", "x", 0, -1, 1.5, True, [], {}, [None], [{"a": [1]}], {"a": {}}]
CORPUS = Path(__file__).resolve().parents[1] / "cluster" / "corpus" / "schema"


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path] if path else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*path, i))
    return out


def test_any_value_anywhere_gives_findings_not_exceptions() -> None:
    """Manifests are untrusted: every node of the valid corpus objects replaced by odd values.

    The API server rules run whatever the schema found (jsonschema itself takes any value).
    """
    objects = [
        doc["object"]
        for path in sorted(CORPUS.glob("*.yaml"))
        for doc in yamlio.load_all(path.read_text(), source=str(path))
        if doc["id"].startswith("valid-") and "object" in doc
    ]
    assert len(objects) >= 20
    checked = 0
    for obj in objects:
        for path in _paths(obj):
            for odd in ODD_VALUES:
                apirules.check(obj["apiVersion"], obj["kind"], _with(obj, path, odd))
                checked += 1
    assert checked > 5000

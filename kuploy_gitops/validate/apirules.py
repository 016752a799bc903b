"""What the API server's validation code refuses that its OpenAPI schemas do not say.

The bundled OpenAPI schemas give types, fields and a few required fields; the API server then
runs Go validation: enum values (case-sensitive), values only some kinds allow (a Job's pods
must not restart ``Always``), fields it requires after decoding ``null`` as "not set", and
quantities it cannot parse (the schemas' Quantity is any string: see :mod:`.schemas`). The facts
here are the Kubernetes API reference's; ``tests/cluster/test_schema_differential.py`` holds
them against the real API server.

Manifests are plain dicts (YAML and JSON readers make nothing else), so nodes are tested with
``isinstance(x, dict)``, several times faster than an ABC check on this per-object path.
A value that is null or an empty string counts as not set (the API server defaults most enums
from an empty value). Every issue is ``schema.invalid``, worded
``<path>: <value> is not one of <allowed>`` or ``<path>: required ...``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kuploy_gitops.quantity import kube_quantity
from kuploy_gitops.validate.apivalues import (
    DATA_KINDS,
    at_least,
    bad,
    check_container,
    check_data_keys,
    check_hpa,
    check_metadata,
    check_port,
    check_port_name,
    check_schedule,
    dns_label,
    dns_subdomain,
    dotted,
    get_path,
    given,
    required,
    show,
)
from kuploy_gitops.validate.findings import SCHEMA_INVALID, Issue
from kuploy_gitops.validate.objects import Path_

# A field path relative to some node; "*" steps into every item of a list.
_Pattern = tuple[str, ...]

_PROTOCOLS = ("TCP", "UDP", "SCTP")
_SECCOMP = ("Localhost", "RuntimeDefault", "Unconfined")
_SELECTOR_OPS = ("In", "NotIn", "Exists", "DoesNotExist")
_ACCESS_MODES = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")
_TARGET_TYPES = ("Utilization", "Value", "AverageValue")

_CONTAINER_ENUMS: dict[_Pattern, tuple[str, ...]] = {
    ("imagePullPolicy",): ("Always", "IfNotPresent", "Never"),
    ("terminationMessagePolicy",): ("File", "FallbackToLogsOnError"),
    ("ports", "*", "protocol"): _PROTOCOLS,
    ("securityContext", "seccompProfile", "type"): _SECCOMP,
    ("securityContext", "procMount"): ("Default", "Unmasked"),
}

_POD_ENUMS: dict[_Pattern, tuple[str, ...]] = {
    ("restartPolicy",): ("Always", "OnFailure", "Never"),
    ("dnsPolicy",): ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"),
    ("preemptionPolicy",): ("Never", "PreemptLowerPriority"),
    ("securityContext", "seccompProfile", "type"): _SECCOMP,
    ("securityContext", "fsGroupChangePolicy"): ("OnRootMismatch", "Always"),
    ("tolerations", "*", "operator"): ("Exists", "Equal"),
    ("tolerations", "*", "effect"): ("NoSchedule", "PreferNoSchedule", "NoExecute"),
    ("topologySpreadConstraints", "*", "whenUnsatisfiable"): ("DoNotSchedule", "ScheduleAnyway"),
}

_PVC_SPEC_ENUMS: dict[_Pattern, tuple[str, ...]] = {
    ("accessModes", "*"): _ACCESS_MODES,
    ("volumeMode",): ("Filesystem", "Block"),
}

_SELECTOR = ("selector", "matchExpressions", "*", "operator")

# (group, kind) -> enum fields from the object's root.
_KIND_ENUMS: dict[tuple[str, str], dict[_Pattern, tuple[str, ...]]] = {
    ("apps", "Deployment"): {
        ("spec", "strategy", "type"): ("Recreate", "RollingUpdate"),
        ("spec", *_SELECTOR): _SELECTOR_OPS,
    },
    ("apps", "StatefulSet"): {
        ("spec", "podManagementPolicy"): ("OrderedReady", "Parallel"),
        ("spec", "updateStrategy", "type"): ("RollingUpdate", "OnDelete"),
        ("spec", *_SELECTOR): _SELECTOR_OPS,
        **{
            ("spec", "volumeClaimTemplates", "*", "spec", *k): v for k, v in _PVC_SPEC_ENUMS.items()
        },
    },
    ("apps", "DaemonSet"): {
        ("spec", "updateStrategy", "type"): ("RollingUpdate", "OnDelete"),
        ("spec", *_SELECTOR): _SELECTOR_OPS,
    },
    ("apps", "ReplicaSet"): {("spec", *_SELECTOR): _SELECTOR_OPS},
    ("batch", "Job"): {
        ("spec", "completionMode"): ("NonIndexed", "Indexed"),
        ("spec", "podReplacementPolicy"): ("TerminatingOrFailed", "Failed"),
    },
    ("batch", "CronJob"): {("spec", "concurrencyPolicy"): ("Allow", "Forbid", "Replace")},
    ("", "Service"): {
        ("spec", "type"): ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"),
        ("spec", "ports", "*", "protocol"): _PROTOCOLS,
        ("spec", "sessionAffinity"): ("ClientIP", "None"),
        ("spec", "externalTrafficPolicy"): ("Cluster", "Local"),
        ("spec", "internalTrafficPolicy"): ("Cluster", "Local"),
        ("spec", "ipFamilyPolicy"): ("SingleStack", "PreferDualStack", "RequireDualStack"),
        ("spec", "ipFamilies", "*"): ("IPv4", "IPv6"),
    },
    ("networking.k8s.io", "Ingress"): {
        ("spec", "rules", "*", "http", "paths", "*", "pathType"): (
            "Exact",
            "Prefix",
            "ImplementationSpecific",
        ),
    },
    ("", "PersistentVolumeClaim"): {("spec", *k): v for k, v in _PVC_SPEC_ENUMS.items()},
    ("autoscaling", "HorizontalPodAutoscaler"): {
        ("spec", "metrics", "*", "type"): (
            "ContainerResource",
            "External",
            "Object",
            "Pods",
            "Resource",
        ),
        **{
            ("spec", "metrics", "*", source, "target", "type"): _TARGET_TYPES
            for source in ("resource", "containerResource", "pods", "object", "external")
        },
        **{
            ("spec", "behavior", way, "selectPolicy"): ("Max", "Min", "Disabled")
            for way in ("scaleUp", "scaleDown")
        },
        **{
            ("spec", "behavior", way, "policies", "*", "type"): ("Pods", "Percent")
            for way in ("scaleUp", "scaleDown")
        },
    },
    ("networking.k8s.io", "NetworkPolicy"): {
        ("spec", "policyTypes", "*"): ("Ingress", "Egress"),
        ("spec", "ingress", "*", "ports", "*", "protocol"): _PROTOCOLS,
        ("spec", "egress", "*", "ports", "*", "protocol"): _PROTOCOLS,
        ("spec", "podSelector", "matchExpressions", "*", "operator"): _SELECTOR_OPS,
    },
    ("policy", "PodDisruptionBudget"): {
        ("spec", "unhealthyPodEvictionPolicy"): ("IfHealthyBudget", "AlwaysAllow"),
        ("spec", *_SELECTOR): _SELECTOR_OPS,
    },
}

# Where each kind keeps its pod template, and the restart policies its pods may have.
_POD_TEMPLATES: dict[tuple[str, str], tuple[Path_, tuple[str, ...]]] = {
    ("", "Pod"): ((), ("Always", "OnFailure", "Never")),
    ("apps", "Deployment"): (("spec", "template"), ("Always",)),
    ("apps", "StatefulSet"): (("spec", "template"), ("Always",)),
    ("apps", "DaemonSet"): (("spec", "template"), ("Always",)),
    ("apps", "ReplicaSet"): (("spec", "template"), ("Always",)),
    ("batch", "Job"): (("spec", "template"), ("OnFailure", "Never")),
    ("batch", "CronJob"): (("spec", "jobTemplate", "spec", "template"), ("OnFailure", "Never")),
}

_WORKLOADS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"})

# The enum fields of a kind as one tree walked once per object: key -> subtree, "*" -> every
# item of a list, a tuple -> the values allowed there. Only keys an object has are visited.
_Tree = dict[str, Any]


def _add(tree: _Tree, pattern: _Pattern, allowed: tuple[str, ...]) -> None:
    *inner, last = pattern
    for key in inner:
        tree = tree.setdefault(key, {})
    tree[last] = allowed


def _kind_tree(key: tuple[str, str]) -> _Tree:
    tree: _Tree = {}
    for pattern, allowed in _KIND_ENUMS.get(key, {}).items():
        _add(tree, pattern, allowed)
    template = _POD_TEMPLATES.get(key)
    if template is not None:
        spec: _Pattern = (*(str(k) for k in template[0]), "spec")
        for pattern, allowed in _POD_ENUMS.items():
            _add(tree, (*spec, *pattern), allowed)
        for field in ("initContainers", "containers", "ephemeralContainers"):
            for pattern, allowed in _CONTAINER_ENUMS.items():
                _add(tree, (*spec, field, "*", *pattern), allowed)
    return tree


_TREES: dict[tuple[str, str], _Tree] = {
    key: _kind_tree(key) for key in {*_KIND_ENUMS, *_POD_TEMPLATES}
}


def check(api_version: str, kind: str, obj: Mapping[str, Any]) -> list[Issue]:
    """The API server's validation-code issues of one built-in object (none for other kinds)."""
    group, _, version = api_version.rpartition("/")
    key = (group, kind)
    out: list[Issue] = []
    check_metadata(obj.get("metadata"), ("metadata",), out)
    if key in DATA_KINDS:
        check_data_keys(obj, out)
    tree = _TREES.get(key)
    if tree is None:
        return out
    _enums(obj, tree, (), out)
    template = _POD_TEMPLATES.get(key)
    if template is not None:
        _pod_template(obj, template[0], template[1], kind, out)
    spec = obj.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    if kind in _WORKLOADS and group == "apps":
        if not given(spec.get("selector")):
            out.append(required(("spec", "selector"), "a label selector"))
        at_least(spec, ("spec",), "replicas", 0, out)
    elif key == ("autoscaling", "HorizontalPodAutoscaler"):
        check_hpa(spec, out)
    elif key == ("policy", "PodDisruptionBudget"):
        if given(spec.get("minAvailable")) and given(spec.get("maxUnavailable")):
            out.append(
                Issue(
                    SCHEMA_INVALID,
                    "spec: minAvailable and maxUnavailable are both set: give only one",
                    ("spec", "maxUnavailable"),
                )
            )
    elif key == ("batch", "CronJob"):
        check_schedule(spec.get("schedule"), out)
    elif key == ("", "Service"):
        _service(obj, out)
    elif key == ("", "PersistentVolumeClaim"):
        _pvc_spec(get_path(obj, ("spec",)), ("spec",), out)
    elif key == ("networking.k8s.io", "Ingress") and version == "v1":
        _ingress(obj, out)
    if key == ("apps", "StatefulSet"):
        claims = get_path(obj, ("spec", "volumeClaimTemplates"))
        for i, claim in enumerate(claims if isinstance(claims, list) else []):
            path: Path_ = ("spec", "volumeClaimTemplates", i, "spec")
            _pvc_spec(get_path(claim, ("spec",)), path, out)
    return out


# -- pieces ------------------------------------------------------------------------------------


def _pod_template(
    obj: Mapping[str, Any], base: Path_, restart: tuple[str, ...], kind: str, out: list[Issue]
) -> None:
    spec_path: Path_ = (*base, "spec")
    spec = get_path(obj, spec_path)
    if not isinstance(spec, dict):
        spec = {}
    policy = spec.get("restartPolicy")
    if len(restart) < 3:
        if not given(policy) and "Always" not in restart:
            out.append(
                required(
                    (*spec_path, "restartPolicy"),
                    f"the pods of a {kind} need one of {show(restart)}",
                )
            )
        elif policy in _POD_ENUMS[("restartPolicy",)] and policy not in restart:
            out.append(
                Issue(
                    SCHEMA_INVALID,
                    f"{dotted((*spec_path, 'restartPolicy'))}: {policy!r} is not allowed "
                    f"for a {kind}'s pods: use {show(restart)}",
                    (*spec_path, "restartPolicy"),
                )
            )
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        out.append(required((*spec_path, "containers"), "at least one container"))
    if base:  # a Pod's own metadata is the object's, checked already
        check_metadata(get_path(obj, (*base, "metadata")), (*base, "metadata"), out)
    volumes = spec.get("volumes")
    if kind == "StatefulSet":  # its claim templates are volumes of its pods too
        claims = get_path(obj, ("spec", "volumeClaimTemplates"))
        volumes = [
            *(volumes if isinstance(volumes, list) else []),
            *(get_path(c, ("metadata",)) for c in (claims if isinstance(claims, list) else [])),
        ]
    volume_names = {
        str(v.get("name"))
        for v in (volumes if isinstance(volumes, list) else [])
        if isinstance(v, dict)
    }
    names: set[str] = set()
    for field in ("initContainers", "containers", "ephemeralContainers"):
        items = spec.get(field)
        if not isinstance(items, list):
            continue
        for i, container in enumerate(items):
            if not isinstance(container, dict):
                continue
            path: Path_ = (*spec_path, field, i)
            for name in ("name", "image"):
                if not given(container.get(name)):
                    out.append(required((*path, name), f"every container needs an {name}"))
            check_container(container, path, names, volume_names, out)
            _resources(container, path, out)


def _resources(container: Mapping[str, Any], path: Path_, out: list[Issue]) -> None:
    resources = container.get("resources")
    if not isinstance(resources, dict):
        return
    values: dict[str, dict[str, tuple[float, Any]]] = {}  # side -> name -> (value, as written)
    for side in ("requests", "limits"):
        entries = resources.get(side)
        if not isinstance(entries, dict):
            continue
        for name, raw in entries.items():
            value = kube_quantity(raw) if isinstance(raw, str | int | float) else None
            if value is None:
                continue  # not a quantity: the schema's finding
            where: Path_ = (*path, "resources", side, str(name))
            if value < 0:
                out.append(
                    Issue(
                        SCHEMA_INVALID,
                        f"{dotted(where)}: {raw!r} is negative: use a quantity of 0 or more",
                        where,
                    )
                )
            values.setdefault(side, {})[str(name)] = (value, raw)
    limits = values.get("limits", {})
    for name, (request, raw) in values.get("requests", {}).items():
        if name in limits and request > limits[name][0]:
            where = (*path, "resources", "requests", name)
            out.append(
                Issue(
                    SCHEMA_INVALID,
                    f"{dotted(where)}: {raw!r} is more than the limit {limits[name][1]!r}: "
                    "a request must be at most its limit",
                    where,
                )
            )


def _service(obj: Mapping[str, Any], out: list[Issue]) -> None:
    spec = get_path(obj, ("spec",))
    spec = spec if isinstance(spec, dict) else {}
    if spec.get("type") == "ExternalName":
        if not given(spec.get("externalName")):
            out.append(required(("spec", "externalName"), "a Service of type ExternalName"))
        return
    if spec.get("clusterIP") == "None":
        return  # a headless Service may have no ports
    ports = spec.get("ports")
    if not isinstance(ports, list) or not ports:
        out.append(required(("spec", "ports"), "at least one port (or clusterIP: None)"))
        return
    seen: set[tuple[str, str]] = set()
    port_names: set[str] = set()
    for i, port in enumerate(ports):
        if not isinstance(port, dict):
            continue
        path: Path_ = ("spec", "ports", i)
        check_port(port.get("port"), (*path, "port"), out)
        target = port.get("targetPort")
        if isinstance(target, str) and target:
            check_port_name(target, (*path, "targetPort"), out)
        elif target is not None:
            check_port(target, (*path, "targetPort"), out)
        name = port.get("name")
        if isinstance(name, str) and name:
            if not dns_label(name):
                out.append(bad(path, "name", name, "a lowercase DNS label (a-z, 0-9, '-')"))
            if name in port_names:
                out.append(bad(path, "name", name, "a name no other port of the Service has"))
            port_names.add(name)
        ident = (str(port.get("port")), str(port.get("protocol") or "TCP"))
        if ident in seen:
            out.append(
                Issue(
                    SCHEMA_INVALID,
                    f"{dotted(path)}: port {ident[0]}/{ident[1]} is given twice",
                    path,
                )
            )
        seen.add(ident)


def _pvc_spec(spec: Any, path: Path_, out: list[Issue]) -> None:
    spec = spec if isinstance(spec, dict) else {}
    modes = spec.get("accessModes")
    if not isinstance(modes, list) or not modes:
        out.append(required((*path, "accessModes"), f"one or more of {show(_ACCESS_MODES)}"))
    if spec.get("dataSource") is None and spec.get("dataSourceRef") is None:
        storage = get_path(spec, ("resources", "requests", "storage"))
        if not given(storage):
            out.append(required((*path, "resources", "requests", "storage"), "a size, e.g. 1Gi"))


def _ingress(obj: Mapping[str, Any], out: list[Issue]) -> None:
    rules = get_path(obj, ("spec", "rules"))
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        host = get_path(rule, ("host",))
        if isinstance(host, str) and host and not dns_subdomain(host.removeprefix("*.")):
            out.append(
                bad(
                    ("spec", "rules", i),
                    "host",
                    host,
                    "a lowercase DNS name (e.g. web.example.com)",
                )
            )
        paths = get_path(rule, ("http", "paths"))
        for j, item in enumerate(paths if isinstance(paths, list) else []):
            where: Path_ = ("spec", "rules", i, "http", "paths", j)
            if not isinstance(item, dict):
                continue
            value = item.get("path")
            if isinstance(value, str) and value and not value.startswith("/"):
                out.append(bad(where, "path", value, "an absolute path (starting with '/')"))
            # Missing or null is the schema's finding; an empty value is not defaulted.
            if item.get("pathType") == "":
                out.append(
                    required(
                        (*where, "pathType"),
                        "one of 'Exact', 'Prefix', 'ImplementationSpecific'",
                    )
                )
            service = get_path(item, ("backend", "service"))
            if isinstance(service, dict):
                port = service.get("port")
                port = port if isinstance(port, dict) else {}
                if not given(port.get("name")) and not given(port.get("number")):
                    out.append(
                        required((*where, "backend", "service", "port"), "a port name or number")
                    )


# -- helpers --------------------------------------------------------------------------------------


def _enums(node: Any, tree: _Tree, path: Path_, out: list[Issue]) -> None:
    """Check ``node`` against the enum tree (see :data:`_TREES`)."""
    if isinstance(node, dict):
        for key, sub in tree.items():
            if key in node:
                _visit(node[key], sub, (*path, key), out)
    elif isinstance(node, list) and "*" in tree:
        sub = tree["*"]
        for i, item in enumerate(node):
            _visit(item, sub, (*path, i), out)


def _visit(value: Any, sub: Any, path: Path_, out: list[Issue]) -> None:
    if isinstance(sub, tuple):
        if isinstance(value, str) and value and value not in sub:
            out.append(_not_one_of(path, value, sub))
    else:
        _enums(value, sub, path, out)


def _not_one_of(path: Path_, value: str, allowed: tuple[str, ...]) -> Issue:
    same = [a for a in allowed if a.lower() == value.lower()]
    hint = f" (case matters: {same[0]!r})" if same else ""
    return Issue(
        SCHEMA_INVALID, f"{dotted(path)}: {value!r} is not one of {show(allowed)}{hint}", path
    )

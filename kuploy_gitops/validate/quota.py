"""Quota and LimitRange admission: effective container resources, and the tenant's totals."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kuploy_gitops.quantity import format_quantity, parse_quantity
from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate import pss
from kuploy_gitops.validate.context import TenantContext
from kuploy_gitops.validate.findings import Issue
from kuploy_gitops.validate.objects import Path_, as_map, group_of, meta

_QUOTA_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def _qty(value: Any) -> float | None:
    try:
        return parse_quantity(str(value))
    except ValueError:
        return None


def effective_resources(
    ctx: TenantContext, c: Mapping[str, Any]
) -> tuple[dict[str, float], dict[str, float]]:
    """(requests, limits) of a container after API defaulting and the LimitRange."""
    res = as_map(c.get("resources"))
    requests = {
        k: v
        for k, v in ((str(k), _qty(v)) for k, v in as_map(res.get("requests")).items())
        if v is not None
    }
    limits = {
        k: v
        for k, v in ((str(k), _qty(v)) for k, v in as_map(res.get("limits")).items())
        if v is not None
    }
    # API defaulting: an explicit limit without a request sets the request.
    for k, v in limits.items():
        requests.setdefault(k, v)
    # LimitRanger: defaults for what is still unset.
    for k, v in ctx.default.items():
        limits.setdefault(k, v)
    for k, v in ctx.default_request.items():
        requests.setdefault(k, v)
    return requests, limits


def check_resources(ctx: TenantContext, spec: Mapping[str, Any], base: Path_) -> list[Issue]:
    """Requests and limits the quota requires (after LimitRange defaults), and the max."""
    out: list[Issue] = []
    for cpath, c in pss.containers(spec):
        if cpath[0] == "ephemeralContainers":
            continue
        cname = c.get("name", cpath[1])
        path = (*base, *cpath, "resources")
        requests, limits = effective_resources(ctx, c)
        for res in _QUOTA_RESOURCES:
            if (f"requests.{res}" in ctx.quota or res in ctx.quota) and res not in requests:
                out.append(
                    Issue(
                        F.QUOTA_REQUESTS,
                        f"container {cname!r} has no {res} request, the quota requires "
                        "one and no LimitRange default supplies it",
                        path,
                    )
                )
            if f"limits.{res}" in ctx.quota and res not in limits:
                out.append(
                    Issue(
                        F.QUOTA_LIMITS,
                        f"container {cname!r} has no {res} limit, the quota requires "
                        "one and no LimitRange default supplies it",
                        path,
                    )
                )
            cap = ctx.max.get(res)
            if cap is not None:
                for what, values in (("limit", limits), ("request", requests)):
                    if values.get(res, 0.0) > cap + 1e-9:
                        out.append(
                            Issue(
                                F.LIMITS_OVER_MAX,
                                f"container {cname!r} {res} {what} "
                                f"{_fmt(res, values[res])} is above the LimitRange max "
                                f"{_fmt(res, cap)}",
                                path,
                            )
                        )
                        break
    return out


def _fmt(res: str, value: float) -> str:
    return format_quantity("memory" if res != "cpu" else "cpu", value)


def replicas(obj: Mapping[str, Any]) -> int:
    """How many pods a workload runs at steady state (DaemonSet counted once per node: 1)."""
    kind = obj.get("kind")
    spec = as_map(obj.get("spec"))
    if kind in ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"):
        value = spec.get("replicas", 1)
    elif kind == "Job":
        value = spec.get("parallelism", 1)
    elif kind == "CronJob":
        value = as_map(as_map(spec.get("jobTemplate")).get("spec")).get("parallelism", 1)
    else:
        value = 1
    return value if isinstance(value, int) and value >= 0 else 1


def pod_usage(ctx: TenantContext, pod_spec: Mapping[str, Any]) -> dict[str, float]:
    """Quota usage of one pod: max(sum of containers, largest init container) per resource."""
    usage: dict[str, float] = {}
    init: dict[str, float] = {}
    for cpath, c in pss.containers(pod_spec):
        if cpath[0] == "ephemeralContainers":
            continue
        requests, limits = effective_resources(ctx, c)
        target = init if cpath[0] == "initContainers" else usage
        for prefix, values in (("requests", requests), ("limits", limits)):
            for res, v in values.items():
                key = f"{prefix}.{res}"
                if target is init:
                    target[key] = max(target.get(key, 0.0), v)
                else:
                    target[key] = target.get(key, 0.0) + v
    for key, v in init.items():
        usage[key] = max(usage.get(key, 0.0), v)
    for res in _QUOTA_RESOURCES:
        if f"requests.{res}" in usage:
            usage[res] = usage[f"requests.{res}"]
    return usage


def _storage_request(spec: Any) -> float | None:
    """``resources.requests.storage`` of a PVC spec (or claim template spec), parsed."""
    return _qty(as_map(as_map(as_map(spec).get("resources")).get("requests")).get("storage"))


def object_usage(ctx: TenantContext, obj: Mapping[str, Any]) -> dict[str, float]:
    """What one object adds to the namespace's quota usage (resources and counts)."""
    kind = str(obj.get("kind", ""))
    group = group_of(obj)
    usage: dict[str, float] = {}
    plural = _PLURALS.get(kind)
    if plural:
        usage[f"count/{plural}{'.' + group if group else ''}"] = 1.0
    if not group and kind in _CORE_COUNTS:
        usage[_CORE_COUNTS[kind]] = 1.0
    if kind == "Service" and not group:
        stype = as_map(obj.get("spec")).get("type", "ClusterIP")
        if stype in ("NodePort", "LoadBalancer"):
            usage["services.nodeports"] = 1.0
        if stype == "LoadBalancer":
            usage["services.loadbalancers"] = 1.0
    if kind == "PersistentVolumeClaim" and not group:
        usage["requests.storage"] = _storage_request(obj.get("spec")) or 0.0
    template = pss.pod_template(obj)
    if template is not None and kind not in ("CronJob",):
        n = replicas(obj)
        for key, v in pod_usage(ctx, template[2]).items():
            usage[key] = usage.get(key, 0.0) + n * v
        usage["pods"] = usage.get("pods", 0.0) + n
        if kind == "StatefulSet":
            for claim in as_map(obj.get("spec")).get("volumeClaimTemplates") or []:
                size = _storage_request(as_map(claim).get("spec"))
                usage["requests.storage"] = usage.get("requests.storage", 0.0) + n * (size or 0)
                usage["persistentvolumeclaims"] = usage.get("persistentvolumeclaims", 0.0) + n
    return usage


_CORE_COUNTS = {
    "Service": "services",
    "ConfigMap": "configmaps",
    "Secret": "secrets",
    "PersistentVolumeClaim": "persistentvolumeclaims",
    "ReplicationController": "replicationcontrollers",
}

_PLURALS = {
    "Deployment": "deployments",
    "StatefulSet": "statefulsets",
    "DaemonSet": "daemonsets",
    "ReplicaSet": "replicasets",
    "Job": "jobs",
    "CronJob": "cronjobs",
    "Ingress": "ingresses",
    "Service": "services",
    "ConfigMap": "configmaps",
    "Secret": "secrets",
    "PersistentVolumeClaim": "persistentvolumeclaims",
    "Pod": "pods",
}

# Quota keys with a rule of their own (quota.nodeport / quota.loadbalancer).
_OWN_RULE = frozenset({"services.nodeports", "services.loadbalancers"})

# Objects every namespace has without anyone committing them (they count against the quota).
BUILTIN_USAGE = {"configmaps": 1.0, "count/configmaps": 1.0}


def quota_overflows(
    ctx: TenantContext, objs: Iterable[tuple[Any, Mapping[str, Any]]]
) -> list[tuple[Any, Issue]]:
    """Where the tenant's summed usage first passes a quota value: (object key, issue)."""
    totals: dict[str, float] = dict(BUILTIN_USAGE)
    reported: set[str] = set()
    out: list[tuple[Any, Issue]] = []
    for key, obj in objs:
        for res, value in object_usage(ctx, obj).items():
            totals[res] = totals.get(res, 0.0) + value
            hard = ctx.quota.get(res)
            if res in _OWN_RULE or hard is None or res in reported or totals[res] <= hard + 1e-9:
                continue
            reported.add(res)
            out.append(
                (
                    key,
                    Issue(
                        F.QUOTA_EXCEEDED,
                        f"{res}: the tenant's objects need {_show(res, totals[res])} "
                        f"(counting up to {obj.get('kind')} {meta(obj).get('name')!r}), over the "
                        f"ResourceQuota's {ctx.quota_text.get(res, _show(res, hard))}",
                        ("spec",),
                    ),
                )
            )
    return out


def _show(res: str, value: float) -> str:
    if res.endswith("cpu") or res == "cpu":
        return format_quantity("cpu", value)
    if any(x in res for x in ("memory", "storage")):
        return format_quantity("memory", value)
    return f"{value:g}"

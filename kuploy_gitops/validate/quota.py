"""Quota and LimitRange admission: effective container resources, and the tenant's totals."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from kuploy_gitops.quantity import format_quantity, parse_quantity
from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate import pss
from kuploy_gitops.validate.context import TenantContext
from kuploy_gitops.validate.findings import Issue
from kuploy_gitops.validate.objects import Path_, as_map, group_of, meta

_QUOTA_RESOURCES = ("cpu", "memory", "ephemeral-storage")
# The only resources a quota makes every container state (the quota admission's rule, kept for
# compatibility); a container without an ephemeral-storage value simply uses none of it.
_REQUIRED = frozenset({"cpu", "memory"})


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
            required = res in _REQUIRED
            if (
                required
                and (f"requests.{res}" in ctx.quota or res in ctx.quota)
                and res not in requests
            ):
                out.append(
                    Issue(
                        F.QUOTA_REQUESTS,
                        f"container {cname!r} has no {res} request, the quota requires "
                        "one and no LimitRange default supplies it",
                        path,
                    )
                )
            if required and f"limits.{res}" in ctx.quota and res not in limits:
                out.append(
                    Issue(
                        F.QUOTA_LIMITS,
                        f"container {cname!r} has no {res} limit, the quota requires "
                        "one and no LimitRange default supplies it",
                        path,
                    )
                )
            # A request above the container's own limit is the schema check's (apirules); here
            # only the limit the LimitRange gives a container that states none.
            if (
                res in requests
                and res in limits
                and requests[res] > limits[res] + 1e-9
                and res not in _explicit(c, "limits")
            ):
                out.append(
                    Issue(
                        F.LIMITS_REQUEST_OVER_LIMIT,
                        f"container {cname!r} {res} request {_fmt(res, requests[res])} is above "
                        f"the LimitRange default limit {_fmt(res, limits[res])}",
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


def _explicit(c: Mapping[str, Any], which: str) -> Mapping[str, Any]:
    """The container's own ``resources.<which>`` (before any defaulting)."""
    return as_map(as_map(c.get("resources")).get(which))


def _fmt(res: str, value: float) -> str:
    return format_quantity("memory" if res != "cpu" else "cpu", value)


def replicas(obj: Mapping[str, Any]) -> int:
    """How many pods a workload runs at steady state (DaemonSet counted once per node: 1)."""
    kind = obj.get("kind")
    spec = as_map(obj.get("spec"))
    if kind in ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"):
        value = spec.get("replicas", 1)
    elif kind == "Job":
        return job_pods(spec)
    elif kind == "CronJob":
        return job_pods(as_map(as_map(spec.get("jobTemplate")).get("spec")))
    else:
        value = 1
    return value if isinstance(value, int) and value >= 0 else 1


def job_pods(spec: Mapping[str, Any]) -> int:
    """Pods a Job runs at once: its parallelism, never more than its completions; none suspended."""
    if spec.get("suspend") is True:
        return 0
    value = spec.get("parallelism", 1)
    pods = value if isinstance(value, int) and value >= 0 else 1
    completions = spec.get("completions")
    if isinstance(completions, int) and completions >= 0:
        pods = min(pods, completions)
    return pods


def pod_usage(ctx: TenantContext, pod_spec: Mapping[str, Any]) -> dict[str, float]:
    """Quota usage of one pod per resource, as the quota admission computes it.

    The app containers and the sidecars (init containers with ``restartPolicy: Always``, which
    keep running) are summed; an ordinary init container runs alone, next to the sidecars
    started before it, so the pod uses the larger of that sum and its largest init step.
    """
    usage: dict[str, float] = {}
    init: dict[str, float] = {}
    sidecars: dict[str, float] = {}
    for cpath, c in pss.containers(pod_spec):
        if cpath[0] == "ephemeralContainers":
            continue
        requests, limits = effective_resources(ctx, c)
        values = {
            f"{prefix}.{res}": v
            for prefix, by_res in (("requests", requests), ("limits", limits))
            for res, v in by_res.items()
        }
        if cpath[0] != "initContainers":
            for key, v in values.items():
                usage[key] = usage.get(key, 0.0) + v
            continue
        sidecar = c.get("restartPolicy") == "Always"
        if sidecar:
            for key, v in values.items():
                usage[key] = usage.get(key, 0.0) + v
                sidecars[key] = sidecars.get(key, 0.0) + v
        step = dict(sidecars) if sidecar else dict(values)
        if not sidecar:
            for key, v in sidecars.items():
                step[key] = step.get(key, 0.0) + v
        for key, v in step.items():
            init[key] = max(init.get(key, 0.0), v)
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
    own, per_pod, n = usage_parts(ctx, obj)
    usage = dict(own)
    for key, v in per_pod.items():
        usage[key] = usage.get(key, 0.0) + n * v
    return usage


def usage_parts(
    ctx: TenantContext, obj: Mapping[str, Any]
) -> tuple[dict[str, float], dict[str, float], int]:
    """(what the object itself uses, what each of its pods uses, how many pods it makes).

    A Pod is its own usage (no pods made); a controller's pods come with its replicas (a
    StatefulSet's with their claims); a CronJob makes no standing pods.
    """
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
    if template is None or kind in ("CronJob",):
        return usage, {}, 0
    pod = pod_usage(ctx, template[2])
    pod["pods"] = 1.0
    if kind == "Pod":
        for key, v in pod.items():
            usage[key] = usage.get(key, 0.0) + v
        return usage, {}, 0
    if kind == "StatefulSet":
        for claim in as_map(obj.get("spec")).get("volumeClaimTemplates") or []:
            size = _storage_request(as_map(claim).get("spec"))
            pod["requests.storage"] = pod.get("requests.storage", 0.0) + (size or 0)
            pod["persistentvolumeclaims"] = pod.get("persistentvolumeclaims", 0.0) + 1
    return usage, pod, replicas(obj)


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
    """The objects the quota admission refuses when they are created in this order.

    As the cluster does: an object that does not fit what the objects before it left is refused
    and uses nothing; a controller's pods are made one at a time until one does not fit (those
    that fit stay and use the quota, the controller is reported); pods the LimitRange or the
    quota's required values refuse (:func:`check_resources`, reported there) are never made.
    Returns (object key, issue) for each resource over the quota, per refused object.
    """
    used: dict[str, float] = dict(BUILTIN_USAGE)
    out: list[tuple[Any, Issue]] = []
    for key, obj in objs:
        own, per_pod, n = usage_parts(ctx, obj)
        template = pss.pod_template(obj)
        if template is not None and check_resources(ctx, template[2], ()):
            if obj.get("kind") == "Pod":
                continue  # refused by the LimitRange, or for a value the quota requires
            n = 0
        over = _over(ctx, used, own)
        if over:
            # Node ports and load balancers refuse too; their own rules report them.
            out += [
                (key, _exceeded(ctx, obj, res, used.get(res, 0.0) + own[res]))
                for res in over
                if res not in _OWN_RULE
            ]
            continue
        _add(used, own)
        fit = _fitting(ctx, used, per_pod, n)
        pods = {k: fit * v for k, v in per_pod.items()}
        if fit < n:
            after = dict(used)
            _add(after, pods)
            out += [
                (key, _exceeded(ctx, obj, res, used.get(res, 0.0) + n * per_pod[res], n, fit))
                for res in _over(ctx, after, per_pod)
            ]
        _add(used, pods)
    return out


def _add(used: dict[str, float], usage: Mapping[str, float]) -> None:
    for res, v in usage.items():
        used[res] = used.get(res, 0.0) + v


def _over(ctx: TenantContext, used: Mapping[str, float], usage: Mapping[str, float]) -> list[str]:
    """The quota's resources that ``usage`` on top of ``used`` would pass."""
    return sorted(
        res
        for res, v in usage.items()
        if res in ctx.quota and v > 0 and used.get(res, 0.0) + v > ctx.quota[res] + 1e-9
    )


def _fitting(
    ctx: TenantContext, used: Mapping[str, float], per_pod: Mapping[str, float], n: int
) -> int:
    """How many of ``n`` pods of ``per_pod`` fit in what ``used`` leaves of the quota."""
    fit = n
    for res, v in per_pod.items():
        hard = ctx.quota.get(res)
        if hard is not None and v > 0:
            fit = min(fit, max(0, math.floor((hard - used.get(res, 0.0)) / v + 1e-9)))
    return fit


def _exceeded(
    ctx: TenantContext, obj: Mapping[str, Any], res: str, need: float, n: int = 0, fit: int = 0
) -> Issue:
    """``res`` over the quota: what the objects up to ``obj`` need, how many of its pods fit."""
    what = f"{obj.get('kind')} {meta(obj).get('name')!r}"
    if n > 1:
        what += f"; {fit} of its {n} pods fit"
    return Issue(
        F.QUOTA_EXCEEDED,
        f"{res}: the tenant's objects need {_show(res, need)} (counting up to {what}), over the "
        f"ResourceQuota's {ctx.quota_text.get(res, _show(res, ctx.quota[res]))}",
        ("spec",),
    )


def _show(res: str, value: float) -> str:
    if res.endswith("cpu") or res == "cpu":
        return format_quantity("cpu", value)
    if any(x in res for x in ("memory", "storage")):
        return format_quantity("memory", value)
    return f"{value:g}"

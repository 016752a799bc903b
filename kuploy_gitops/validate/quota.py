"""Quota and LimitRange admission: effective container resources, and the tenant's totals."""

from __future__ import annotations

import math
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from kuploy_gitops.quantity import format_quantity, kube_quantity
from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate import hooks, pss, quota_cnpg
from kuploy_gitops.validate.context import ScopedQuota, TenantContext
from kuploy_gitops.validate.findings import Issue
from kuploy_gitops.validate.objects import Path_, as_map, group_of, meta
from kuploy_gitops.validate.quota_pods import effective_resources as effective_resources
from kuploy_gitops.validate.quota_pods import scope_matches as scope_matches

_QUOTA_RESOURCES = ("cpu", "memory", "ephemeral-storage")
# The only resources a quota makes every container state (the quota admission's rule, kept for
# compatibility); a container without an ephemeral-storage value simply uses none of it.
_REQUIRED = frozenset({"cpu", "memory"})


def check_resources(ctx: TenantContext, spec: Mapping[str, Any], base: Path_) -> list[Issue]:
    """Requests and limits the quota requires (after LimitRange defaults), and the max."""
    out: list[Issue] = []
    # Every quota that counts the pod requires the values it caps (a scoped one only if its
    # scopes match the pod).
    capped = set(ctx.quota)
    for scoped in ctx.scoped_quotas:
        if scope_matches(ctx, scoped, spec):
            capped.update(scoped.hard)
    for cpath, c in pss.containers(spec):
        if cpath[0] == "ephemeralContainers":
            continue
        cname = c.get("name", cpath[1])
        path = (*base, *cpath, "resources")
        requests, limits = effective_resources(ctx, c)
        for res in _QUOTA_RESOURCES:
            required = res in _REQUIRED
            if required and (f"requests.{res}" in capped or res in capped) and res not in requests:
                out.append(
                    Issue(
                        F.QUOTA_REQUESTS,
                        f"container {cname!r} has no {res} request, the quota requires "
                        "one and no LimitRange default supplies it",
                        path,
                    )
                )
            if required and f"limits.{res}" in capped and res not in limits:
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
    requests = as_map(as_map(as_map(spec).get("resources")).get("requests"))
    size = kube_quantity(requests.get("storage"))
    return size if size is not None and size >= 0 else None


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
    if quota_cnpg.is_cluster(obj):  # its instances: pods and claims, like a StatefulSet's
        pod = pod_usage(ctx, quota_cnpg.instance_pod(obj))
        claims, storage = quota_cnpg.instance_volumes(obj)
        pod.update({"pods": 1.0, "persistentvolumeclaims": claims, "requests.storage": storage})
        return {**usage, **quota_cnpg.operator_objects()}, pod, quota_cnpg.instances(obj)
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


@dataclass
class _Ledger:
    """One quota's caps and what the objects admitted so far use of them."""

    hard: Mapping[str, float]
    text: Mapping[str, str]
    used: dict[str, float]
    scoped: ScopedQuota | None = None
    # What of ``used`` the tenant's objects outside the checked folder use (see Running).
    running: dict[str, float] = field(default_factory=dict)

    def copy(self) -> _Ledger:
        """The same quota with its usage so far, to admit a hook group on top of it."""
        return replace(self, used=dict(self.used))


@dataclass(frozen=True)
class Running:
    """The tenant's objects already in its namespace, outside what is checked (its other apps).

    They hold their share of the quota before the checked objects come (their own findings are
    another run's). ``label`` names them in a message ("the tenant's other apps in the platform
    repo (web)"); ``note`` says what could not be counted, for every quota.exceeded message.
    """

    objects: Sequence[Mapping[str, Any]]
    label: str
    note: str = ""


# What LimitRange and quota admission refuse in a pod (check_resources): such pods are never made.
POD_REFUSING_RULES = frozenset(
    {F.QUOTA_REQUESTS, F.QUOTA_LIMITS, F.LIMITS_REQUEST_OVER_LIMIT, F.LIMITS_OVER_MAX}
)


def quota_overflows(
    ctx: TenantContext,
    objs: Iterable[tuple[Any, Mapping[str, Any]]],
    *,
    running: Running | None = None,
    refused: Container[Any] | None = None,
) -> list[tuple[Any, Issue]]:
    """The objects the quota admission refuses when they are created in this order.

    As the cluster does: an object that does not fit what the objects before it left is refused
    and uses nothing; a controller's pods are made one at a time until one does not fit (those
    that fit stay and use the quota, the controller is reported); pods the LimitRange or the
    quota's required values refuse (:func:`check_resources`, reported there) are never made.
    Every quota must admit: the tenant's unscoped caps (:attr:`TenantContext.quota`) count
    everything, a scoped quota only the pods its scopes match.

    Argo CD hooks (:mod:`.hooks`) are not steady state: each group of hooks that run together
    (same phase and wave) is admitted on top of the steady state on its own, and the groups never
    add up; a hook that stays after it completes (a Job not deleted on success) keeps counting
    as an object, not its finished pods. ``running`` objects come first and are never reported.
    ``refused``: keys of objects whose pods :func:`check_resources` refuses, when the caller
    has checked them already (None: checked here).
    Returns (object key, issue) for each resource over a quota, per refused object.
    """
    main = _Ledger(ctx.quota, ctx.quota_text, dict(BUILTIN_USAGE))
    scoped = [_Ledger(q.hard, q.hard_text, {}, q) for q in ctx.scoped_quotas]
    admission = _Admission(ctx, refused, running)
    if running is not None:
        before = [dict(q.used) for q in (main, *scoped)]
        theirs = hooks.plan((None, obj) for obj in running.objects)
        for _, obj in theirs.steady:
            admission.admit(main, scoped, None, obj)
        for _, obj in theirs.lasting:
            admission.admit(main, scoped, None, obj, pods=False)
        for q, was in zip((main, *scoped), before, strict=True):
            q.running = {k: v - was.get(k, 0.0) for k, v in q.used.items()}
    sync = hooks.plan(objs)
    for key, obj in sync.steady:
        admission.admit(main, scoped, key, obj)
    for key, obj in sync.lasting:
        admission.admit(main, scoped, key, obj, pods=False)
    for (phase, wave), members in sync.groups.items():
        group_main, group_scoped = main.copy(), [q.copy() for q in scoped]
        during = f", while the {phase} hooks of wave {wave} run"
        for key, obj, lasting in members:
            admission.admit(group_main, group_scoped, key, obj, own=not lasting, during=during)
    return admission.out


class _Admission:
    """Admits objects into ledgers one at a time, collecting what the quota refuses."""

    def __init__(
        self, ctx: TenantContext, refused: Container[Any] | None, running: Running | None
    ) -> None:
        self.ctx = ctx
        self.refused = refused
        self.running = running
        self.out: list[tuple[Any, Issue]] = []

    def pods_refused(self, key: Any, pod_spec: Mapping[str, Any]) -> bool:
        """Whether the LimitRange or a value the quota requires refuses the object's pods."""
        if self.refused is not None and key is not None:
            return key in self.refused
        return bool(check_resources(self.ctx, pod_spec, ()))

    def admit(
        self,
        main: _Ledger,
        scoped: list[_Ledger],
        key: Any,
        obj: Mapping[str, Any],
        *,
        own: bool = True,
        pods: bool = True,
        during: str = "",
    ) -> None:
        """Admit ``obj`` (its own usage unless not ``own``, its pods unless not ``pods``)."""
        ctx = self.ctx
        mine, per_pod, n = usage_parts(ctx, obj)
        mine = mine if own else {}
        n = n if pods else 0
        template = pss.pod_template(obj)
        pod_spec: Mapping[str, Any] = template[2] if template is not None else {}
        if template is not None and self.pods_refused(key, pod_spec):
            if obj.get("kind") == "Pod":
                return  # refused by the LimitRange, or for a value the quota requires
            n = 0
        counting = [main]
        if template is not None:
            counting += [q for q in scoped if q.scoped and scope_matches(ctx, q.scoped, pod_spec)]
        # A Pod's own usage is a pod's: every quota that matches it counts it.
        own_ledgers = counting if obj.get("kind") == "Pod" else [main]
        over = [(q, res) for q in own_ledgers for res in _over(q, q.used, mine)]
        if over:
            # Node ports and load balancers refuse too; their own rules report them.
            for q, res in over:
                if res not in _OWN_RULE:
                    self.report(key, q, obj, res, q.used.get(res, 0.0) + mine[res], during)
            return
        for q in own_ledgers:
            _add(q.used, mine)
        fit = min(_fitting(q, per_pod, n) for q in counting)
        made = {k: fit * v for k, v in per_pod.items()}
        for q in counting:
            if fit < n:
                after = dict(q.used)
                _add(after, made)
                for res in _over(q, after, per_pod):
                    need = q.used.get(res, 0.0) + n * per_pod[res]
                    self.report(key, q, obj, res, need, during, n, fit)
            _add(q.used, made)

    def report(
        self,
        key: Any,
        q: _Ledger,
        obj: Mapping[str, Any],
        res: str,
        need: float,
        during: str,
        n: int = 0,
        fit: int = 0,
    ) -> None:
        """``res`` over the quota ``q`` at ``obj`` (objects without a key are not reported)."""
        if key is None:
            return
        issue = _exceeded(q, obj, res, need, n, fit, during)
        theirs = q.running.get(res, 0.0)
        extra = ""
        if self.running is not None:
            if theirs > 1e-9:
                extra += f"; {self.running.label} use {_show(res, theirs)} of it"
            if self.running.note:
                extra += f"; {self.running.note}"
        if extra:
            issue = Issue(issue.rule, issue.message + extra, issue.path)
        self.out.append((key, issue))


def _add(used: dict[str, float], usage: Mapping[str, float]) -> None:
    for res, v in usage.items():
        used[res] = used.get(res, 0.0) + v


def _over(q: _Ledger, used: Mapping[str, float], usage: Mapping[str, float]) -> list[str]:
    """The quota's resources that ``usage`` on top of ``used`` would pass."""
    return sorted(
        res
        for res, v in usage.items()
        if res in q.hard and v > 0 and used.get(res, 0.0) + v > q.hard[res] + 1e-9
    )


def _fitting(q: _Ledger, per_pod: Mapping[str, float], n: int) -> int:
    """How many of ``n`` pods of ``per_pod`` fit in what the quota's usage leaves."""
    fit = n
    for res, v in per_pod.items():
        hard = q.hard.get(res)
        if hard is not None and v > 0:
            fit = min(fit, max(0, math.floor((hard - q.used.get(res, 0.0)) / v + 1e-9)))
    return fit


def _exceeded(
    q: _Ledger,
    obj: Mapping[str, Any],
    res: str,
    need: float,
    n: int = 0,
    fit: int = 0,
    during: str = "",
) -> Issue:
    """``res`` over the quota: what the objects up to ``obj`` need, how many of its pods fit."""
    what = f"{obj.get('kind')} {meta(obj).get('name')!r}"
    if n > 1:
        what += f"; {fit} of its {n} pods fit"
    cap = q.text.get(res, _show(res, q.hard[res]))
    if q.scoped is None:
        quota = f"the ResourceQuota's {cap}"
    else:
        quota = f"{cap} of ResourceQuota {q.scoped.name!r} ({_scope_text(q.scoped)})"
    return Issue(
        F.QUOTA_EXCEEDED,
        f"{res}: the tenant's objects need {_show(res, need)} (counting up to {what}{during}), "
        f"over {quota}",
        ("spec",),
    )


def _scope_text(quota: ScopedQuota) -> str:
    """The pods a scoped quota counts, in words."""
    parts = []
    for name, op, values in quota.requirements:
        if name == "PriorityClass" and op in ("In", "NotIn"):
            verb = "is one of" if op == "In" else "is none of"
            parts.append(f"priorityClassName {verb} {', '.join(values)}")
        else:
            parts.append(f"{name} {op} {', '.join(values)}".strip())
    return "pods whose " + " and ".join(parts) if parts else "pods"


def _show(res: str, value: float) -> str:
    if res.endswith("cpu") or res == "cpu":
        return format_quantity("cpu", value)
    if any(x in res for x in ("memory", "storage")):
        return format_quantity("memory", value)
    return f"{value:g}"

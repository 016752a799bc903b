"""What a pod asks of the quota: its containers' resources after defaulting, and its scopes.

The two facts every quota check starts from (:mod:`.quota` sums them per object and per tenant):
a container's requests and limits as the API server stores them (API defaulting, then the
LimitRange's defaults), and whether a scoped ResourceQuota counts the pod at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kuploy_gitops.quantity import kube_quantities
from kuploy_gitops.validate import pss
from kuploy_gitops.validate.context import ScopedQuota, TenantContext
from kuploy_gitops.validate.objects import as_map


def effective_resources(
    ctx: TenantContext, c: Mapping[str, Any]
) -> tuple[dict[str, float], dict[str, float]]:
    """(requests, limits) of a container after API defaulting and the LimitRange."""
    res = as_map(c.get("resources"))
    requests = kube_quantities(res.get("requests"))
    limits = kube_quantities(res.get("limits"))
    # API defaulting: an explicit limit without a request sets the request.
    for k, v in limits.items():
        requests.setdefault(k, v)
    # LimitRanger: defaults for what is still unset.
    for k, v in ctx.default.items():
        limits.setdefault(k, v)
    for k, v in ctx.default_request.items():
        requests.setdefault(k, v)
    return requests, limits


def scope_matches(ctx: TenantContext, quota: ScopedQuota, pod_spec: Mapping[str, Any]) -> bool:
    """Whether a pod is counted by a scoped quota: every one of its scopes matches the pod.

    The scopes of the quota admission (``PriorityClass`` with label-selector semantics on the
    pod's ``priorityClassName``); a scope this emulation does not know matches nothing.
    """
    return all(
        _scope_matches(ctx, name, op, values, pod_spec) for name, op, values in quota.requirements
    )


def _scope_matches(
    ctx: TenantContext, name: str, op: str, values: tuple[str, ...], pod: Mapping[str, Any]
) -> bool:
    if name == "PriorityClass":
        klass = pod.get("priorityClassName") or ""
        if op == "In":
            return bool(klass) and klass in values
        if op == "NotIn":
            return not klass or klass not in values
        if op == "Exists":
            return bool(klass)
        return op == "DoesNotExist" and not klass
    matched: bool
    if name in ("Terminating", "NotTerminating"):
        deadline = pod.get("activeDeadlineSeconds")
        matched = isinstance(deadline, int) and deadline >= 0
        matched = matched if name == "Terminating" else not matched
    elif name in ("BestEffort", "NotBestEffort"):
        matched = _best_effort(ctx, pod)
        matched = matched if name == "BestEffort" else not matched
    elif name == "CrossNamespacePodAffinity":
        matched = _cross_namespace_affinity(pod)
    else:
        return False
    # These scopes are plain names (``spec.scopes``) or ``Exists``/``DoesNotExist``.
    return matched if op == "Exists" else (op == "DoesNotExist" and not matched)


def _best_effort(ctx: TenantContext, pod: Mapping[str, Any]) -> bool:
    """QoS class BestEffort: no container states (or is defaulted) a cpu or memory value."""
    for cpath, c in pss.containers(pod):
        if cpath[0] == "ephemeralContainers":
            continue
        for values in effective_resources(ctx, c):
            if "cpu" in values or "memory" in values:
                return False
    return True


def _cross_namespace_affinity(pod: Mapping[str, Any]) -> bool:
    """A pod (anti-)affinity term that names namespaces or selects them."""
    affinity = as_map(pod.get("affinity"))
    for kind in ("podAffinity", "podAntiAffinity"):
        a = as_map(affinity.get(kind))
        terms = list(a.get("requiredDuringSchedulingIgnoredDuringExecution") or [])
        terms += [
            as_map(t).get("podAffinityTerm")
            for t in a.get("preferredDuringSchedulingIgnoredDuringExecution") or []
        ]
        for term in terms:
            t = as_map(term)
            if t.get("namespaces") or "namespaceSelector" in t:
                return True
    return False

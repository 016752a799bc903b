"""Which apiVersions and kinds Kubernetes serves: removed APIs, and misspelt groups and kinds.

A kind without a schema is not always a mistake: it may be a CRD of the cluster. It is an error
only when no API server can serve it: a kind or version that a Kubernetes group lacks, a group
without a dot (a custom resource's group always has one), or a group a letter or two from a
Kubernetes group with as many dots (a typo). The served kinds come from the bundled definitions.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from kuploy_gitops.validate.findings import SCHEMA_INVALID, Issue

# (group/version or version, kind or "*") -> (removed in minor version, replacement)
REMOVED_APIS: dict[tuple[str, str], tuple[int, str]] = {
    ("extensions/v1beta1", "Ingress"): (22, "networking.k8s.io/v1 Ingress"),
    ("networking.k8s.io/v1beta1", "Ingress"): (22, "networking.k8s.io/v1 Ingress"),
    ("networking.k8s.io/v1beta1", "IngressClass"): (22, "networking.k8s.io/v1 IngressClass"),
    ("extensions/v1beta1", "Deployment"): (16, "apps/v1 Deployment"),
    ("extensions/v1beta1", "DaemonSet"): (16, "apps/v1 DaemonSet"),
    ("extensions/v1beta1", "ReplicaSet"): (16, "apps/v1 ReplicaSet"),
    ("extensions/v1beta1", "NetworkPolicy"): (16, "networking.k8s.io/v1 NetworkPolicy"),
    ("extensions/v1beta1", "PodSecurityPolicy"): (16, "Pod Security Admission labels"),
    ("apps/v1beta1", "*"): (16, "apps/v1"),
    ("apps/v1beta2", "*"): (16, "apps/v1"),
    ("batch/v1beta1", "CronJob"): (25, "batch/v1 CronJob"),
    ("batch/v2alpha1", "CronJob"): (21, "batch/v1 CronJob"),
    ("policy/v1beta1", "PodDisruptionBudget"): (25, "policy/v1 PodDisruptionBudget"),
    ("policy/v1beta1", "PodSecurityPolicy"): (25, "Pod Security Admission namespace labels"),
    ("autoscaling/v2beta1", "HorizontalPodAutoscaler"): (25, "autoscaling/v2"),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler"): (26, "autoscaling/v2"),
    ("rbac.authorization.k8s.io/v1beta1", "*"): (22, "rbac.authorization.k8s.io/v1"),
    ("rbac.authorization.k8s.io/v1alpha1", "*"): (22, "rbac.authorization.k8s.io/v1"),
    ("apiextensions.k8s.io/v1beta1", "*"): (22, "apiextensions.k8s.io/v1"),
    ("admissionregistration.k8s.io/v1beta1", "*"): (22, "admissionregistration.k8s.io/v1"),
    ("apiregistration.k8s.io/v1beta1", "*"): (22, "apiregistration.k8s.io/v1"),
    ("scheduling.k8s.io/v1beta1", "*"): (22, "scheduling.k8s.io/v1"),
    ("scheduling.k8s.io/v1alpha1", "*"): (22, "scheduling.k8s.io/v1"),
    ("coordination.k8s.io/v1beta1", "*"): (22, "coordination.k8s.io/v1"),
    ("certificates.k8s.io/v1beta1", "*"): (22, "certificates.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "CSIStorageCapacity"): (27, "storage.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "*"): (22, "storage.k8s.io/v1"),
    ("discovery.k8s.io/v1beta1", "*"): (25, "discovery.k8s.io/v1"),
    ("events.k8s.io/v1beta1", "*"): (25, "events.k8s.io/v1"),
    ("node.k8s.io/v1beta1", "*"): (25, "node.k8s.io/v1"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "*"): (26, "flowcontrol.apiserver.k8s.io/v1"),
    ("flowcontrol.apiserver.k8s.io/v1beta2", "*"): (29, "flowcontrol.apiserver.k8s.io/v1"),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "*"): (32, "flowcontrol.apiserver.k8s.io/v1"),
}

# Kinds every group version lists in the definitions (not served objects).
GENERIC_KINDS = frozenset({"DeleteOptions", "WatchEvent"})
# What the API server serves: the group/version/kind triples of the definitions document.
_GVK = re.compile(r'"group": "([^"]*)",\s*"kind": "([^"]*)",\s*"version": "([^"]*)"')


def served(definitions_text: str) -> frozenset[tuple[str, str, str]]:
    """(group, version, kind) of every kind of a Kubernetes definitions document."""
    return frozenset((g, v, k) for g, k, v in _GVK.findall(definitions_text))


def unserved(
    api_version: str,
    kind: str,
    served_kinds: frozenset[tuple[str, str, str]],
    version_name: str,
    has_crd_group: Callable[[str], bool],
) -> Issue | None:
    """An error when no Kubernetes API server can serve (apiVersion, kind), else None.

    That is a kind or version missing from a group Kubernetes itself serves, a group
    without a dot (the group of a custom resource always has one), or a group one or two
    letters away from a Kubernetes group with as many dots. Other unknown groups may be a
    cluster's CRDs.
    """
    import difflib  # only for a kind without a schema: not on validate's start-up path

    group, _, version = api_version.rpartition("/")
    kinds = {(g, v, k) for g, v, k in served_kinds if k not in GENERIC_KINDS}
    groups = {g for g, _, _ in served_kinds}
    kinds_at: dict[str, list[str]] = {}
    for g, v, k in sorted(kinds):
        kinds_at.setdefault(k, []).append(f"{g}/{v}" if g else v)
    elsewhere = kinds_at.get(kind)
    where = f" ({kind} is {' or '.join(elsewhere)})" if elsewhere else ""
    if group in groups:
        name = group or "the core group"
        versions = sorted({v for g, v, _ in kinds if g == group})
        if version not in versions:
            return Issue(
                SCHEMA_INVALID,
                f"apiVersion: {api_version!r}: Kubernetes {version_name} serves "
                f"{name} in {', '.join(versions) or 'no version'}{where}",
                ("apiVersion",),
            )
        here = sorted({k for g, v, k in kinds if g == group and v == version})
        close = difflib.get_close_matches(kind, here, n=1) or [
            k for k in here if k.lower() == kind.lower()
        ]
        hint = f"; did you mean {close[0]!r}?" if close and not elsewhere else ""
        return Issue(
            SCHEMA_INVALID,
            f"kind: {kind!r} is not a kind of {api_version} in Kubernetes "
            f"{version_name}{where}{hint}",
            ("kind",),
        )
    if "." in group:
        # A typo keeps the number of labels and is a letter or two away; a group that only
        # shares a suffix (gateway.networking.k8s.io) is a CRD's, as is one a CRD names.
        near = [
            g
            for g in sorted(groups)
            if g.count(".") == group.count(".") and distance(g, group, 2) <= 2
        ]
        if not near or has_crd_group(group):
            return None
    else:
        near = difflib.get_close_matches(group, [g for g in groups if g], n=1)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    why = " (a custom resource's group has a dot)" if "." not in group else ""
    return Issue(
        SCHEMA_INVALID,
        f"apiVersion: {api_version!r}: no API group {group!r} in Kubernetes "
        f"{version_name}{why}{where}{hint}",
        ("apiVersion",),
    )


def distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance of ``a`` and ``b``, or ``limit + 1`` once it is over ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
        if min(row) > limit:
            return limit + 1
    return row[-1]

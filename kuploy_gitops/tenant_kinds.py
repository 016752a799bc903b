"""The one table of what a student's app may contain: kinds, their API resources, add-on kinds.

Three guards read it, so they can never disagree:

- the tenant AppProject's ``namespaceResourceWhitelist`` (Argo CD refuses any other kind),
- the Role of the tenant's deployer ServiceAccount, which Argo CD impersonates when it syncs a
  student's app (RBAC refuses any other kind even if a project were edited by hand),
- ``validate``, which reports any other kind before the sync does.

Everything not listed is refused: guard kinds (ResourceQuota, LimitRange, NetworkPolicy, RBAC),
CRDs of the CNI and the ingress controller (Calico policies, Traefik IngressRoutes, TLSOptions,
Middlewares), Endpoints/EndpointSlices, and every CRD installed later.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kuploy_gitops.config import PlatformConfig


@dataclass(frozen=True)
class TenantKind:
    """A namespaced kind a student's app may sync, and its API resource (for RBAC)."""

    group: str
    kind: str
    resource: str


# The core of every student app: workloads, their configuration, storage and exposure.
BASE_KINDS: tuple[TenantKind, ...] = (
    TenantKind("", "ConfigMap", "configmaps"),
    TenantKind("", "PersistentVolumeClaim", "persistentvolumeclaims"),
    TenantKind("", "Pod", "pods"),
    TenantKind("", "Secret", "secrets"),
    TenantKind("", "Service", "services"),
    TenantKind("", "ServiceAccount", "serviceaccounts"),
    TenantKind("apps", "Deployment", "deployments"),
    TenantKind("apps", "StatefulSet", "statefulsets"),
    TenantKind("autoscaling", "HorizontalPodAutoscaler", "horizontalpodautoscalers"),
    TenantKind("batch", "CronJob", "cronjobs"),
    TenantKind("batch", "Job", "jobs"),
    TenantKind("networking.k8s.io", "Ingress", "ingresses"),
    TenantKind("policy", "PodDisruptionBudget", "poddisruptionbudgets"),
)

# Kinds of the add-ons offered to students, keyed by Helm chart: allowed only on a platform
# that installs that chart (without its CRD the kind could not sync anyway).
ADDON_KINDS: dict[str, tuple[TenantKind, ...]] = {
    "cloudnative-pg": (TenantKind("postgresql.cnpg.io", "Cluster", "clusters"),),
    # Encrypted for the controller only: the Secret it makes is the controller's, not Argo CD's
    # (a plain Secret with data stays refused by validate: secret.committed-data).
    "sealed-secrets": (TenantKind("bitnami.com", "SealedSecret", "sealedsecrets"),),
}


def tenant_kinds(cfg: PlatformConfig) -> tuple[TenantKind, ...]:
    """Every kind a student's app may sync on this platform, sorted by (group, kind)."""
    kinds = list(BASE_KINDS)
    for addon in cfg.addons:
        kinds.extend(ADDON_KINDS.get(addon.chart, ()))
    return tuple(sorted(set(kinds), key=lambda k: (k.group, k.kind)))


def whitelist(kinds: Iterable[TenantKind]) -> list[dict[str, str]]:
    """An AppProject ``namespaceResourceWhitelist`` of ``kinds``."""
    return [{"group": k.group, "kind": k.kind} for k in kinds]


def deployer_rules(kinds: Iterable[TenantKind]) -> list[dict[str, list[str]]]:
    """Role rules that let the deployer apply and prune exactly ``kinds``, one rule per group."""
    by_group: dict[str, list[str]] = {}
    for k in kinds:
        by_group.setdefault(k.group, []).append(k.resource)
    return [
        {"apiGroups": [group], "resources": sorted(resources), "verbs": list(DEPLOYER_VERBS)}
        for group, resources in sorted(by_group.items())
    ]


# What a sync needs: read the live object, create, update or patch it (client- or server-side
# apply), and delete it when pruned or replaced.
DEPLOYER_VERBS = ("get", "list", "watch", "create", "update", "patch", "delete")

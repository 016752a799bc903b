"""What the cluster refuses at the tenant boundary, checked before the sync.

Mirrors of the AppProject's kind whitelist (:mod:`kuploy_gitops.tenant_kinds`), the admission
policies we render (:mod:`kuploy_gitops.admission`) and the API server's admission plugins
(DenyServiceExternalIPs, PodNodeSelector): each check here refuses what they refuse, with the
same verdict, so ``validate --student`` predicts the sync.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kuploy_gitops import admission, layout, manifests
from kuploy_gitops.config import PlatformConfig
from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate.context import TenantContext
from kuploy_gitops.validate.findings import Issue
from kuploy_gitops.validate.objects import Path_, as_map

_ALLOWED_TOLERATIONS = frozenset((*admission.DEFAULT_TOLERATION_KEYS, layout.POOL_LABEL))


def check_kind(ctx: TenantContext, group: str, kind: str) -> list[Issue]:
    """A namespaced kind the tenant's AppProject does not let sync."""
    if ctx.permitted(group, kind):
        return []
    gk = f"{kind}.{group}" if group else kind
    if (group, kind) in manifests.GUARD_KINDS:
        return [
            Issue(
                F.ISO_GUARD_KIND,
                f"{gk} is not allowed by the AppProject of {ctx.student!r} "
                "(the platform owns the tenant's guards)",
                ("kind",),
            )
        ]
    return [
        Issue(
            F.ISO_KIND,
            f"{gk} is not a kind the AppProject of {ctx.student!r} allows "
            "(Argo CD and the RBAC of the tenant's deployer refuse it)",
            ("kind",),
        )
    ]


def check_service(obj: Mapping[str, Any]) -> list[Issue]:
    """The tenant Services policy: ClusterIP only, a selector, no externalIPs."""
    spec = as_map(obj.get("spec"))
    out: list[Issue] = []
    stype = spec.get("type")
    if stype not in (None, "", "ClusterIP"):
        out.append(
            Issue(
                F.SERVICE_TYPE,
                f"Service type {stype} is refused in tenant namespaces (ClusterIP only)",
                ("spec", "type"),
            )
        )
    if spec.get("externalIPs"):
        out.append(
            Issue(
                F.SERVICE_EXTERNAL_IPS,
                f"Service sets externalIPs {list(spec['externalIPs'])}",
                ("spec", "externalIPs"),
            )
        )
    if not as_map(spec.get("selector")):
        out.append(
            Issue(
                F.SERVICE_NO_SELECTOR,
                "Service has no selector (it would be served by hand-made endpoints)",
                ("spec", "selector") if "selector" in spec else ("spec",),
            )
        )
    return out


def check_pod(cfg: PlatformConfig, spec: Mapping[str, Any], base: Path_) -> list[Issue]:
    """The tenant pods policy and the namespace's node selector, on one pod spec."""
    out: list[Issue] = []
    if spec.get("nodeName"):
        out.append(
            Issue(
                F.POD_NODE_NAME,
                f"pod sets nodeName {spec['nodeName']!r}",
                (*base, "nodeName"),
            )
        )
    priority = spec.get("priorityClassName")
    if priority not in (None, "", layout.TENANT_PRIORITY_CLASS):
        out.append(
            Issue(
                F.POD_PRIORITY_CLASS,
                f"pod uses priority class {priority!r}; tenants may use only "
                f"{layout.TENANT_PRIORITY_CLASS!r}",
                (*base, "priorityClassName"),
            )
        )
    if spec.get("serviceAccountName") == layout.DEPLOYER_SA:
        out.append(
            Issue(
                F.POD_DEPLOYER_ACCOUNT,
                f"pod runs as {layout.DEPLOYER_SA!r}, the ServiceAccount Argo CD syncs as",
                (*base, "serviceAccountName"),
            )
        )
    for i, toleration in enumerate(spec.get("tolerations") or []):
        key = as_map(toleration).get("key")
        if key not in _ALLOWED_TOLERATIONS:
            out.append(
                Issue(
                    F.POD_TOLERATION,
                    f"pod tolerates {key or 'every taint'!r}; only the lab pool's taint "
                    f"({layout.POOL_LABEL}) is allowed",
                    (*base, "tolerations", i),
                )
            )
    pool = as_map(spec.get("nodeSelector")).get(layout.POOL_LABEL)
    if cfg.tenant_pool and pool is not None and pool != cfg.tenant_pool:
        out.append(
            Issue(
                F.POD_NODE_SELECTOR,
                f"pod selects {layout.POOL_LABEL}={pool}; tenant pods run in the "
                f"{cfg.tenant_pool!r} pool (the namespace's node selector)",
                (*base, "nodeSelector", layout.POOL_LABEL),
            )
        )
    return out

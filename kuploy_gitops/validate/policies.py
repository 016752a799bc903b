"""Admission emulation for every object and for a student's workloads.

Names, Secrets, projects, Services, selectors and images here; quota in :mod:`.quota`, ingress
in :mod:`.ingress`, tenant isolation in :mod:`.isolation`, Pod Security in :mod:`.pss`. Each
check takes one object (plus the tenant's :class:`TenantContext`) and returns :class:`Issue`
values with a stable rule id; the engine places them in files and lines.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from kuploy_gitops.config import PlatformConfig
from kuploy_gitops.names import DNS_LABEL
from kuploy_gitops.validate import boundary, pss, quota_cnpg, secrets
from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate.apivalues import DNS_SUBDOMAIN
from kuploy_gitops.validate.context import TenantContext
from kuploy_gitops.validate.findings import Issue
from kuploy_gitops.validate.ingress import check_ingress
from kuploy_gitops.validate.objects import CLUSTER_SCOPED, Path_, as_map, group_of, meta
from kuploy_gitops.validate.quota import check_resources

_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_LABEL_KINDS = {"Namespace": DNS_LABEL, "Service": _DNS_1035}


def check_name(obj: Mapping[str, Any]) -> list[Issue]:
    """metadata.name must be a DNS name of the right flavour for the kind."""
    name = meta(obj).get("name")
    if not isinstance(name, str) or not name:
        return []
    pattern = _LABEL_KINDS.get(str(obj.get("kind")), DNS_SUBDOMAIN)
    limit = 63 if pattern is not DNS_SUBDOMAIN else 253
    if len(name) > limit or not pattern.match(name):
        return [
            Issue(
                F.NAME_INVALID,
                f"name {name!r} is not a valid {obj.get('kind')} name "
                f"(lowercase DNS {'label' if limit == 63 else 'subdomain'})",
                ("metadata", "name"),
            )
        ]
    return []


def check_secret(obj: Mapping[str, Any]) -> list[Issue]:
    """A Secret with values committed to git."""
    if obj.get("kind") != "Secret" or group_of(obj):
        return []
    for key in ("data", "stringData"):
        if as_map(obj.get(key)):
            return [
                Issue(
                    F.SECRET_DATA,
                    f"Secret {meta(obj).get('name')!r} has {key} committed to git "
                    f"({len(as_map(obj.get(key)))} key(s))",
                    (key,),
                )
            ]
    return []


def check_application_project(obj: Mapping[str, Any]) -> list[Issue]:
    """`project: default` anywhere."""
    if obj.get("kind") != "Application" or not group_of(obj).endswith("argoproj.io"):
        return []
    if as_map(obj.get("spec")).get("project", "default") in ("default", "", None):
        return [
            Issue(
                F.ISO_PROJECT_DEFAULT,
                f"Application {meta(obj).get('name')!r} uses project 'default'",
                ("spec", "project"),
            )
        ]
    return []


def check_workload(ctx: TenantContext, cfg: PlatformConfig, obj: Mapping[str, Any]) -> list[Issue]:
    """Everything admission and the AppProject check on one object of a student's app."""
    out: list[Issue] = []
    kind = str(obj.get("kind", ""))
    group = group_of(obj)
    ns = meta(obj).get("namespace")
    if kind in CLUSTER_SCOPED:
        out.append(
            Issue(
                F.ISO_CLUSTER_SCOPED,
                f"{kind} is cluster-scoped; the AppProject of {ctx.student!r} allows "
                "no cluster-scoped kinds",
                ("kind",),
            )
        )
        return out
    if ns not in (None, "", ctx.namespace):
        out.append(
            Issue(
                F.ISO_NAMESPACE,
                f"namespace {ns!r} is not the tenant's namespace {ctx.namespace!r}",
                ("metadata", "namespace"),
            )
        )
    # (A kind the AppProject refuses never gets here: check_common reports it and drops it.)
    if kind == "RoleBinding" or kind == "Role":
        out.extend(check_rbac(obj))
    out.extend(check_secret(obj))
    out.extend(secrets.check_plaintext(obj))
    if kind == "Service" and not group:
        out.extend(_check_service(ctx, obj))
        out.extend(boundary.check_service(obj))
    if kind == "Ingress" and group in ("networking.k8s.io", "extensions"):
        out.extend(check_ingress(ctx, cfg, obj))
    if quota_cnpg.is_cluster(obj):
        out.extend(_check_cluster(ctx, obj))
    template = pss.pod_template(obj)
    if template is not None:
        base, pod_meta, pod_spec = template
        for issue in pss.check_pod(pod_meta, pod_spec, base):
            sev = pss.severity_at(issue.rule, ctx.enforce, ctx.warn, ctx.audit)
            if sev is not None:
                out.append(Issue(issue.rule, issue.message, issue.path, sev))
        out.extend(check_images(cfg, pod_spec, (*base, "spec")))
        out.extend(boundary.check_pod(cfg, pod_spec, (*base, "spec")))
        out.extend(check_resources(ctx, pod_spec, (*base, "spec")))
        out.extend(check_selector(obj, pod_meta))
    return out


def _check_cluster(ctx: TenantContext, obj: Mapping[str, Any]) -> list[Issue]:
    """A CloudNativePG Cluster's instance pods under the LimitRange and the quota's rules.

    The operator makes the pods, so a pod the quota refuses is a Cluster that never starts;
    the finding points at ``spec.resources``, the one place that sets their resources.
    """
    out = []
    for issue in check_resources(ctx, quota_cnpg.instance_pod(obj), ()):
        message = f"CloudNativePG instances: {issue.message}; set spec.resources of the Cluster"
        out.append(Issue(issue.rule, message, ("spec", "resources"), issue.severity))
    return out


def check_rbac(obj: Mapping[str, Any]) -> list[Issue]:
    """A RoleBinding to a ClusterRole (admin, edit, cluster-admin...) grants too much."""
    if obj.get("kind") != "RoleBinding":
        return []
    ref = as_map(obj.get("roleRef"))
    if ref.get("kind") == "ClusterRole":
        return [
            Issue(
                F.RBAC_BROAD,
                f"RoleBinding grants ClusterRole {ref.get('name')!r}",
                ("roleRef", "name"),
            )
        ]
    return []


def _check_service(ctx: TenantContext, obj: Mapping[str, Any]) -> list[Issue]:
    stype = as_map(obj.get("spec")).get("type", "ClusterIP")
    path: Path_ = ("spec", "type")
    if stype == "NodePort" and ctx.quota.get("services.nodeports", math.inf) < 1:
        return [
            Issue(
                F.QUOTA_NODEPORT,
                "Service type NodePort, but the tenant's quota allows "
                f"services.nodeports: {ctx.quota_text.get('services.nodeports')}",
                path,
            )
        ]
    if stype == "LoadBalancer":
        if ctx.quota.get("services.loadbalancers", math.inf) < 1:
            return [
                Issue(
                    F.QUOTA_LOADBALANCER,
                    "Service type LoadBalancer, but the tenant's "
                    "quota allows services.loadbalancers: "
                    f"{ctx.quota_text.get('services.loadbalancers')}",
                    path,
                )
            ]
        if ctx.quota.get("services.nodeports", math.inf) < 1:
            return [
                Issue(
                    F.QUOTA_NODEPORT,
                    "Service type LoadBalancer allocates node ports, "
                    "but the tenant's quota allows services.nodeports: "
                    f"{ctx.quota_text.get('services.nodeports')}",
                    path,
                )
            ]
    return []


def check_selector(obj: Mapping[str, Any], pod_meta: Mapping[str, Any]) -> list[Issue]:
    """spec.selector must select the pod template's labels (apps/v1 workloads)."""
    if obj.get("kind") not in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
        return []
    selector = as_map(as_map(obj.get("spec")).get("selector"))
    labels = {str(k): str(v) for k, v in as_map(pod_meta.get("labels")).items()}
    if not selector:
        return []
    if not selector_matches(selector, labels):
        return [
            Issue(
                F.SELECTOR_MISMATCH,
                f"spec.selector {dict(as_map(selector.get('matchLabels')))} does not match "
                f"the pod template labels {labels}",
                ("spec", "selector"),
            )
        ]
    return []


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Evaluate a LabelSelector (matchLabels and matchExpressions) against labels."""
    for k, v in as_map(selector.get("matchLabels")).items():
        if labels.get(str(k)) != str(v):
            return False
    for expr in selector.get("matchExpressions") or []:
        e = as_map(expr)
        key, op = str(e.get("key")), e.get("operator")
        values = [str(x) for x in e.get("values") or []]
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def normalise_image(image: str) -> str:
    """The fully qualified reference (``nginx`` -> ``docker.io/library/nginx``)."""
    first, sep, rest = image.partition("/")
    if not sep:
        return f"docker.io/library/{image}"
    if first in ("docker.io", "index.docker.io"):
        return f"docker.io/{rest}" if "/" in rest else f"docker.io/library/{rest}"
    if "." in first or ":" in first or first == "localhost":
        return image
    return f"docker.io/{image}"


def check_images(cfg: PlatformConfig, spec: Mapping[str, Any], base: Path_) -> list[Issue]:
    """Registry allow-list, and warnings for :latest and missing tags."""
    out: list[Issue] = []
    for cpath, c in pss.containers(spec):
        image = c.get("image")
        path = (*base, *cpath, "image")
        if not isinstance(image, str) or not image:
            continue
        full = normalise_image(image)
        if cfg.registries and not any(full.startswith(r) for r in cfg.registries):
            out.append(
                Issue(
                    F.IMAGE_REGISTRY,
                    f"image {image!r} is not from an allowed registry "
                    f"({', '.join(cfg.registries)})",
                    path,
                )
            )
        name, _, digest = full.partition("@")
        last = name.rsplit("/", 1)[-1]
        tag = last.rpartition(":")[2] if ":" in last else ""
        if digest:
            continue
        if not tag:
            out.append(Issue(F.IMAGE_NO_TAG, f"image {image!r} has no tag (means :latest)", path))
        elif tag == "latest":
            out.append(Issue(F.IMAGE_LATEST, f"image {image!r} uses the tag latest", path))
    return out

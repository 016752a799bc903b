"""Admission emulation: quota and LimitRange, tenant isolation, ingress, images, Secrets.

Each check takes one object (plus the tenant's :class:`TenantContext`) and returns
:class:`Issue` values with a stable rule id; the engine places them in files and lines.
Pod Security lives in :mod:`kuploy_gitops.validate.pss`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from kuploy_gitops import layout
from kuploy_gitops.config import PlatformConfig
from kuploy_gitops.quantity import format_quantity, parse_quantity
from kuploy_gitops.validate import findings as F
from kuploy_gitops.validate import pss
from kuploy_gitops.validate.context import TenantContext, normalise_repo
from kuploy_gitops.validate.findings import Issue

Path_ = tuple[str | int, ...]

CLUSTER_SCOPED = frozenset(
    {"Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding",
     "CustomResourceDefinition", "StorageClass", "CSIDriver", "CSINode", "VolumeAttachment",
     "PriorityClass", "RuntimeClass", "IngressClass", "APIService", "CertificateSigningRequest",
     "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
     "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
     "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding", "FlowSchema",
     "PriorityLevelConfiguration", "PodSecurityPolicy", "ComponentStatus", "IPAddress",
     "ServiceCIDR", "DeviceClass", "ResourceSlice", "VolumeAttributesClass",
     "ClusterTrustBundle", "StorageVersionMigration", "ClusterIssuer", "ClusterImageCatalog"}
)
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_KINDS = {"Namespace": _DNS_LABEL, "Service": _DNS_1035}
_REMOTE = re.compile(r"^(https?://|ssh://|git@|git::|github\.com/|gitlab\.com/|bitbucket\.org/)")
_QUOTA_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def group_of(obj: Mapping[str, Any]) -> str:
    """The API group of an object (``""`` for the core group)."""
    return str(obj.get("apiVersion", "")).rpartition("/")[0]


def _m(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """``metadata`` as a mapping (empty when missing)."""
    return _m(obj.get("metadata"))


# ---------------------------------------------------------------------------------------------
# every object


def check_name(obj: Mapping[str, Any]) -> list[Issue]:
    """metadata.name must be a DNS name of the right flavour for the kind."""
    name = meta(obj).get("name")
    if not isinstance(name, str) or not name:
        return []
    pattern = _LABEL_KINDS.get(str(obj.get("kind")), _DNS_SUBDOMAIN)
    limit = 63 if pattern is not _DNS_SUBDOMAIN else 253
    if len(name) > limit or not pattern.match(name):
        return [Issue(F.NAME_INVALID,
                      f"name {name!r} is not a valid {obj.get('kind')} name "
                      f"(lowercase DNS {'label' if limit == 63 else 'subdomain'})",
                      ("metadata", "name"))]
    return []


def check_secret(obj: Mapping[str, Any]) -> list[Issue]:
    """A Secret with values committed to git."""
    if obj.get("kind") != "Secret" or group_of(obj):
        return []
    for key in ("data", "stringData"):
        if _m(obj.get(key)):
            return [Issue(F.SECRET_DATA,
                          f"Secret {meta(obj).get('name')!r} has {key} committed to git "
                          f"({len(_m(obj.get(key)))} key(s))", (key,))]
    return []


def check_application_project(obj: Mapping[str, Any]) -> list[Issue]:
    """`project: default` anywhere."""
    if obj.get("kind") != "Application" or not group_of(obj).endswith("argoproj.io"):
        return []
    if _m(obj.get("spec")).get("project", "default") in ("default", "", None):
        return [Issue(F.ISO_PROJECT_DEFAULT,
                      f"Application {meta(obj).get('name')!r} uses project 'default'",
                      ("spec", "project"))]
    return []


# ---------------------------------------------------------------------------------------------
# objects a student's Application applies


def check_workload(ctx: TenantContext, cfg: PlatformConfig, obj: Mapping[str, Any]) -> list[Issue]:
    """Everything admission and the AppProject check on one object of a student's app."""
    out: list[Issue] = []
    kind = str(obj.get("kind", ""))
    group = group_of(obj)
    ns = meta(obj).get("namespace")
    if kind in CLUSTER_SCOPED:
        out.append(Issue(F.ISO_CLUSTER_SCOPED,
                         f"{kind} is cluster-scoped; the AppProject of {ctx.student!r} allows "
                         "no cluster-scoped kinds", ("kind",)))
        return out
    if ns not in (None, "", ctx.namespace):
        out.append(Issue(F.ISO_NAMESPACE,
                         f"namespace {ns!r} is not the tenant's namespace {ctx.namespace!r}",
                         ("metadata", "namespace")))
    if ctx.blacklisted(group, kind):
        out.append(Issue(F.ISO_GUARD_KIND,
                         f"{kind} is blacklisted by the AppProject of {ctx.student!r} "
                         "(the platform owns the tenant's guards)", ("kind",)))
    if kind == "RoleBinding" or kind == "Role":
        out.extend(_check_rbac(obj))
    out.extend(check_secret(obj))
    if kind == "Service" and not group:
        out.extend(_check_service(ctx, obj))
    if kind == "Ingress" and group in ("networking.k8s.io", "extensions"):
        out.extend(check_ingress(ctx, cfg, obj))
    template = pss.pod_template(obj)
    if template is not None:
        base, pod_meta, pod_spec = template
        for issue in pss.check_pod(pod_meta, pod_spec, base):
            sev = pss.severity_at(issue.rule, ctx.enforce, ctx.warn, ctx.audit)
            if sev is not None:
                out.append(Issue(issue.rule, issue.message, issue.path, sev))
        out.extend(check_images(cfg, pod_spec, (*base, "spec")))
        out.extend(_check_resources(ctx, pod_spec, (*base, "spec")))
        out.extend(check_selector(obj, pod_meta))
    return out


def _check_rbac(obj: Mapping[str, Any]) -> list[Issue]:
    if obj.get("kind") != "RoleBinding":
        return []
    ref = _m(obj.get("roleRef"))
    if ref.get("kind") == "ClusterRole":
        return [Issue(F.RBAC_BROAD,
                      f"RoleBinding grants ClusterRole {ref.get('name')!r}", ("roleRef", "name"))]
    return []


def _check_service(ctx: TenantContext, obj: Mapping[str, Any]) -> list[Issue]:
    stype = _m(obj.get("spec")).get("type", "ClusterIP")
    path: Path_ = ("spec", "type")
    if stype == "NodePort" and ctx.quota.get("services.nodeports", math.inf) < 1:
        return [Issue(F.QUOTA_NODEPORT, "Service type NodePort, but the tenant's quota allows "
                      f"services.nodeports: {ctx.quota_text.get('services.nodeports')}", path)]
    if stype == "LoadBalancer":
        if ctx.quota.get("services.loadbalancers", math.inf) < 1:
            return [Issue(F.QUOTA_LOADBALANCER, "Service type LoadBalancer, but the tenant's "
                          "quota allows services.loadbalancers: "
                          f"{ctx.quota_text.get('services.loadbalancers')}", path)]
        if ctx.quota.get("services.nodeports", math.inf) < 1:
            return [Issue(F.QUOTA_NODEPORT, "Service type LoadBalancer allocates node ports, "
                          "but the tenant's quota allows services.nodeports: "
                          f"{ctx.quota_text.get('services.nodeports')}", path)]
    return []


def check_selector(obj: Mapping[str, Any], pod_meta: Mapping[str, Any]) -> list[Issue]:
    """spec.selector must select the pod template's labels (apps/v1 workloads)."""
    if obj.get("kind") not in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
        return []
    selector = _m(_m(obj.get("spec")).get("selector"))
    labels = {str(k): str(v) for k, v in _m(pod_meta.get("labels")).items()}
    if not selector:
        return []
    if not selector_matches(selector, labels):
        return [Issue(F.SELECTOR_MISMATCH,
                      f"spec.selector {dict(_m(selector.get('matchLabels')))} does not match "
                      f"the pod template labels {labels}", ("spec", "selector"))]
    return []


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Evaluate a LabelSelector (matchLabels and matchExpressions) against labels."""
    for k, v in _m(selector.get("matchLabels")).items():
        if labels.get(str(k)) != str(v):
            return False
    for expr in selector.get("matchExpressions") or []:
        e = _m(expr)
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


# ---------------------------------------------------------------------------------------------
# images


def normalise_image(image: str) -> str:
    """The fully qualified reference (``nginx`` -> ``docker.io/library/nginx``)."""
    first, sep, rest = image.partition("/")
    if not sep:
        return f"docker.io/library/{image}"
    if first == "index.docker.io":
        return normalise_image(rest if "/" in rest else rest)
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
            out.append(Issue(F.IMAGE_REGISTRY,
                             f"image {image!r} is not from an allowed registry "
                             f"({', '.join(cfg.registries)})", path))
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


# ---------------------------------------------------------------------------------------------
# resources: LimitRange defaults, quota presence, totals


def _qty(value: Any) -> float | None:
    try:
        return parse_quantity(str(value))
    except ValueError:
        return None


def effective_resources(
    ctx: TenantContext, c: Mapping[str, Any]
) -> tuple[dict[str, float], dict[str, float]]:
    """(requests, limits) of a container after API defaulting and the LimitRange."""
    res = _m(c.get("resources"))
    requests = {k: v for k, v in ((str(k), _qty(v)) for k, v in _m(res.get("requests")).items())
                if v is not None}
    limits = {k: v for k, v in ((str(k), _qty(v)) for k, v in _m(res.get("limits")).items())
              if v is not None}
    # API defaulting: an explicit limit without a request sets the request.
    for k, v in limits.items():
        requests.setdefault(k, v)
    # LimitRanger: defaults for what is still unset.
    for k, v in ctx.default.items():
        limits.setdefault(k, v)
    for k, v in ctx.default_request.items():
        requests.setdefault(k, v)
    return requests, limits


def _check_resources(ctx: TenantContext, spec: Mapping[str, Any], base: Path_) -> list[Issue]:
    out: list[Issue] = []
    for cpath, c in pss.containers(spec):
        if cpath[0] == "ephemeralContainers":
            continue
        cname = c.get("name", cpath[1])
        path = (*base, *cpath, "resources")
        requests, limits = effective_resources(ctx, c)
        for res in _QUOTA_RESOURCES:
            if (f"requests.{res}" in ctx.quota or res in ctx.quota) and res not in requests:
                out.append(Issue(F.QUOTA_REQUESTS,
                                 f"container {cname!r} has no {res} request, the quota requires "
                                 "one and no LimitRange default supplies it", path))
            if f"limits.{res}" in ctx.quota and res not in limits:
                out.append(Issue(F.QUOTA_LIMITS,
                                 f"container {cname!r} has no {res} limit, the quota requires "
                                 "one and no LimitRange default supplies it", path))
            cap = ctx.max.get(res)
            if cap is not None:
                for what, values in (("limit", limits), ("request", requests)):
                    if values.get(res, 0.0) > cap + 1e-9:
                        out.append(Issue(F.LIMITS_OVER_MAX,
                                         f"container {cname!r} {res} {what} "
                                         f"{_fmt(res, values[res])} is above the LimitRange max "
                                         f"{_fmt(res, cap)}", path))
                        break
    return out


def _fmt(res: str, value: float) -> str:
    return format_quantity("memory" if res != "cpu" else "cpu", value)


def replicas(obj: Mapping[str, Any]) -> int:
    """How many pods a workload runs at steady state (DaemonSet counted once per node: 1)."""
    kind = obj.get("kind")
    spec = _m(obj.get("spec"))
    if kind in ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"):
        value = spec.get("replicas", 1)
    elif kind == "Job":
        value = spec.get("parallelism", 1)
    elif kind == "CronJob":
        value = _m(_m(spec.get("jobTemplate")).get("spec")).get("parallelism", 1)
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
        stype = _m(obj.get("spec")).get("type", "ClusterIP")
        if stype in ("NodePort", "LoadBalancer"):
            usage["services.nodeports"] = 1.0
        if stype == "LoadBalancer":
            usage["services.loadbalancers"] = 1.0
    if kind == "PersistentVolumeClaim" and not group:
        storage = _qty(_m(_m(_m(obj.get("spec")).get("resources")).get("requests")).get("storage"))
        usage["requests.storage"] = storage or 0.0
    template = pss.pod_template(obj)
    if template is not None and kind not in ("CronJob",):
        n = replicas(obj)
        for key, v in pod_usage(ctx, template[2]).items():
            usage[key] = usage.get(key, 0.0) + n * v
        usage["pods"] = usage.get("pods", 0.0) + n
        if kind == "StatefulSet":
            for claim in _m(obj.get("spec")).get("volumeClaimTemplates") or []:
                size = _qty(_m(_m(_m(claim).get("spec")).get("resources")).get("requests", {})
                            .get("storage")) if isinstance(claim, Mapping) else None
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
    "Deployment": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets",
    "ReplicaSet": "replicasets", "Job": "jobs", "CronJob": "cronjobs", "Ingress": "ingresses",
    "Service": "services", "ConfigMap": "configmaps", "Secret": "secrets",
    "PersistentVolumeClaim": "persistentvolumeclaims", "Pod": "pods",
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
            out.append((key, Issue(
                F.QUOTA_EXCEEDED,
                f"{res}: the tenant's objects need {_show(res, totals[res])} "
                f"(counting up to {obj.get('kind')} {meta(obj).get('name')!r}), over the "
                f"ResourceQuota's {ctx.quota_text.get(res, _show(res, hard))}",
                ("spec",),
            )))
    return out


def _show(res: str, value: float) -> str:
    if res.endswith("cpu") or res == "cpu":
        return format_quantity("cpu", value)
    if any(x in res for x in ("memory", "storage")):
        return format_quantity("memory", value)
    return f"{value:g}"


# ---------------------------------------------------------------------------------------------
# ingress


def ingress_hosts(obj: Mapping[str, Any]) -> list[tuple[str, str, Path_]]:
    """(host, path, key path) of every rule path of an Ingress."""
    out: list[tuple[str, str, Path_]] = []
    for i, rule in enumerate(_m(obj.get("spec")).get("rules") or []):
        r = _m(rule)
        host = r.get("host")
        if not isinstance(host, str) or not host:
            continue
        paths = _m(r.get("http")).get("paths") or [{}]
        for p in paths:
            out.append((host.lower(), str(_m(p).get("path") or "/"), ("spec", "rules", i, "host")))
    return out


def check_ingress(ctx: TenantContext, cfg: PlatformConfig, obj: Mapping[str, Any]) -> list[Issue]:
    """Host under the domain and the student's pattern, no catch-all rules, allowed class."""
    out: list[Issue] = []
    spec = _m(obj.get("spec"))
    if spec.get("defaultBackend") or spec.get("backend"):
        out.append(Issue(F.INGRESS_NO_HOST, "Ingress sets a default backend (catches every host)",
                         ("spec", "defaultBackend")))
    hosts: list[tuple[str, Path_]] = []
    for i, rule in enumerate(spec.get("rules") or []):
        host = _m(rule).get("host")
        if not host:
            out.append(Issue(F.INGRESS_NO_HOST, f"rule {i} has no host (catches every host)",
                             ("spec", "rules", i)))
        else:
            hosts.append((str(host), ("spec", "rules", i, "host")))
    for i, tls in enumerate(spec.get("tls") or []):
        for j, host in enumerate(_m(tls).get("hosts") or []):
            hosts.append((str(host), ("spec", "tls", i, "hosts", j)))
    seen: set[str] = set()
    for host, path in hosts:
        if host in seen:
            continue
        seen.add(host)
        domain = cfg.base_domain.lower()
        if not host.lower().endswith("." + domain):
            out.append(Issue(F.INGRESS_DOMAIN,
                             f"host {host!r} is not under the platform domain {domain!r}", path))
        elif ctx.host_re is not None and not ctx.host_re.match(host.lower()):
            example = cfg.host(ctx.student, "<app>")
            out.append(Issue(F.INGRESS_PATTERN,
                             f"host {host!r} is not one of {ctx.student!r}'s hosts "
                             f"(expected {example})", path))
    cls = spec.get("ingressClassName")
    annotated = meta(obj).get("annotations", {}) or {}
    legacy = _m(annotated).get("kubernetes.io/ingress.class")
    for value, path in ((cls, ("spec", "ingressClassName")),
                        (legacy, ("metadata", "annotations"))):
        if value is not None and value != cfg.ingress_class:
            out.append(Issue(F.INGRESS_CLASS,
                             f"ingress class {value!r} is not the platform's "
                             f"{cfg.ingress_class!r}", path))
    return out


# ---------------------------------------------------------------------------------------------
# admin-owned tenant objects: Application, AppProject, RBAC


def check_application(
    ctx: TenantContext, cfg: PlatformConfig, obj: Mapping[str, Any], apps: Iterable[str]
) -> list[Issue]:
    """A student's Application: own project, own namespace, allowed repo, own workload folder."""
    out: list[Issue] = []
    spec = _m(obj.get("spec"))
    project = spec.get("project", "default")
    if project not in ("default", "", None) and project != layout.project_name(ctx.student):
        out.append(Issue(F.ISO_PROJECT_MISMATCH,
                         f"Application of {ctx.student!r} uses project {project!r}",
                         ("spec", "project")))
    dest = _m(spec.get("destination"))
    server = dest.get("server") or dest.get("name") or ""
    dns = dest.get("namespace") or ""
    allowed = [(s, n) for s, n in ctx.destinations]
    if dns != ctx.namespace or (server, dns) not in allowed and (
        server not in (layout.IN_CLUSTER_SERVER, layout.IN_CLUSTER_NAME)
    ):
        out.append(Issue(F.ISO_DESTINATION,
                         f"destination {server or '?'} / {dns or '?'} is not the tenant's "
                         f"namespace {ctx.namespace!r} in-cluster", ("spec", "destination")))
    sources: list[tuple[Path_, Mapping[str, Any]]] = []
    if spec.get("source"):
        sources.append((("spec", "source"), _m(spec.get("source"))))
    sources += [(("spec", "sources", i), _m(s)) for i, s in enumerate(spec.get("sources") or [])]
    own = [layout.workload_dir(ctx.student, a) for a in apps]
    for path, src in sources:
        url = str(src.get("repoURL") or "")
        if not ctx.repo_allowed(url):
            out.append(Issue(F.ISO_SOURCE_REPO,
                             f"source repo {url!r} is not in the AppProject's sourceRepos",
                             (*path, "repoURL")))
        if normalise_repo(url) == normalise_repo(cfg.repo_url):
            src_path = str(src.get("path") or "").strip("/")
            base = layout.workload_dir(ctx.student)
            if not (src_path == base or src_path.startswith(base + "/")) and src_path not in own:
                out.append(Issue(F.ISO_SOURCE_PATH,
                                 f"source path {src_path!r} of the platform repo is outside "
                                 f"{base}/", (*path, "path")))
    return out


def check_project(ctx: TenantContext, obj: Mapping[str, Any]) -> list[Issue]:
    """A student's AppProject must stay locked down."""
    from kuploy_gitops import manifests

    out: list[Issue] = []
    spec = _m(obj.get("spec"))
    if any(str(r).strip() == "*" for r in spec.get("sourceRepos") or []):
        out.append(Issue(F.ISO_PROJECT_OPEN, "sourceRepos allows every repo ('*')",
                         ("spec", "sourceRepos")))
    for i, d in enumerate(spec.get("destinations") or []):
        if _m(d).get("namespace") != ctx.namespace:
            out.append(Issue(F.ISO_PROJECT_OPEN,
                             f"destination namespace {_m(d).get('namespace')!r} is not "
                             f"{ctx.namespace!r}", ("spec", "destinations", i)))
    if spec.get("clusterResourceWhitelist"):
        out.append(Issue(F.ISO_PROJECT_OPEN, "clusterResourceWhitelist is not empty",
                         ("spec", "clusterResourceWhitelist")))
    listed = {(str(_m(x).get("group", "")), str(_m(x).get("kind", "")))
              for x in spec.get("namespaceResourceBlacklist") or []}
    missing = [k for g, k in manifests.GUARD_KINDS if (g, k) not in listed and ("*", "*") not in
               listed]
    if missing:
        out.append(Issue(F.ISO_PROJECT_OPEN,
                         f"namespaceResourceBlacklist lacks {', '.join(missing)}",
                         ("spec", "namespaceResourceBlacklist")))
    return out


def check_guard_object(ctx: TenantContext, obj: Mapping[str, Any]) -> list[Issue]:
    """Admin-owned tenant objects other than Applications/AppProjects: namespace and RBAC."""
    kind = obj.get("kind")
    out: list[Issue] = []
    if kind not in CLUSTER_SCOPED:
        ns = meta(obj).get("namespace")
        if ns not in (None, "", ctx.namespace):
            out.append(Issue(F.ISO_NAMESPACE,
                             f"namespace {ns!r} is not the tenant's namespace {ctx.namespace!r}",
                             ("metadata", "namespace")))
    elif kind != "Namespace":
        out.append(Issue(F.ISO_CLUSTER_SCOPED,
                         f"{kind} in a tenant folder is cluster-wide", ("kind",)))
    if kind == "RoleBinding":
        ref = _m(obj.get("roleRef"))
        if ref.get("kind") == "ClusterRole":
            out.append(Issue(F.RBAC_BROAD, f"RoleBinding grants ClusterRole {ref.get('name')!r}",
                             ("roleRef", "name")))
    return out


# ---------------------------------------------------------------------------------------------
# kustomize and Helm sources


def remote_refs(kustomization: Mapping[str, Any]) -> list[tuple[str, Path_]]:
    """Remote URLs in resources/bases/components of a kustomization."""
    out: list[tuple[str, Path_]] = []
    for key in ("resources", "bases", "components"):
        for i, item in enumerate(kustomization.get(key) or []):
            if isinstance(item, str) and _REMOTE.match(item.strip()):
                out.append((item.strip(), (key, i)))
    return out


def remote_repo(ref: str) -> str:
    """The repository URL of a kustomize remote reference."""
    url = ref.split("?", 1)[0]
    if url.startswith("git::"):
        url = url[5:]
    if url.startswith("git@"):
        host, _, path = url[4:].partition(":")
        url = f"https://{host}/{path}"
    if not re.match(r"^[a-z]+://", url):
        url = "https://" + url
    scheme, _, rest = url.partition("://")
    if "//" in rest:
        rest = rest.split("//", 1)[0]
    parts = rest.split("/")
    if len(parts) >= 3 and parts[0] in ("github.com", "gitlab.com", "bitbucket.org"):
        rest = "/".join(parts[:3])
    rest = rest.split(".git/", 1)[0]
    rest = rest[:-4] if rest.endswith(".git") else rest
    return f"{scheme}://{rest}"


def check_kustomization(ctx: TenantContext, data: Mapping[str, Any]) -> list[Issue]:
    """Remote bases and helmCharts repositories the AppProject does not allow."""
    out: list[Issue] = []
    for ref, path in remote_refs(data):
        repo = remote_repo(ref)
        if not ctx.repo_allowed(repo):
            out.append(Issue(F.ISO_REMOTE_BASE,
                             f"remote {path[0]} {ref!r} (repo {repo}) is not allowed by the "
                             f"AppProject of {ctx.student!r}", path))
    for i, chart in enumerate(data.get("helmCharts") or []):
        repo = str(_m(chart).get("repo") or "")
        if repo and not ctx.repo_allowed(repo):
            out.append(Issue(F.ISO_HELM_DEPENDENCY,
                             f"helmCharts {_m(chart).get('name')!r} from {repo!r} is not allowed "
                             f"by the AppProject of {ctx.student!r}", ("helmCharts", i, "repo")))
    return out


def check_chart(ctx: TenantContext, data: Mapping[str, Any]) -> list[Issue]:
    """Helm Chart.yaml dependencies from repositories the AppProject does not allow."""
    out: list[Issue] = []
    for i, dep in enumerate(data.get("dependencies") or []):
        repo = str(_m(dep).get("repository") or "")
        if not repo or repo.startswith("file://") or repo.startswith("@") or repo.startswith(
            "alias:"
        ):
            continue
        if not ctx.repo_allowed(repo):
            out.append(Issue(F.ISO_HELM_DEPENDENCY,
                             f"chart dependency {_m(dep).get('name')!r} from {repo!r} is not "
                             f"allowed by the AppProject of {ctx.student!r}",
                             ("dependencies", i, "repository")))
    return out

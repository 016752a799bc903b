"""Builders for machine-owned objects, as plain data: tenant guards, AppProjects, Applications.

Nothing here reads or writes files; :mod:`kuploy_gitops.render` turns these dicts into YAML text
through :mod:`kuploy_gitops.yamlio`. Every builder is a pure function of the platform config and
the tenant spec, so output is deterministic.
"""

from __future__ import annotations

from typing import Any

from kuploy_gitops import layout, netpol
from kuploy_gitops.config import Addon, PlatformConfig
from kuploy_gitops.tenant_spec import AppSpec, TenantSpec

Obj = dict[str, Any]

# Kinds a student's Application may never manage: the admin-owned guards of the tenant.
GUARD_KINDS: tuple[tuple[str, str], ...] = (
    ("", "ResourceQuota"),
    ("", "LimitRange"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
)


def _labels(spec: TenantSpec, **extra: str) -> dict[str, str]:
    labels = {
        layout.LABEL_MANAGED_BY: layout.MANAGED_BY,
        layout.LABEL_PART_OF: layout.PART_OF,
        layout.LABEL_OWNER: spec.student,
    }
    labels.update(extra)
    return labels


def _meta(
    name: str, spec: TenantSpec, *, namespace: str | None, wave: str, prune_last: bool = False
) -> Obj:
    meta: Obj = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = _labels(spec)
    annotations = {layout.ANNOTATION_SYNC_WAVE: wave}
    if prune_last:
        annotations[layout.ANNOTATION_SYNC_OPTIONS] = "PruneLast=true"
    meta["annotations"] = annotations
    return meta


def namespace(cfg: PlatformConfig, spec: TenantSpec) -> Obj:
    """The student's Namespace with ownership and Pod Security labels."""
    ns = layout.namespace_name(spec.student)
    meta = _meta(ns, spec, namespace=None, wave=layout.WAVE_NAMESPACE, prune_last=True)
    labels = meta["labels"]
    labels[layout.LABEL_TIER] = spec.tier
    if spec.course:
        labels[layout.LABEL_COURSE] = spec.course
    if spec.term:
        labels[layout.LABEL_TERM] = spec.term
    if spec.expires:
        labels[layout.LABEL_EXPIRES] = spec.expires
    for mode, level in (
        ("enforce", cfg.pss_enforce),
        ("warn", cfg.pss_warn),
        ("audit", cfg.pss_audit),
    ):
        labels[f"{layout.PSA_PREFIX}/{mode}"] = level
        labels[f"{layout.PSA_PREFIX}/{mode}-version"] = cfg.pss_version
    annotations = meta["annotations"]
    if spec.name:
        annotations["kuploy.io/owner-name"] = spec.name
    if spec.email:
        annotations["kuploy.io/owner-email"] = spec.email
    if spec.github:
        annotations["kuploy.io/owner-github"] = spec.github
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def resource_quota(cfg: PlatformConfig, spec: TenantSpec) -> Obj:
    """The tenant's ResourceQuota, from its tier."""
    tier = cfg.tiers[spec.tier]
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": _meta("kuploy-quota", spec, namespace=spec.student, wave=layout.WAVE_GUARDS),
        "spec": {"hard": dict(sorted(tier.quota.items()))},
    }


def limit_range(cfg: PlatformConfig, spec: TenantSpec) -> Obj:
    """Container defaults and caps, so pods without ``resources:`` still pass the quota."""
    tier = cfg.tiers[spec.tier]
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": _meta("kuploy-limits", spec, namespace=spec.student, wave=layout.WAVE_GUARDS),
        "spec": {
            "limits": [
                {
                    "type": "Container",
                    "default": dict(tier.default),
                    "defaultRequest": dict(tier.default_request),
                    "max": dict(tier.max),
                }
            ]
        },
    }


def network_policies(cfg: PlatformConfig, spec: TenantSpec) -> list[Obj]:
    """Default deny both ways, then the few flows a student app needs (see :mod:`.netpol`)."""

    def meta(name: str) -> Obj:
        return _meta(name, spec, namespace=spec.student, wave=layout.WAVE_GUARDS)

    return netpol.tenant_policies(cfg, spec, meta)


# What the student may do in their namespace: the built-in `view` role's read access (which
# deliberately leaves out Secrets), plus logs, restarting a pod and port-forwarding.
_READ = ["get", "list", "watch"]
_VIEW_RULES: list[tuple[str, list[str]]] = [
    (
        "",
        [
            "configmaps",
            "endpoints",
            "events",
            "limitranges",
            "persistentvolumeclaims",
            "pods",
            "pods/status",
            "replicationcontrollers",
            "resourcequotas",
            "serviceaccounts",
            "services",
        ],
    ),
    ("apps", ["controllerrevisions", "daemonsets", "deployments", "replicasets", "statefulsets"]),
    ("autoscaling", ["horizontalpodautoscalers"]),
    ("batch", ["cronjobs", "jobs"]),
    ("discovery.k8s.io", ["endpointslices"]),
    ("events.k8s.io", ["events"]),
    ("networking.k8s.io", ["ingresses", "networkpolicies"]),
    ("policy", ["poddisruptionbudgets"]),
]


def rbac(cfg: PlatformConfig, spec: TenantSpec) -> list[Obj]:
    """A Role (view-like + logs, pod delete, port-forward) and its binding to the student."""
    name = layout.student_rbac_name()
    rules: list[Obj] = [
        {"apiGroups": [group], "resources": resources, "verbs": list(_READ)}
        for group, resources in _VIEW_RULES
    ]
    rules += [
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]},
        {"apiGroups": [""], "resources": ["pods/portforward"], "verbs": ["get", "create"]},
    ]
    subject = spec.github or spec.student
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": _meta(name, spec, namespace=spec.student, wave=layout.WAVE_GUARDS),
            "rules": rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": _meta(name, spec, namespace=spec.student, wave=layout.WAVE_GUARDS),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": subject}
            ],
        },
    ]


def source_repos(cfg: PlatformConfig, spec: TenantSpec) -> list[str]:
    """The repos the student's project may read: their app repos and the platform repo."""
    repos = {a.repo for a in spec.apps if a.mode == "repo"}
    repos.add(cfg.repo_url)
    return sorted(repos)


def app_project(cfg: PlatformConfig, spec: TenantSpec) -> Obj:
    """The student's locked-down AppProject."""
    project = layout.project_name(spec.student)
    role = layout.student_role_name()
    subject = f"proj:{project}:{role}"
    policies = [
        f"p, {subject}, applications, get, {project}/*, allow",
        f"p, {subject}, applications, sync, {project}/*, allow",
        f"p, {subject}, logs, get, {project}/*, allow",
    ]
    role_obj: Obj = {
        "name": role,
        "description": f"{spec.student}: read, sync and read logs of their own apps",
        "policies": policies,
    }
    if spec.github:
        role_obj["groups"] = [spec.github]
    description = f"Tenant {spec.student}"
    if spec.course or spec.term:
        description += f" ({' '.join(x for x in (spec.course, spec.term) if x)})"
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": _meta(
            project, spec, namespace=cfg.argocd_namespace, wave=layout.WAVE_PROJECT, prune_last=True
        ),
        "spec": {
            "description": description,
            "sourceRepos": source_repos(cfg, spec),
            "destinations": [
                {
                    "server": layout.IN_CLUSTER_SERVER,
                    "namespace": layout.namespace_name(spec.student),
                }
            ],
            "clusterResourceWhitelist": [],
            "namespaceResourceBlacklist": [{"group": g, "kind": k} for g, k in GUARD_KINDS],
            "orphanedResources": {"warn": True},
            "roles": [role_obj],
        },
    }


def application(cfg: PlatformConfig, spec: TenantSpec, app: AppSpec) -> Obj:
    """The Application of one app, in the student's project, syncing into their namespace."""
    name = layout.application_name(spec.student, app.name)
    meta = _meta(name, spec, namespace=cfg.argocd_namespace, wave=layout.WAVE_APPS)
    meta["labels"][layout.LABEL_APP] = app.name
    meta["labels"][layout.LABEL_MODE] = app.mode
    # The finalizer makes deleting the Application delete what it deployed.
    meta["finalizers"] = [layout.RESOURCES_FINALIZER]
    if app.mode == "repo":
        source: Obj = {"repoURL": app.repo, "path": app.path, "targetRevision": app.revision}
    else:
        path = layout.workload_dir(spec.student, app.name)
        # Only a commit touching this app's folder refreshes it: one shared repo, many apps.
        meta["annotations"][layout.ANNOTATION_MANIFEST_PATHS] = "."
        source = {"repoURL": cfg.repo_url, "path": path, "targetRevision": cfg.target_revision}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": meta,
        "spec": {
            "project": layout.project_name(spec.student),
            "source": source,
            "destination": {
                "server": layout.IN_CLUSTER_SERVER,
                "namespace": layout.namespace_name(spec.student),
            },
            "syncPolicy": _sync_policy(),
        },
    }


def _sync_policy(*, prune_last: bool = True) -> Obj:
    # Never allowEmpty: with prune on, an empty render would delete the student's whole app.
    # Only a student's Application prunes last as a whole (its workloads go after the rest of
    # a sync); the root and the tenants' Applications keep their sync waves' order, and the
    # Namespace and AppProject of a tenant carry PruneLast themselves, so a sync that prunes
    # them (a renamed tenant, say) does so after everything else.
    policy: Obj = {"automated": {"prune": True, "selfHeal": True, "allowEmpty": False}}
    if prune_last:
        policy["syncOptions"] = ["PruneLast=true"]
    policy["retry"] = {
        "limit": 5,
        "backoff": {"duration": "10s", "factor": 2, "maxDuration": "3m"},
    }
    return policy


# ---------------------------------------------------------------------------------------------
# Platform level


def _platform_meta(name: str, namespace: str | None) -> Obj:
    meta: Obj = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = {layout.LABEL_MANAGED_BY: layout.MANAGED_BY, layout.LABEL_PART_OF: "kuploy"}
    return meta


def root_application(cfg: PlatformConfig) -> Obj:
    """The root: syncs ``apps/cluster/platform`` (projects, add-ons, the tenants' ApplicationSet).

    It owns a handful of objects whatever the number of tenants: each tenant's objects belong
    to that tenant's own Application (see :func:`tenants_application_set`).
    """
    meta = _platform_meta(layout.ROOT_APP_NAME, cfg.argocd_namespace)
    meta["annotations"] = {layout.ANNOTATION_MANIFEST_PATHS: "."}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": meta,
        "spec": {
            "project": layout.ADMIN_PROJECT,
            "source": {
                "repoURL": cfg.repo_url,
                "path": layout.PLATFORM_DIR,
                "targetRevision": cfg.target_revision,
            },
            "destination": {"server": layout.IN_CLUSTER_SERVER, "namespace": cfg.argocd_namespace},
            "syncPolicy": _sync_policy(prune_last=False),
        },
    }


# What a tenant's Application may sync (its AppProject's whitelists): the student's Namespace,
# the guards in it, and the student's AppProject and Applications in Argo CD's namespace.
TENANT_CLUSTER_KINDS: tuple[tuple[str, str], ...] = (("", "Namespace"),)
TENANT_NAMESPACED_KINDS: tuple[tuple[str, str], ...] = (
    *GUARD_KINDS,
    ("argoproj.io", "AppProject"),
    ("argoproj.io", "Application"),
)


def tenants_project(cfg: PlatformConfig) -> Obj:
    """The AppProject of the tenant Applications: only the kinds a tenant folder renders."""
    meta = _platform_meta(layout.TENANTS_PROJECT, cfg.argocd_namespace)
    meta["annotations"] = {layout.ANNOTATION_SYNC_WAVE: layout.WAVE_PLATFORM_PROJECTS}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": meta,
        "spec": {
            "description": "kuploy tenants: each student's namespace, guards, project and apps",
            "sourceRepos": [cfg.repo_url],
            "destinations": [{"server": layout.IN_CLUSTER_SERVER, "namespace": "*"}],
            "clusterResourceWhitelist": [{"group": g, "kind": k} for g, k in TENANT_CLUSTER_KINDS],
            "namespaceResourceWhitelist": [
                {"group": g, "kind": k} for g, k in TENANT_NAMESPACED_KINDS
            ],
            "orphanedResources": {"warn": False},
        },
    }


def tenant_application_template(cfg: PlatformConfig, student: str) -> Obj:
    """The Application that owns one tenant's folder (``student`` may be a template string)."""
    meta: Obj = {
        "name": f"{layout.TENANT_APP_PREFIX}{student}",
        "labels": {
            layout.LABEL_MANAGED_BY: layout.MANAGED_BY,
            layout.LABEL_PART_OF: layout.PART_OF,
            layout.LABEL_OWNER: student,
        },
        # Only a commit touching this tenant's folder refreshes its Application.
        "annotations": {layout.ANNOTATION_MANIFEST_PATHS: "."},
        # Deleting it (offboarding: the folder is gone) deletes the tenant in reverse waves.
        "finalizers": [layout.RESOURCES_FINALIZER],
    }
    return {
        "metadata": meta,
        "spec": {
            "project": layout.TENANTS_PROJECT,
            "source": {
                "repoURL": cfg.repo_url,
                "path": f"{layout.TENANT_MANIFESTS_DIR}/{student}",
                "targetRevision": cfg.target_revision,
            },
            "destination": {"server": layout.IN_CLUSTER_SERVER, "namespace": cfg.argocd_namespace},
            "syncPolicy": _sync_policy(prune_last=False),
        },
    }


def tenant_application(cfg: PlatformConfig, student: str) -> Obj:
    """The Application the ApplicationSet makes for ``student`` (for the API and tests)."""
    app = tenant_application_template(cfg, student)
    app["metadata"]["namespace"] = cfg.argocd_namespace
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", **app}


def tenants_application_set(cfg: PlatformConfig) -> Obj:
    """One Application per folder under ``apps/cluster/tenants``, named after the student.

    The student's name comes from the folder name only (never from a file's contents), and the
    project is fixed: a tenant folder cannot choose where its Application syncs or under which
    rules. Removing a folder deletes that tenant's Application and, through its finalizer,
    everything it owns.
    """
    meta = _platform_meta(layout.TENANTS_APPSET, cfg.argocd_namespace)
    meta["annotations"] = {layout.ANNOTATION_SYNC_WAVE: layout.WAVE_TENANTS_APPSET}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": meta,
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [
                {
                    "git": {
                        "repoURL": cfg.repo_url,
                        "revision": cfg.target_revision,
                        "directories": [{"path": f"{layout.TENANT_MANIFESTS_DIR}/*"}],
                    }
                }
            ],
            "syncPolicy": {"preserveResourcesOnDeletion": False},
            "template": tenant_application_template(cfg, "{{.path.basename}}"),
        },
    }


def admin_project(cfg: PlatformConfig) -> Obj:
    """The admin AppProject: the platform repo and the add-on charts, anywhere in-cluster."""
    meta = _platform_meta(layout.ADMIN_PROJECT, cfg.argocd_namespace)
    meta["annotations"] = {layout.ANNOTATION_SYNC_WAVE: layout.WAVE_PLATFORM_PROJECTS}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": meta,
        "spec": {
            "description": "kuploy platform: the add-ons and the tenants' ApplicationSet",
            "sourceRepos": sorted({cfg.repo_url, *(a.repo_url for a in cfg.addons)}),
            "destinations": [{"server": layout.IN_CLUSTER_SERVER, "namespace": "*"}],
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
            "orphanedResources": {"warn": False},
        },
    }


def addon_application(cfg: PlatformConfig, addon: Addon) -> Obj:
    """An add-on installed from its Helm chart, pinned by version."""
    meta = _platform_meta(f"platform-{addon.name}", cfg.argocd_namespace)
    meta["annotations"] = {layout.ANNOTATION_SYNC_WAVE: layout.WAVE_ADDONS}
    meta["finalizers"] = [layout.RESOURCES_FINALIZER]
    source: Obj = {"repoURL": addon.repo_url, "chart": addon.chart, "targetRevision": addon.version}
    if addon.values:
        source["helm"] = {"releaseName": addon.name, "valuesObject": dict(addon.values)}
    else:
        source["helm"] = {"releaseName": addon.name}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": meta,
        "spec": {
            "project": layout.ADMIN_PROJECT,
            "source": source,
            "destination": {"server": layout.IN_CLUSTER_SERVER, "namespace": addon.namespace},
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True, "allowEmpty": False},
                "syncOptions": ["CreateNamespace=true", "ServerSideApply=true"],
            },
        },
    }
